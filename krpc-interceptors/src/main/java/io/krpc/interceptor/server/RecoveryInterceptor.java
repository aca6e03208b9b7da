package io.krpc.interceptor.server;

import com.google.errorprone.annotations.ThreadSafe;
import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns an exception thrown by a service handler into an {@code INTERNAL} status, so that one bad
 * call neither leaks a stack trace to the client nor disturbs the server.
 *
 * <pre>{@code
 * Server server = ServerBuilder.forPort(9001)
 *     .addService(ServerInterceptors.intercept(new GreeterImpl(), RecoveryInterceptor.create()))
 *     .build();
 * }</pre>
 *
 * <p>Covers {@code startCall} and every listener callback ({@code onMessage}, {@code onHalfClose},
 * {@code onReady}, {@code onCancel}, {@code onComplete}) of unary and streaming calls. The
 * throwable (any {@link RuntimeException} or {@link Error}, or a checked exception thrown sneakily)
 * is logged at ERROR with its stack and the method name; the client receives {@code INTERNAL} with
 * the fixed description {@value #DESCRIPTION} and nothing of the exception. A call the handler
 * already closed is not closed again, and a call that was already cancelled or completed is only
 * logged.
 *
 * <p>Put it outermost in the server chain so that it also covers the interceptors inside it.
 * Thread-safe and stateless; one instance can serve any number of services.
 */
@ThreadSafe
public final class RecoveryInterceptor implements ServerInterceptor {
  /** The description sent to the client in place of the exception. */
  public static final String DESCRIPTION = "internal server error";

  private static final Logger logger = LoggerFactory.getLogger(RecoveryInterceptor.class);
  private static final RecoveryInterceptor INSTANCE = new RecoveryInterceptor();

  private RecoveryInterceptor() {}

  /** Returns the recovery interceptor (stateless, so always the same instance). */
  public static RecoveryInterceptor create() {
    return INSTANCE;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    GuardedCall<ReqT, RespT> guarded = new GuardedCall<>(call);
    ServerCall.Listener<ReqT> delegate;
    try {
      delegate = next.startCall(guarded, headers);
    } catch (Throwable t) {
      guarded.fail("startCall", t);
      return new ServerCall.Listener<ReqT>() {};
    }
    return new RecoveringListener<>(delegate, guarded);
  }

  /** Remembers whether the call was closed, so that recovery never closes it twice. */
  static final class GuardedCall<ReqT, RespT>
      extends ForwardingServerCall.SimpleForwardingServerCall<ReqT, RespT> {
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Set once the transport reported cancel or complete: closing is pointless then. */
    private volatile boolean finished;

    GuardedCall(ServerCall<ReqT, RespT> delegate) {
      super(delegate);
    }

    @Override
    public void close(Status status, Metadata trailers) {
      // A handler that closes twice still gets grpc's IllegalStateException; only recovery's own
      // close is skipped when the handler got there first. Marked after the fact: a close that
      // threw did not close, and recovery should try again.
      super.close(status, trailers);
      closed.set(true);
    }

    void markFinished() {
      finished = true;
    }

    void fail(String callback, Throwable t) {
      String method = getMethodDescriptor().getFullMethodName();
      logger.error("{}: handler threw in {}; answering INTERNAL", method, callback, t);
      if (finished || !closed.compareAndSet(false, true)) {
        return;
      }
      try {
        super.close(Status.INTERNAL.withDescription(DESCRIPTION), new Metadata());
      } catch (RuntimeException closeFailure) {
        logger.warn("{}: could not close the call after a handler failure", method, closeFailure);
      }
    }
  }

  private static final class RecoveringListener<ReqT> extends ServerCall.Listener<ReqT> {
    private final ServerCall.Listener<ReqT> delegate;
    private final GuardedCall<ReqT, ?> call;

    RecoveringListener(ServerCall.Listener<ReqT> delegate, GuardedCall<ReqT, ?> call) {
      this.delegate = delegate;
      this.call = call;
    }

    @Override
    public void onMessage(ReqT message) {
      try {
        delegate.onMessage(message);
      } catch (Throwable t) {
        call.fail("onMessage", t);
      }
    }

    @Override
    public void onHalfClose() {
      try {
        delegate.onHalfClose();
      } catch (Throwable t) {
        call.fail("onHalfClose", t);
      }
    }

    @Override
    public void onReady() {
      try {
        delegate.onReady();
      } catch (Throwable t) {
        call.fail("onReady", t);
      }
    }

    @Override
    public void onCancel() {
      call.markFinished();
      try {
        delegate.onCancel();
      } catch (Throwable t) {
        call.fail("onCancel", t);
      }
    }

    @Override
    public void onComplete() {
      call.markFinished();
      try {
        delegate.onComplete();
      } catch (Throwable t) {
        call.fail("onComplete", t);
      }
    }
  }
}
