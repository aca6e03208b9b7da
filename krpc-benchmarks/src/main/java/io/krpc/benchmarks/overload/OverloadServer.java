package io.krpc.benchmarks.overload;

import io.krpc.KServer;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import java.io.IOException;
import java.time.Duration;

/**
 * The server side of the {@code overload} benchmark, run in its own JVM so that its CPU (which the
 * limiter watches) is its own and the load generator does not compete with its handlers: a KServer
 * whose handler burns {@code args[0]} nanoseconds of CPU per call, behind an {@link
 * AdaptiveLimitInterceptor} with every default when {@code args[1]} is {@code true}. Prints {@code
 * PORT <port>} on standard output once serving, and stops when its standard input closes.
 */
public final class OverloadServer {
  static final String PORT_LINE = "PORT ";

  private OverloadServer() {}

  /** Serves until standard input closes. */
  public static void main(String[] args) throws IOException {
    if (args.length < 2 || args.length > 3) {
      throw new IllegalArgumentException(
          "usage: OverloadServer <burn nanos> <limiter true|false> [trace]");
    }
    long burnNanos = Long.parseLong(args[0]);
    boolean limiter = Boolean.parseBoolean(args[1]);
    CpuBurningGreeter greeter = new CpuBurningGreeter(burnNanos);
    KServer.Builder builder = KServer.builder()
        .serviceName("overload-bench")
        .host("127.0.0.1")
        .port(0)
        .addService(greeter)
        .shutdownHook(false)
        .deregisterDelay(Duration.ZERO)
        .shutdownGracePeriod(Duration.ofSeconds(2));
    AdaptiveLimitInterceptor bbr = limiter ? AdaptiveLimitInterceptor.create() : null;
    if (bbr != null) {
      builder.intercept(bbr);
    }
    if (bbr != null && args.length == 3) {
      Thread tracer = new Thread(() -> {
        com.sun.management.OperatingSystemMXBean os = (com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        int cores = Runtime.getRuntime().availableProcessors();
        try {
          long wall = System.nanoTime();
          long cpu = os.getProcessCpuTime();
          long burn = greeter.burnedNanos();
          while (true) {
            Thread.sleep(250);
            long wall2 = System.nanoTime();
            long cpu2 = os.getProcessCpuTime();
            long burn2 = greeter.burnedNanos();
            double span = (double) (wall2 - wall) * cores;
            // process CPU and handler CPU as shares of the cores this JVM may use
            System.err.printf(java.util.Locale.ROOT, "%s process %.2f handlers %.2f%n", bbr,
                (cpu2 - cpu) / span, (burn2 - burn) / span);
            wall = wall2;
            cpu = cpu2;
            burn = burn2;
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "limiter-trace");
      tracer.setDaemon(true);
      tracer.start();
    }
    try (KServer server = builder.start()) {
      System.out.println(PORT_LINE + server.port());
      System.out.flush();
      while (System.in.read() >= 0) {
        // the parent holds our standard input open while it needs us
      }
    }
  }
}
