package io.krpc.registry.etcd.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.api.Event;
import io.etcd.jetcd.api.KeyValue;
import io.etcd.jetcd.api.ResponseHeader;
import io.etcd.jetcd.api.WatchRequest;
import io.etcd.jetcd.api.WatchResponse;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shared watch stream's protocol on fake time and a scripted stream. */
class WatchMuxTest {
  private final FakeScheduler time = new FakeScheduler();
  private final ScriptedTransport transport = new ScriptedTransport();
  private final WatchMux mux = new WatchMux(transport, time, Duration.ofSeconds(5));

  @Test
  void manyWatchesShareOneStreamAndCancellingOneLeavesTheOthers() {
    Events a = new Events();
    Events b = new Events();
    EtcdGateway.Watch watchA = mux.watch("/p/a/", 10, a);
    mux.watch("/p/b/", 20, b);
    assertThat(transport.opened).isEqualTo(1);
    // creates go one at a time: the second waits for the first's answer
    assertThat(transport.creates()).containsExactly("/p/a/@10");
    transport.answer(created(7));
    assertThat(transport.creates()).containsExactly("/p/a/@10", "/p/b/@20");
    transport.answer(created(8));
    transport.answer(event(7, "/p/a/x", 11));
    transport.answer(event(8, "/p/b/y", 21));
    assertThat(a.keys).containsExactly("/p/a/x");
    assertThat(b.keys).containsExactly("/p/b/y");

    watchA.cancel();
    assertThat(transport.last().getCancelRequest().getWatchId()).isEqualTo(7);
    transport.answer(event(8, "/p/b/z", 22));
    assertThat(b.keys).containsExactly("/p/b/y", "/p/b/z");
    assertThat(transport.opened).isEqualTo(1);
    assertThat(mux.streamsOpened()).isEqualTo(1);
  }

  @Test
  void aBrokenStreamResumesEveryWatchAfterItsLastRevision() {
    Events a = new Events();
    mux.watch("/p/a/", 10, a);
    transport.answer(created(1));
    transport.answer(event(1, "/p/a/x", 15));
    transport.fail(Status.UNAVAILABLE.withDescription("member restarted").asRuntimeException());
    assertThat(a.interrupted).isEqualTo(1);
    assertThat(transport.opened).isEqualTo(1);
    time.advance(Duration.ofMillis(150));
    assertThat(transport.opened).isEqualTo(2);
    assertThat(transport.failovers).isEqualTo(1);
    assertThat(transport.creates()).containsExactly("/p/a/@10", "/p/a/@16");
    transport.answer(created(1));
    assertThat(a.resumed).isEqualTo(1);
  }

  @Test
  void aSilentStreamIsDeclaredDeadAndWatchesMoveToANewOne() {
    Events a = new Events();
    mux.watch("/p/a/", 10, a);
    transport.answer(created(1));
    // 30 s of a live stream: every progress request (5 s +-20 %) is answered
    int answered = 0;
    for (int i = 0; i < 300; i++) {
      time.advance(Duration.ofMillis(100));
      if (transport.progressRequests() > answered) {
        answered = transport.progressRequests();
        transport.answer(progress());
      }
    }
    assertThat(answered).isBetween(5, 7);
    assertThat(transport.opened).isEqualTo(1);
    assertThat(a.interrupted).isZero();
    // now etcd says nothing at all: dead within two intervals (12 s at most)
    long silentSince = time.nanoTime();
    while (a.interrupted == 0 && time.nanoTime() - silentSince < Duration.ofSeconds(13).toNanos()) {
      time.advance(Duration.ofMillis(100));
    }
    assertThat(a.interrupted).isEqualTo(1);
    assertThat(time.nanoTime() - silentSince).isLessThanOrEqualTo(Duration.ofSeconds(12).toNanos());
    time.advance(Duration.ofSeconds(3));
    assertThat(transport.opened).isEqualTo(2);
    assertThat(transport.creates()).containsExactly("/p/a/@10", "/p/a/@10");
  }

  @Test
  void compactedAndRefusedWatchesEndAndTellTheirListener() {
    Events a = new Events();
    Events b = new Events();
    mux.watch("/p/a/", 3, a);
    mux.watch("/p/b/", 3, b);
    transport.answer(
        WatchResponse.newBuilder()
            .setCreated(true)
            .setCanceled(true)
            .setCompactRevision(9)
            .setWatchId(-1)
            .build());
    WatchResponse denied =
        WatchResponse.newBuilder()
            .setCreated(true)
            .setCanceled(true)
            .setCancelReason("etcdserver: permission denied")
            .setWatchId(-1)
            .build();
    transport.answer(denied); // first: maybe a stale token, so a new stream with a fresh one
    time.runDue();
    transport.answer(denied); // refused again: that is what it is
    assertThat(a.compacted).isEqualTo(9);
    assertThat(b.failure).hasMessageContaining("permission denied");
  }

