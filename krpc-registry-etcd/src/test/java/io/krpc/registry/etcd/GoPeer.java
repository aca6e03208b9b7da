package io.krpc.registry.etcd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of the Go peer program ({@code src/test/go}, built by its {@code build.sh}, which {@code
 * .ci/run} calls; built here on first use when missing): registers, watches or calls the way the Go
 * registries do. Its stdout lines are queued for {@link #awaitLine}.
 */
final class GoPeer implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(GoPeer.class);
  private static final Path BINARY = Path.of("target", "gofleet", "gofleet");

  private final Process process;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
  private final List<String> seen = new ArrayList<>();

  private GoPeer(List<String> command) throws IOException {
    process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader out =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                  logger.info("go {}: {}", command.get(1), line);
                  lines.add(line);
                }
              } catch (IOException e) {
                logger.debug("go peer output closed", e);
              }
            },
            "gofleet-out");
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts {@code gofleet <args>}. */
  static GoPeer start(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(binary().toString());
    command.addAll(List.of(args));
    return new GoPeer(command);
  }

  /** {@code gofleet register ...}, returned once the record is written. */
  static GoPeer register(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("register"));
    command.addAll(List.of(args));
    GoPeer peer = start(command.toArray(String[]::new));
    peer.awaitLine("READY", Duration.ofSeconds(20));
    return peer;
  }

  /** Waits for a line starting with {@code prefix} and returns it. */
  String awaitLine(String prefix, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (line == null) {
        throw new AssertionError(
            "gofleet printed no line starting with '"
                + prefix
                + "' within "
                + timeout
                + "; it printed "
                + seen
                + (process.isAlive() ? "" : " and exited " + process.exitValue()));
      }
      seen.add(line);
      if (line.startsWith(prefix)) {
        return line;
      }
    }
  }

  /** Closes stdin (a registering peer deregisters) and waits for the exit code. */
  int finish(Duration timeout) throws IOException, InterruptedException {
    process.getOutputStream().close();
    assertThat(process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS))
        .as("gofleet exits within %s", timeout)
        .isTrue();
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    try {
      process.getOutputStream().close(); // a registering peer deregisters and exits
    } catch (IOException e) {
      logger.debug("closing the go peer's stdin", e);
    }
    // go-zero's signal handler delays exit by seconds after SIGTERM: prefer the clean way
    if (process.isAlive() && !process.waitFor(2, TimeUnit.SECONDS)) {
      process.destroy();
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
  }

  private static synchronized Path binary() throws IOException, InterruptedException {
    if (!Files.isExecutable(BINARY)) {
      logger.info("Building the Go peers (src/test/go/build.sh)");
      Process build = new ProcessBuilder("bash", "src/test/go/build.sh").inheritIO().start();
      if (!build.waitFor(10, TimeUnit.MINUTES) || build.exitValue() != 0) {
        throw new AssertionError(
            "src/test/go/build.sh failed: Go 1.24+ must be installed "
                + "(.ci/run builds the Go peers before the tests)");
      }
    }
    return BINARY.toAbsolutePath();
  }
}
