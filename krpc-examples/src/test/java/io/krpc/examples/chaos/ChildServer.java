package io.krpc.examples.chaos;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The test side of {@link ChildServerMain}: starts it with this JVM's class path, reads its port,
 * and inflicts faults on it: {@link #kill()} (SIGKILL), {@link #pause()} / {@link #resume()}
 * (SIGSTOP / SIGCONT), {@link #stopGracefully()}. Its output goes to a file under {@code
 * target/chaos/}, polled here, so no reader thread is needed.
 */
final class ChildServer implements AutoCloseable {
  private static final Pattern PORT = Pattern.compile("^PORT (\\d+)$", Pattern.MULTILINE);

  private final Process process;
  private final Path log;
  private final int port;

  private ChildServer(Process process, Path log, int port) {
    this.process = process;
    this.log = log;
    this.port = port;
  }

  /** Starts a child JVM server registered in etcd and waits (at most 60 s) until it is. */
  static ChildServer start(String etcdEndpoints, Duration leaseTtl, Duration handlerDelay)
      throws IOException, InterruptedException {
    Path dir = Paths.get(System.getProperty("basedir", "."), "target", "chaos");
    Files.createDirectories(dir);
    Path log = Files.createTempFile(dir, "child-server-", ".log");
    String classPath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> command =
        new ArrayList<>(
            List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx96m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Xss512k",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp",
                classPath,
                ChildServerMain.class.getName(),
                etcdEndpoints,
                Long.toString(leaseTtl.toSeconds()),
                Long.toString(handlerDelay.toMillis())));
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() - deadline < 0) {
      Matcher m = PORT.matcher(Files.readString(log, StandardCharsets.UTF_8));
      if (m.find()) {
        return new ChildServer(process, log, Integer.parseInt(m.group(1)));
      }
      if (!process.isAlive()) {
        break;
      }
      Thread.sleep(50);
    }
    process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    throw new IllegalStateException(
        "child server did not start; its output ("
            + log
            + "):\n"
            + Files.readString(log, StandardCharsets.UTF_8));
  }

  int port() {
    return port;
  }

  String endpoint() {
    return "127.0.0.1:" + port;
  }

  boolean isAlive() {
    return process.isAlive();
  }

  long pid() {
    return process.pid();
  }

  /** kill -9; returns once the process is gone (its sockets closed by the kernel). */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("child " + pid() + " survived SIGKILL for 10 s");
    }
  }

  void pause() throws IOException, InterruptedException {
    signal("STOP");
  }

  void resume() throws IOException, InterruptedException {
    signal("CONT");
  }

  private void signal(String name) throws IOException, InterruptedException {
    Process kill =
        new ProcessBuilder("kill", "-" + name, Long.toString(pid()))
            .redirectErrorStream(true)
            .start();
    if (!kill.waitFor(5, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -" + name + " " + pid() + " failed");
    }
  }

  /** Asks the child to close its KServer and registry, as a deploy would; kill -9 after 15 s. */
  void stopGracefully() throws InterruptedException {
    if (!process.isAlive()) {
      return;
    }
    try {
      OutputStream stdin = process.getOutputStream();
      stdin.write("stop\n".getBytes(StandardCharsets.UTF_8));
      stdin.flush();
      stdin.close();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot ask child " + pid() + " to stop", e);
    }
    if (!process.waitFor(15, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (!process.isAlive()) {
      return;
    }
    try {
      resume(); // a stopped process cannot read "stop"
    } catch (IOException | RuntimeException e) {
      // already gone or not stopped
    }
    stopGracefully();
  }

  @Override
  public String toString() {
    return "ChildServer{pid=" + process.pid() + ", port=" + port + ", log=" + log + "}";
  }
}
