package io.krpc.examples.tour;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.testing.EtcdClusterExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Runs the tour as a newcomer does, in a JVM of its own (so that its logging setup applies), with
 * the in-memory registry and against a real etcd, and checks that every step showed what it
 * promises, with the lines a reader looks for.
 */
class TourIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private static String runTour(String... args) throws IOException, InterruptedException {
    Path dir = Paths.get(System.getProperty("basedir", "."), "target", "tour");
    Files.createDirectories(dir);
    Path log = Files.createTempFile(dir, "tour-", ".log");
    List<String> command =
        new ArrayList<>(
            List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty(
                    "surefire.test.class.path", System.getProperty("java.class.path")),
                Tour.class.getName()));
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      boolean finished = process.waitFor(90, TimeUnit.SECONDS);
      String output = Files.readString(log, StandardCharsets.UTF_8);
      assertThat(finished).as("tour finished within 90 s; output so far:%n%s", output).isTrue();
      assertThat(process.exitValue()).as("exit code; output:%n%s", output).isZero();
      return output;
    } finally {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private static void assertEveryStepShown(String output) {
    assertThat(output)
        .contains("10 of 10 steps showed what they promise")
        .doesNotContain("NOT SHOWN")
        .contains("weight  70 ->")
        .contains("<- slowed")
        .contains("RESOURCE_EXHAUSTED")
        .contains("circuit breaker 'tour-breaker' is OPEN")
        .contains("state CLOSED")
        .contains("the client got INTERNAL")
        .doesNotContain("tour: a bug in the handler (this text")
        .contains("WARN slow call: method=greeter.Greeter/SayHello")
        .contains("DEADLINE_EXCEEDED after")
        .contains("prpc_server_req_client_handle_total{code=\"OK\"")
        .contains("prpc_client_req_client_handle_total{code=\"OK\"")
        .contains("setServing(false)")
        .containsPattern("=> shown: \\d+ calls succeeded, 0 failed");
    assertThat(output.lines().filter(l -> l.contains("=> shown:")).count()).isEqualTo(10);
  }

  @Test
  void tourWithTheInMemoryRegistry() throws Exception {
    String output = runTour();
    assertThat(output).contains("registry: in-memory");
    assertEveryStepShown(output);
  }

  @Test
  void tourAgainstARealEtcd() throws Exception {
    String output = runTour("--etcd=" + etcd.endpointsString());
    assertThat(output).contains("registry: etcd http://127.0.0.1:");
    assertEveryStepShown(output);
  }
}