  @Test
  void aRejectedTokenIsFetchedAgainAndTheStreamReopensAtOnce() {
    mux.watch("/p/a/", 3, new Events());
    transport.answer(created(1));
    transport.fail(
        Status.UNAUTHENTICATED
            .withDescription("etcdserver: invalid auth token")
            .asRuntimeException());
    time.runDue();
    assertThat(transport.tokenRejections).isEqualTo(1);
    assertThat(transport.opened).isEqualTo(2);
  }

  @Test
  void aWatchRefusedAfterAnEtcdRestartGetsAFreshTokenOnceBeforeItFails() {
    Events a = new Events();
    mux.watch("/p/a/", 3, a);
    WatchResponse denied =
        WatchResponse.newBuilder()
            .setCreated(true)
            .setCanceled(true)
            .setCancelReason("etcdserver: permission denied")
            .setWatchId(-1)
            .build();
    transport.answer(denied);
    time.runDue();
    assertThat(a.failure).isNull();
    assertThat(transport.tokenRejections).isEqualTo(1);
    assertThat(transport.opened).isEqualTo(2);
    transport.answer(denied);
    assertThat(a.failure).hasMessageContaining("permission denied");
  }

  @Test
  void theStreamClosesWhenItsLastWatchIsCancelled() {
    EtcdGateway.Watch watch = mux.watch("/p/a/", 3, new Events());
    transport.answer(created(1));
    watch.cancel();
    assertThat(transport.closed).isEqualTo(1);
    time.advance(Duration.ofMinutes(1));
    assertThat(transport.opened).isEqualTo(1);
  }

  private static WatchResponse created(long id) {
    return WatchResponse.newBuilder().setCreated(true).setWatchId(id).build();
  }

  private static WatchResponse progress() {
    return WatchResponse.newBuilder()
        .setWatchId(-1)
        .setHeader(ResponseHeader.newBuilder().setRevision(100))
        .build();
  }

  private static WatchResponse event(long id, String key, long revision) {
    return WatchResponse.newBuilder()
        .setWatchId(id)
        .setHeader(ResponseHeader.newBuilder().setRevision(revision))
        .addEvents(
            Event.newBuilder()
                .setType(Event.EventType.PUT)
                .setKv(
                    KeyValue.newBuilder()
                        .setKey(ByteString.copyFromUtf8(key))
                        .setValue(ByteString.copyFromUtf8("v"))
                        .setModRevision(revision)))
        .build();
  }

  /** A transport whose streams the test answers by hand; everything runs on fake time. */
  private final class ScriptedTransport implements WatchTransport {
    final List<WatchRequest> sent = new ArrayList<>();
    StreamListener listener;
    int opened;
    int closed;
    int failovers;
    int tokenRejections;

    @Override
    public Stream open(StreamListener l) {
      opened++;
      listener = l;
      return new Stream() {
        @Override
        public void send(WatchRequest request) {
          sent.add(request);
        }

        @Override
        public void close() {
          closed++;
        }
      };
    }

    @Override
    public void failed(boolean tokenRejected) {
      failovers++;
      if (tokenRejected) {
        tokenRejections++;
      }
    }

    @Override
    public void reconnect() {}

    void answer(WatchResponse response) {
      listener.onResponse(response);
      time.runDue();
    }

    void fail(Throwable error) {
      listener.onClosed(error);
      time.runDue();
    }

    WatchRequest last() {
      return sent.get(sent.size() - 1);
    }

    List<String> creates() {
      List<String> result = new ArrayList<>();
      for (WatchRequest r : sent) {
        if (r.hasCreateRequest()) {
          result.add(
              r.getCreateRequest().getKey().toStringUtf8()
                  + "@"
                  + r.getCreateRequest().getStartRevision());
        }
      }
      return result;
    }

    int progressRequests() {
      return (int) sent.stream().filter(WatchRequest::hasProgressRequest).count();
    }
  }

  private static final class Events implements EtcdGateway.WatchListener {
    final List<String> keys = new ArrayList<>();
    int interrupted;
    int resumed;
    long compacted;
    Throwable failure;

    @Override
    public void onChanges(List<EtcdGateway.Change> changes, long revision) {
      changes.forEach(c -> keys.add(c.key()));
    }

    @Override
    public void onCompacted(long compactRevision) {
      compacted = compactRevision;
    }

    @Override
    public void onInterrupted(Throwable cause) {
      interrupted++;
    }

    @Override
    public void onResumed() {
      resumed++;
    }

    @Override
    public void onFailed(Throwable cause) {
      failure = cause;
    }
  }
}
