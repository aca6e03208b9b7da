package io.krpc.examples.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.krpc.KClient;
import io.krpc.RetryPolicy;
import io.krpc.examples.chaos.ChaosRig.LocalServer;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * kill -9 of one of three servers, the one running in its own JVM, under 200 calls/s. Without
 * retries a client can lose only the calls that were in flight when the process died; with a retry
 * policy on UNAVAILABLE and UNKNOWN (the method is idempotent) it loses none.
 */
class ServerCrashChaosIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  /** Long enough that a few calls are always in flight on the victim when it dies. */
  private static final Duration HANDLER_DELAY = Duration.ofMillis(20);

  private static final Duration LEASE_TTL = Duration.ofSeconds(2);

  @Test
  void killLosesAtMostTheCallsInFlight() throws Exception {
    Result r = killOneServer("kill -9 of 1 of 3 servers, no retry", b -> b);
    // A call whose request was being written when the connection reset ends UNKNOWN "channel
    // closed" in grpc-java (grpc/grpc-java#10120, open): a transport failure all the same.
    assertThat(r.failuresByCode.keySet())
        .as("failure codes")
        .isSubsetOf(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN);
    assertThat(r.errors)
        .as("failures")
        .allMatch(e -> e.startsWith("UNAVAILABLE") || e.equals("UNKNOWN: channel closed"));
    assertThat(r.failed)
        .as("failed calls vs calls in flight at the kill")
        .isLessThanOrEqualTo(r.inFlightAtKill);
  }

  @Test
  void killWithRetryPolicyLosesNoCall() throws Exception {
    RetryPolicy retry =
        RetryPolicy.builder()
            .maxAttempts(3)
            .initialBackoff(Duration.ofMillis(20))
            .maxBackoff(Duration.ofMillis(200))
            // UNKNOWN too: a call whose request was being written when the connection reset ends
            // UNKNOWN "channel closed" (grpc/grpc-java#10120), and grpc retries only listed codes;
            // retrying on UNAVAILABLE alone lost 3 such calls in one CI run.
            .retryableCodes(Status.Code.UNAVAILABLE, Status.Code.UNKNOWN)
            .build();
    // The default throttling (10 tokens, retries stop at 5) retries only ~5 calls that fail at
    // the same moment; a crash under load fails more at once (measured: 7 lost of 31 in flight).
    Result r =
        killOneServer(
            "kill -9 of 1 of 3 servers, retry on UNAVAILABLE and UNKNOWN",
            b -> b.retry(retry).retryThrottling(100, 0.1));
    assertThat(r.failed).as("failed calls: %s", r.errors).isZero();
  }

  private record Result(
      long failed,
      long inFlightAtKill,
      java.util.Map<Status.Code, Long> failuresByCode,
      List<String> errors) {}

  private Result killOneServer(String scenario, UnaryOperator<KClient.Builder> options)
      throws Exception {
    try (ChaosRig rig = new ChaosRig(etcd.cluster(), LEASE_TTL)) {
      LocalServer a = rig.startServer(0, HANDLER_DELAY);
      LocalServer b = rig.startServer(0, HANDLER_DELAY);
      ChildServer victim = rig.startChild(LEASE_TTL, HANDLER_DELAY);
      KClient client = rig.client(options);
      ChaosRig.awaitAnswersFrom(client, List.of(a.endpoint(), b.endpoint(), victim.endpoint()));
      SteadyLoad load = rig.load(client, 200, ChaosRig.DEADLINE);
      Thread.sleep(1000);

      long killed = System.nanoTime();
      victim.kill();
      long dead = System.nanoTime();
      // Past the lease TTL, so the crashed server has left discovery as well.
      Thread.sleep(LEASE_TTL.toMillis() + 1000);
      load.stop();

      assertThat(load.inFlight()).as("calls still running after their deadline").isZero();
      // Every call that was running at some moment between SIGKILL and the process's end.
      long inFlightAtKill =
          load.calls().stream().filter(c -> c.startNanos() < dead && c.endNanos() > killed).count();
      SteadyLoad.Window all = load.all();
      SteadyLoad.Window fault = load.window(killed - 100_000_000L, dead + 1_000_000_000L);
      ChaosReport.record(
          scenario,
          all,
          fault,
          "in flight at the kill: "
              + inFlightAtKill
              + "; handler 20 ms; answers per server "
              + all.okByServer());
      return new Result(all.failed(), inFlightAtKill, all.failuresByCode(), all.sampleErrors(5));
    }
  }
}
