package io.krpc.interceptor.server;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Context;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * Stands in for a handler that starts later: holds the call's listener events until {@link
 * #start()} runs the handler, then replays them in order and passes later events straight through.
 *
 * <p>Events arrive serialized from the call's executor; {@link #start()} runs once on another
 * thread. The lock only guards the hand-over, never a handler invocation.
 */
final class DelayedStartListener<ReqT, RespT> extends ServerCall.Listener<ReqT> {
  private final RecoveryInterceptor.GuardedCall<ReqT, RespT> call;
  private final Metadata headers;
  private final ServerCallHandler<ReqT, RespT> next;
  private final Context context;
  private final Runnable onAbandon;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private List<Consumer<ServerCall.Listener<ReqT>>> pending = new ArrayList<>();

  @GuardedBy("lock")
  private boolean started;

  @GuardedBy("lock")
  private boolean cancelledBeforeStart;

  @GuardedBy("lock")
  @Nullable
  private ScheduledFuture<?> timer;

  /** Non-null once all held events were replayed; then events go straight to it. */
  private volatile ServerCall.@Nullable Listener<ReqT> passThrough;

  DelayedStartListener(
      ServerCall<ReqT, RespT> call,
      Metadata headers,
      ServerCallHandler<ReqT, RespT> next,
      Context context,
      Runnable onAbandon) {
    this.call = new RecoveryInterceptor.GuardedCall<>(call);
    this.headers = headers;
    this.next = next;
    this.context = context;
    this.onAbandon = onAbandon;
  }

  void setTimer(ScheduledFuture<?> timer) {
    synchronized (lock) {
      this.timer = timer;
    }
  }

  /** Starts the handler and replays the held events, in the call's context; runs at most once. */
  void start() {
    synchronized (lock) {
      if (started || cancelledBeforeStart) {
        return;
      }
      started = true;
    }
    Context previous = context.attach();
    try {
      startAndReplay();
    } finally {
      context.detach(previous);
    }
  }

  private void startAndReplay() {
    ServerCall.Listener<ReqT> listener;
    try {
      listener = next.startCall(call, headers);
    } catch (Throwable t) {
      call.fail("startCall", t);
      listener = new ServerCall.Listener<ReqT>() {};
    }
    while (true) {
      List<Consumer<ServerCall.Listener<ReqT>>> batch;
      synchronized (lock) {
        if (pending.isEmpty()) {
          passThrough = listener;
          pending = List.of(); // never read again: events now go to passThrough
          return;
        }
        batch = pending;
        pending = new ArrayList<>();
      }
      for (Consumer<ServerCall.Listener<ReqT>> event : batch) {
        try {
          event.accept(listener);
        } catch (Throwable t) {
          // Not on a transport thread, so no outer interceptor would see this: recover here.
          call.fail("a replayed callback", t);
        }
      }
    }
  }

  private void deliver(Consumer<ServerCall.Listener<ReqT>> event) {
    ServerCall.Listener<ReqT> listener = passThrough;
    if (listener == null) {
      synchronized (lock) {
        listener = passThrough;
        if (listener == null) {
          pending.add(event);
          return;
        }
      }
    }
    event.accept(listener);
  }

  @Override
  public void onMessage(ReqT message) {
    deliver(l -> l.onMessage(message));
  }

  @Override
  public void onHalfClose() {
    deliver(ServerCall.Listener::onHalfClose);
  }

  @Override
  public void onReady() {
    deliver(ServerCall.Listener::onReady);
  }

  @Override
  public void onComplete() {
    call.markFinished();
    deliver(ServerCall.Listener::onComplete);
  }

  @Override
  public void onCancel() {
    call.markFinished();
    boolean abandoned;
    ScheduledFuture<?> toCancel;
    synchronized (lock) {
      abandoned = !started;
      if (abandoned) {
        cancelledBeforeStart = true;
      }
      toCancel = timer;
    }
    if (abandoned) {
      if (toCancel != null) {
        toCancel.cancel(false);
      }
      onAbandon.run(); // the handler never saw this call
      return;
    }
    deliver(ServerCall.Listener::onCancel);
  }
}
