package io.krpc.examples.interop;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a program of another ecosystem (python, node, npm) for the interoperability tests: bounded
 * in time, output captured, killed if it overstays, and a clear failure when it is missing.
 */
final class ExternalProcess {
  private ExternalProcess() {}

  /** What a finished process printed. */
  record Result(int exitCode, String stdout, String stderr) {
    /** The {@code KEY=VALUE} lines of stdout, in order. */
    Map<String, String> values() {
      Map<String, String> values = new LinkedHashMap<>();
      for (String line : stdout.split("\n")) {
        int eq = line.indexOf('=');
        if (eq > 0) {
          values.put(line.substring(0, eq), line.substring(eq + 1).strip());
        }
      }
      return values;
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
  }

  /**
   * Runs {@code command} in {@code dir} with extra {@code env}; fails the test when it cannot be
   * started, does not finish within {@code timeout}, or exits with a non-zero code.
   */
  static Result run(Path dir, Map<String, String> env, Duration timeout, String... command)
      throws IOException, InterruptedException {
    Result result = runAllowingFailure(dir, env, timeout, command);
    if (result.exitCode() != 0) {
      fail(String.join(" ", command) + " failed: " + result);
    }
    return result;
  }

  /** Like {@link #run}, but returns a non-zero exit code instead of failing. */
  static Result runAllowingFailure(
      Path dir, Map<String, String> env, Duration timeout, String... command)
      throws IOException, InterruptedException {
    Path out = Files.createTempFile("interop-out", ".txt");
    Path err = Files.createTempFile("interop-err", ".txt");
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectOutput(out.toFile())
            .redirectError(err.toFile());
    builder.environment().putAll(env);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command[0] + ": " + e.getMessage(), e);
    }
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        fail(
            String.join(" ", command)
                + " did not finish within "
                + timeout
                + "; output: "
                + read(out)
                + read(err));
      }
      return new Result(process.exitValue(), read(out), read(err));
    } finally {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
    }
  }

  /**
   * Fails with {@code howToInstall} when {@code command} cannot be run successfully: the
   * interoperability tests never skip silently, CI must install what they need.
   */
  static void require(String what, String howToInstall, String... command) {
    String problem;
    try {
      Result result = runAllowingFailure(Path.of("."), Map.of(), Duration.ofSeconds(60), command);
      if (result.exitCode() == 0) {
        return;
      }
      problem = result.toString();
    } catch (IOException | InterruptedException | AssertionError e) {
      problem = e.getMessage();
    }
    fail(
        what
            + " is required by this interoperability test but is not usable ("
            + String.join(" ", command)
            + ": "
            + problem.strip()
            + "). "
            + howToInstall);
  }

  private static String read(Path file) throws IOException {
    return Files.readString(file, StandardCharsets.UTF_8);
  }

  /** Copies the files of a test-resource directory (not recursive) into {@code target}. */
  static void copyResources(Path resourceDir, Path target, List<String> names) throws IOException {
    Files.createDirectories(target);
    List<String> missing = new ArrayList<>();
    for (String name : names) {
      Path source = resourceDir.resolve(name);
      if (!Files.isRegularFile(source)) {
        missing.add(source.toString());
        continue;
      }
      Files.copy(source, target.resolve(name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    if (!missing.isEmpty()) {
      fail("missing test resources: " + missing);
    }
  }
}
