package io.krpc.spring.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.StatusRuntimeException;
import io.krpc.examples.greeter.GreeterGrpc;
import io.krpc.examples.greeter.HelloRequest;
import io.krpc.testing.EtcdClusterExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A rolling restart of two Boot server apps under client load loses no call: each server drains
 * (NOT_SERVING, deregistered, deregister-delay) before Spring stops it.
 */
class RollingRestartIT {
  @RegisterExtension
  static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().build();

  private static final int LOAD_THREADS = 4;

  @Test
  void rollingRestartUnderLoadLosesNoCall() throws Exception {
    String endpoints = etcd.endpointsString();
    List<ConfigurableApplicationContext> started = new ArrayList<>();
    ExecutorService load = Executors.newFixedThreadPool(LOAD_THREADS);
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong ok = new AtomicLong();
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    Map<String, AtomicLong> perServer = new ConcurrentHashMap<>();
    try {
      ConfigurableApplicationContext a = start(started, endpoints);
      ConfigurableApplicationContext b = start(started, endpoints);
      ConfigurableApplicationContext client =
          Apps.client(
              endpoints,
              "spring.main.web-application-type=none",
              "spring.grpc.client.channel.greeter.default.load-balancing-policy=krpc_p2c");
      started.add(client);
      GreeterGrpc.GreeterBlockingStub stub = client.getBean(GreeterGrpc.GreeterBlockingStub.class);

      List<Future<?>> workers = new ArrayList<>();
      for (int i = 0; i < LOAD_THREADS; i++) {
        workers.add(
            load.submit(
                () -> {
                  while (running.get()) {
                    try {
                      String server =
                          stub.withDeadlineAfter(3, TimeUnit.SECONDS)
                              .sayHello(HelloRequest.newBuilder().setName("roll").build())
                              .getServer();
                      perServer.computeIfAbsent(server, k -> new AtomicLong()).incrementAndGet();
                      ok.incrementAndGet();
                    } catch (StatusRuntimeException e) {
                      failures.add(e.getStatus().toString());
                    }
                  }
                }));
      }
      awaitCallsTo(perServer, endpoint(a), endpoint(b));

      ConfigurableApplicationContext a2 = restart(started, a, endpoints);
      awaitCallsTo(perServer, endpoint(a2));
      ConfigurableApplicationContext b2 = restart(started, b, endpoints);
      awaitCallsTo(perServer, endpoint(b2));

      running.set(false);
      for (Future<?> worker : workers) {
        worker.get(10, TimeUnit.SECONDS);
      }
      assertThat(failures).as("failed calls").isEmpty();
      assertThat(ok.get()).isGreaterThan(200);
    } finally {
      running.set(false);
      load.shutdownNow();
      for (ConfigurableApplicationContext context : started) {
        if (context.isActive()) {
          Apps.close(context);
        }
      }
    }
  }

  private static ConfigurableApplicationContext start(
      List<ConfigurableApplicationContext> started, String endpoints) {
    ConfigurableApplicationContext server =
        Apps.server(
            endpoints, "spring.main.web-application-type=none", "krpc.server.deregister-delay=1s");
    started.add(server);
    return server;
  }

  private static ConfigurableApplicationContext restart(
      List<ConfigurableApplicationContext> started,
      ConfigurableApplicationContext old,
      String endpoints) {
    Apps.close(old);
    return start(started, endpoints);
  }

  private static String endpoint(ConfigurableApplicationContext server) {
    return "127.0.0.1:" + Apps.grpcPort(server);
  }

  private static void awaitCallsTo(Map<String, AtomicLong> perServer, String... endpoints) {
    await()
        .atMost(Duration.ofSeconds(15))
        .until(
            () -> {
              for (String endpoint : endpoints) {
                AtomicLong calls = perServer.get(endpoint);
                if (calls == null || calls.get() < 20) {
                  return false;
                }
              }
              return true;
            });
  }
}
