package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.etcd.jetcd.Client;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Sharing, replacing and probing one connection, on a hand-driven clock. */
class EtcdConnectionTest {
  private final List<List<String>> built = new ArrayList<>();
  private final AtomicInteger closedClients = new AtomicInteger();
  private long now = 1_000_000_000L;

  private Client fakeClient(List<String> order) {
    built.add(order);
    return (Client)
        Proxy.newProxyInstance(
            Client.class.getClassLoader(),
            new Class<?>[] {Client.class},
            (proxy, method, args) -> {
              if (method.getName().equals("close")) {
                closedClients.incrementAndGet();
              }
              return null;
            });
  }

  private EtcdConnection connection() {
    return new EtcdConnection(
        null, List.of("http://a:1", "http://b:2", "http://c:3"), this::fakeClient, () -> now);
  }

  @Test
  void registriesWithTheSameKeyShareOneConnectionUntilTheLastReleasesIt() {
    Object key = new Object();
    EtcdConnection first = EtcdConnection.shared(key, List.of("http://a:1"), this::fakeClient);
    EtcdConnection second = EtcdConnection.shared(key, List.of("http://a:1"), this::fakeClient);
    EtcdConnection other =
        EtcdConnection.shared(new Object(), List.of("http://a:1"), this::fakeClient);
    assertThat(second).isSameAs(first);
    assertThat(other).isNotSameAs(first);
    assertThat(first.references()).isEqualTo(2);
    assertThat(built).hasSize(2);

    first.release();
    assertThat(closedClients).hasValue(0);
    second.release();
    assertThat(closedClients).hasValue(1);
    // released for good: the same key now opens a new connection
    EtcdConnection third = EtcdConnection.shared(key, List.of("http://a:1"), this::fakeClient);
    assertThat(third).isNotSameAs(first);
    assertThat(built).hasSize(3);
    third.release();
    other.release();
  }

  @Test
  void aReconnectReplacesOnlyTheGenerationItsCallerSawFailAndRotatesTheMembers() {
    EtcdConnection connection = connection();
    List<String> firstOrder = built.get(0);
    assertThat(firstOrder).containsExactlyInAnyOrder("http://a:1", "http://b:2", "http://c:3");

    connection.reconnect(0);
    assertThat(connection.generation()).isEqualTo(1);
    assertThat(closedClients).hasValue(1);
    // the next member first: one that accepts connections but does not answer is left behind
    assertThat(built.get(1))
        .containsExactly(firstOrder.get(1), firstOrder.get(2), firstOrder.get(0));

    // a hundred sharers that saw generation 0 fail: nothing more
    for (int i = 0; i < 100; i++) {
      connection.reconnect(0);
    }
    assertThat(built).hasSize(2);

    // generation 1 fails at once: replaced no sooner than 200 ms after the last replacement
    now += TimeUnit.MILLISECONDS.toNanos(199);
    connection.reconnect(1);
    assertThat(connection.generation()).isEqualTo(1);
    now += TimeUnit.MILLISECONDS.toNanos(1);
    connection.reconnect(1);
    assertThat(connection.generation()).isEqualTo(2);
    connection.release();
    assertThat(closedClients).hasValue(3);
  }

  @Test
  void aProbeAnswersEveryoneWithinItsAgeAndAFailedOneIsNeverReused() {
    EtcdConnection connection = connection();
    AtomicInteger sent = new AtomicInteger();
    List<CompletableFuture<EtcdGateway.Header>> answers = new ArrayList<>();
    long maxAge = TimeUnit.MILLISECONDS.toNanos(100);
    java.util.function.Function<Client, CompletableFuture<EtcdGateway.Header>> send =
        client -> {
          sent.incrementAndGet();
          CompletableFuture<EtcdGateway.Header> answer = new CompletableFuture<>();
          answers.add(answer);
          return answer;
        };

    CompletableFuture<EtcdGateway.Header> a = connection.probe(maxAge, send);
    CompletableFuture<EtcdGateway.Header> b = connection.probe(maxAge, send); // in flight: joined
    assertThat(sent).hasValue(1);
    answers.get(0).complete(new EtcdGateway.Header(2, 10));
    assertThat(a.join()).isEqualTo(new EtcdGateway.Header(2, 10));
    assertThat(b.join()).isEqualTo(new EtcdGateway.Header(2, 10));

    now += TimeUnit.MILLISECONDS.toNanos(99);
    assertThat(connection.probe(maxAge, send).join()).isEqualTo(new EtcdGateway.Header(2, 10));
    assertThat(sent).hasValue(1);
    now += TimeUnit.MILLISECONDS.toNanos(1);
    CompletableFuture<EtcdGateway.Header> c = connection.probe(maxAge, send);
    assertThat(sent).hasValue(2);

    answers.get(1).completeExceptionally(new IllegalStateException("etcd is away"));
    assertThat(c).isCompletedExceptionally();
    var unused = connection.probe(maxAge, send); // the failure is not handed to the next caller
    assertThat(sent).hasValue(3);

    // a fresh client never answers with the old client's probe
    answers.get(2).complete(new EtcdGateway.Header(2, 11));
    connection.reconnect(connection.generation());
    unused = connection.probe(maxAge, send);
    assertThat(sent).hasValue(4);
    connection.release();
  }
}
