package io.krpc.benchmarks.lb;

import io.krpc.benchmarks.internal.ChildJvm;
import io.krpc.benchmarks.lb.DelayedGreeter.Behaviour;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The {@code lb} benchmark's servers in a child JVM ({@link LbServer}), optionally pinned to some
 * CPUs with {@code taskset}, driven over its standard input. {@link #close()} closes that input and
 * waits for the JVM to stop (then kills it).
 *
 * <p>Thread-safe: commands are sent one at a time.
 */
final class ServerCluster implements AutoCloseable {
  private final Process process;
  private final PrintStream commands;
  private final BufferedReader answers;
  private final int[] ports;

  private ServerCluster(Process process, BufferedReader answers, int[] ports) {
    this.process = process;
    this.commands = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
    this.answers = answers;
    this.ports = ports;
  }

  /** Starts {@code n} servers on {@code cpus} (a taskset CPU list), or unpinned when null. */
  static ServerCluster start(int n, String cpus, List<String> jvmOptions)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    if (cpus != null) {
      command.addAll(List.of("taskset", "-c", cpus));
    }
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xms256m", "-Xmx256m"));
    command.addAll(jvmOptions);
    command.addAll(
        List.of(
            "-cp",
            ChildJvm.classPath(LbServer.class),
            LbServer.class.getName(),
            Integer.toString(n)));
    Process process =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<int[]> ports =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                for (String line; (line = out.readLine()) != null; ) {
                  if (line.startsWith(LbServer.PORTS_LINE)) {
                    return Arrays.stream(
                            line.substring(LbServer.PORTS_LINE.length()).trim().split(" "))
                        .mapToInt(Integer::parseInt)
                        .toArray();
                  }
                }
                throw new IllegalStateException(
                    "the server JVM exited before serving: " + String.join(" ", command));
              } catch (IOException e) {
                throw new IllegalStateException(e);
              }
            });
    try {
      return new ServerCluster(process, out, ports.get(60, TimeUnit.SECONDS));
    } catch (ExecutionException | TimeoutException e) {
      process.destroyForcibly();
      throw new IllegalStateException(
          "the server JVM did not start: " + String.join(" ", command), e);
    }
  }

  int[] ports() {
    return ports.clone();
  }

  int size() {
    return ports.length;
  }

  void set(int server, Behaviour b) {
    String answer =
        ask(
            String.format(
                Locale.ROOT,
                "set %d %d %s %d %s",
                server,
                b.baseMicros(),
                Double.toString(b.tailRatio()),
                b.tailMicros(),
                Double.toString(b.failureRatio())));
    if (!answer.equals("OK")) {
      throw new IllegalStateException("server JVM: " + answer);
    }
  }

  void setAll(Behaviour b) {
    for (int i = 0; i < ports.length; i++) {
      set(i, b);
    }
  }

  /** Calls each server received so far. */
  long[] counts() {
    return Arrays.stream(fields("COUNTS")).mapToLong(Long::parseLong).toArray();
  }

  /** p50, p99 and max, in microseconds, of the delays served since the last call. */
  double[] servedDelays() {
    return Arrays.stream(fields("DELAYS")).mapToDouble(Double::parseDouble).toArray();
  }

  private String[] fields(String command) {
    String answer = ask(command.toLowerCase(Locale.ROOT));
    if (!answer.startsWith(command + " ")) {
      throw new IllegalStateException("server JVM: " + answer);
    }
    return answer.substring(command.length() + 1).split(" ");
  }

  private synchronized String ask(String command) {
    commands.println(command);
    try {
      String answer = answers.readLine();
      if (answer == null) {
        throw new IllegalStateException("the server JVM exited");
      }
      return answer;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws InterruptedException {
    commands.close();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
