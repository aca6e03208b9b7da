package io.krpc.benchmarks.overload;

import io.krpc.benchmarks.internal.ChildJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * An {@link OverloadServer} in a child JVM, optionally pinned to some CPUs with {@code taskset};
 * {@link #close()} closes its standard input and waits for it to stop (then kills it).
 */
final class ServerProcess implements AutoCloseable {
  private final Process process;
  private final int port;

  private ServerProcess(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  /**
   * Starts the server with this burn per call, with or without the limiter, on {@code cpus} (a
   * taskset CPU list such as {@code "1"}) or unpinned when {@code cpus} is null; {@code
   * minCapacity} is the limiter's, or 0 for its default.
   */
  static ServerProcess start(long burnNanos, boolean limiter, String cpus, int minCapacity)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    if (cpus != null) {
      command.addAll(List.of("taskset", "-c", cpus));
    }
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    if (minCapacity > 0) {
      command.add("-D" + OverloadServer.MIN_CAPACITY_PROPERTY + "=" + minCapacity);
    }
    command.addAll(
        List.of(
            "-Xms256m",
            "-Xmx256m",
            "-cp",
            classPath(),
            OverloadServer.class.getName(),
            Long.toString(burnNanos),
            Boolean.toString(limiter)));
    if (Boolean.getBoolean("krpc.overload.trace")) {
      command.add("trace");
    }
    Process process =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Integer> port =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                for (String line; (line = out.readLine()) != null; ) {
                  if (line.startsWith(OverloadServer.PORT_LINE)) {
                    return Integer.parseInt(
                        line.substring(OverloadServer.PORT_LINE.length()).trim());
                  }
                }
                throw new IllegalStateException(
                    "the server JVM exited before serving: " + String.join(" ", command));
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            });
    try {
      return new ServerProcess(process, port.get(60, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      process.destroyForcibly();
      throw new IllegalStateException(
          "the server JVM did not start: " + String.join(" ", command), e);
    }
  }

  int port() {
    return port;
  }

  @Override
  public void close() throws InterruptedException {
    try {
      process.getOutputStream().close();
    } catch (IOException e) {
      // already gone
    }
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static String classPath() {
    return ChildJvm.classPath(OverloadServer.class);
  }
}
