package io.krpc.benchmarks.overload;

import com.sun.management.OperatingSystemMXBean;
import io.krpc.KServer;
import io.krpc.interceptor.server.AdaptiveLimitInterceptor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Locale;

/**
 * The server side of the {@code overload} benchmark, run in its own JVM so that its CPU (which the
 * limiter watches) is its own and the load generator does not compete with its handlers: a KServer
 * whose handler burns {@code args[0]} nanoseconds of CPU per call, behind an {@link
 * AdaptiveLimitInterceptor} with every default (but {@code minCapacity} when the system property
 * {@value #MIN_CAPACITY_PROPERTY} is set) when {@code args[1]} is {@code true}. Prints {@code PORT
 * <port>} on standard output once serving, and stops when its standard input closes.
 */
public final class OverloadServer {
  static final String PORT_LINE = "PORT ";

  /** The limiter's minCapacity when set; its default otherwise. */
  static final String MIN_CAPACITY_PROPERTY = "krpc.overload.minCapacity";

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
    KServer.Builder builder =
        KServer.builder()
            .serviceName("overload-bench")
            .host("127.0.0.1")
            .port(0)
            .addService(greeter)
            .shutdownHook(false)
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ofSeconds(2));
    int minCapacity = Integer.getInteger(MIN_CAPACITY_PROPERTY, 0);
    AdaptiveLimitInterceptor bbr =
        !limiter
            ? null
            : minCapacity > 0
                ? AdaptiveLimitInterceptor.builder().minCapacity(minCapacity).build()
                : AdaptiveLimitInterceptor.create();
    if (bbr != null) {
      builder.intercept(bbr);
    }
    if (bbr != null && args.length == 3) {
      startTrace(bbr, greeter);
    }
    try (KServer server = builder.start()) {
      System.out.println(PORT_LINE + server.port());
      System.out.flush();
      while (System.in.read() >= 0) {
        // the parent holds our standard input open while it needs us
      }
    }
  }

  /**
   * Prints, four times a second on standard error, the limiter's state and this process's CPU and
   * its handlers' CPU, both as shares of the cores this JVM may use.
   */
  private static void startTrace(AdaptiveLimitInterceptor bbr, CpuBurningGreeter greeter) {
    OperatingSystemMXBean os = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    int cores = Runtime.getRuntime().availableProcessors();
    Thread tracer =
        new Thread(
            () -> {
              long wall = System.nanoTime();
              long cpu = os.getProcessCpuTime();
              long burned = greeter.burnedNanos();
              try {
                while (true) {
                  Thread.sleep(250);
                  long nowWall = System.nanoTime();
                  long nowCpu = os.getProcessCpuTime();
                  long nowBurned = greeter.burnedNanos();
                  double span = (double) (nowWall - wall) * cores;
                  System.err.printf(
                      Locale.ROOT,
                      "%s process %.2f handlers %.2f%n",
                      bbr,
                      (nowCpu - cpu) / span,
                      (nowBurned - burned) / span);
                  wall = nowWall;
                  cpu = nowCpu;
                  burned = nowBurned;
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "limiter-trace");
    tracer.setDaemon(true);
    tracer.start();
  }
}
