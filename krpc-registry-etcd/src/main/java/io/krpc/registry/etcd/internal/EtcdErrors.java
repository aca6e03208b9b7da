package io.krpc.registry.etcd.internal;

import io.grpc.Status;
import io.krpc.common.Backoff;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Classifies etcd failures (the one table of which ones retrying cannot fix) and holds the one
 * retry timing of every etcd call: 100 ms, doubling, capped at 1 s, with jitter.
 */
final class EtcdErrors {
  /** The first delay of {@link #retryBackoff()}. */
  static final Duration RETRY_INITIAL = Duration.ofMillis(100);

  /** The longest delay of {@link #retryBackoff()}. */
  static final Duration RETRY_MAX = Duration.ofSeconds(1);

  private EtcdErrors() {}

  /** A new backoff with the etcd retry timing, for one caller's sequence of attempts. */
  static Backoff retryBackoff() {
    return new Backoff(RETRY_INITIAL, RETRY_MAX);
  }

  /** Failures that retrying cannot fix: bad credentials, missing permissions. */
  static boolean isPermanent(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      Status.Code code = Status.fromThrowable(t).getCode();
      if (code == Status.Code.UNAUTHENTICATED || code == Status.Code.PERMISSION_DENIED) {
        return true;
      }
      String message = t.getMessage();
      if (message != null && (message.contains("authentication failed")
          || message.contains("permission denied") || message.contains("invalid auth token")
          || message.contains("user name is empty") || message.contains("user name not found"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * What went wrong, in words: the message of the deepest cause (gRPC wraps etcd's own message,
   * such as "authentication failed", under a bare status), or "etcd did not answer" for timeouts.
   */
  static String describe(Throwable error) {
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof java.util.concurrent.TimeoutException) {
      return "etcd did not answer";
    }
    String message = root.getMessage();
    return message == null || message.isBlank() ? root.getClass().getSimpleName() : message;
  }

  /** The cause that says what happened, without the future wrappers. */
  static Throwable unwrap(Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
