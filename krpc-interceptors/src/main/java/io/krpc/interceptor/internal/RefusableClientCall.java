package io.krpc.interceptor.internal;

import io.grpc.ClientCall;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/**
 * A client call that an interceptor may refuse in {@code start}: {@link #refuse} never starts the
 * delegate, ends the call with the given status, and turns every later method into a no-op, since a
 * call that never started must not reach its delegate. Used by the circuit breaker and the adaptive
 * throttling. Not thread-safe beyond {@link ClientCall}'s own contract.
 */
public abstract class RefusableClientCall<ReqT, RespT>
    extends ForwardingClientCall.SimpleForwardingClientCall<ReqT, RespT> {
  private boolean refused;

  protected RefusableClientCall(ClientCall<ReqT, RespT> delegate) {
    super(delegate);
  }

  /** Ends the call with {@code status} without starting the delegate. Call from {@code start}. */
  protected final void refuse(Listener<RespT> responseListener, Status status) {
    refused = true;
    // The delegate never starts, so it never reaches a transport; cancelling it frees it.
    delegate().cancel(status.getDescription(), null);
    responseListener.onClose(status, new Metadata());
  }

  @Override
  public void request(int numMessages) {
    if (!refused) {
      super.request(numMessages);
    }
  }

  @Override
  public void sendMessage(ReqT message) {
    if (!refused) {
      super.sendMessage(message);
    }
  }

  @Override
  public void halfClose() {
    if (!refused) {
      super.halfClose();
    }
  }

  @Override
  public void cancel(@Nullable String message, @Nullable Throwable cause) {
    if (!refused) {
      super.cancel(message, cause);
    }
  }

  @Override
  public boolean isReady() {
    return !refused && super.isReady();
  }
}
