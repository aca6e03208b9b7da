package io.krpc.registry.etcd.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Deadlines on etcd calls, timed by the {@link StateScheduler} so tests control them. */
final class Futures {
  private Futures() {}

  /**
   * A future that completes as {@code future} does, or with a {@link TimeoutException} once {@code
   * timeoutNanos} passed on {@code scheduler}'s clock.
   */
  static <T> CompletableFuture<T> within(
      CompletableFuture<T> future, StateScheduler scheduler, long timeoutNanos) {
    CompletableFuture<T> result = new CompletableFuture<>();
    StateScheduler.Cancellable timer =
        scheduler.schedule(
            () -> {
              if (result.completeExceptionally(
                  new TimeoutException(
                      "etcd did not answer within "
                          + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                          + " ms"))) {
                future.cancel(false);
              }
            },
            timeoutNanos);
    var unused =
        future.whenComplete(
            (value, error) -> {
              timer.cancel();
              if (error != null) {
                result.completeExceptionally(error);
              } else {
                result.complete(value);
              }
            });
    return result;
  }
}
