package io.krpc.benchmarks.discovery;

import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.krpc.registry.InMemoryRegistry;
import io.krpc.registry.ServiceInstance;
import io.krpc.resolver.KrpcNameResolverProvider;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The cost of a registry change for a service with many instances: from {@code register} (or {@code
 * deregister}) of one instance to the resolver ({@link KrpcNameResolverProvider#newResolver})
 * handing the channel the full new address list. Covers the registry's snapshot, its notifier
 * thread, the conversion to address groups and the hop through the synchronization context.
 */
final class ResolverUpdateCost {
  private static final String SERVICE = "many";

  private ResolverUpdateCost() {}

  /** {@code rounds} updates of a service with {@code instances} instances; nanos per update. */
  static long[] measure(int instances, int rounds) throws InterruptedException {
    try (InMemoryRegistry registry = new InMemoryRegistry()) {
      for (int i = 0; i < instances; i++) {
        registry.register(instance(i));
      }
      BlockingQueue<Integer> delivered = new LinkedBlockingQueue<>();
      NameResolver resolver = KrpcNameResolverProvider.newResolver(registry, SERVICE, args());
      resolver.start(
          new NameResolver.Listener2() {
            @Override
            public Status onResult2(NameResolver.ResolutionResult result) {
              delivered.add(
                  result.getAddressesOrError().hasValue()
                      ? result.getAddressesOrError().getValue().size()
                      : 0);
              return Status.OK;
            }

            @Override
            public void onResult(NameResolver.ResolutionResult result) {
              onResult2(result);
            }

            @Override
            public void onError(Status error) {
              delivered.add(0);
            }
          });
      awaitSize(delivered, instances);
      long[] nanos = new long[rounds];
      ServiceInstance extra = instance(instances);
      try {
        for (int r = 0; r < rounds; r++) {
          boolean add = r % 2 == 0;
          long start = System.nanoTime();
          if (add) {
            registry.register(extra);
          } else {
            registry.deregister(extra);
          }
          awaitSize(delivered, add ? instances + 1 : instances);
          nanos[r] = System.nanoTime() - start;
        }
      } finally {
        resolver.shutdown();
      }
      return nanos;
    }
  }

  private static void awaitSize(BlockingQueue<Integer> delivered, int expected)
      throws InterruptedException {
    while (true) {
      Integer size = delivered.poll(30, TimeUnit.SECONDS);
      if (size == null) {
        throw new IllegalStateException(
            "no resolver result with " + expected + " addresses within 30 s");
      }
      if (size == expected) {
        return;
      }
    }
  }

  private static ServiceInstance instance(int i) {
    // Distinct loopback IP literals, so that no lookup blocks; never connected to.
    return ServiceInstance.of(SERVICE, "127.0." + i / 250 + "." + (i % 250 + 1), 10_000);
  }

  private static NameResolver.Args args() {
    return NameResolver.Args.newBuilder()
        .setDefaultPort(443)
        .setProxyDetector(address -> null)
        .setSynchronizationContext(new SynchronizationContext((t, e) -> e.printStackTrace()))
        .setServiceConfigParser(
            new NameResolver.ServiceConfigParser() {
              @Override
              public NameResolver.ConfigOrError parseServiceConfig(
                  java.util.Map<String, ?> config) {
                return NameResolver.ConfigOrError.fromConfig(config);
              }
            })
        .build();
  }
}
