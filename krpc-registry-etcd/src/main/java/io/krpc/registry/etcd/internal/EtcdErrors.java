package io.krpc.registry.etcd.internal;

import io.grpc.Status;
import io.krpc.common.Backoff;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Classifies etcd failures, the one table of them: outages (retry with backoff until etcd answers),
 * refusals (bad credentials, missing permissions, a response over the inbound message limit:
 * retrying the same call cannot fix them, so they are reported as what they are), an expired auth
 * token (authenticate again and retry) and compaction (list again).
 */
final class EtcdErrors {
  /** The first delay of {@link #retryBackoff()}. */
  static final Duration RETRY_INITIAL = Duration.ofMillis(100);

  /** The longest delay of {@link #retryBackoff()}. */
  static final Duration RETRY_MAX = Duration.ofSeconds(1);

  private EtcdErrors() {}

  /**
   * A new backoff with the one etcd retry timing (100 ms, doubling, capped at 1 s, with jitter),
   * for one caller's sequence of attempts.
   */
  static Backoff retryBackoff() {
    return new Backoff(RETRY_INITIAL, RETRY_MAX);
  }

  /** Failures that retrying cannot fix: bad credentials, missing permissions. */
  static boolean isPermanent(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (isInvalidToken(t)) {
        return false;
      }
      Status.Code code = Status.fromThrowable(t).getCode();
      if (code == Status.Code.UNAUTHENTICATED || code == Status.Code.PERMISSION_DENIED) {
        return true;
      }
      String message = t.getMessage();
      if (message != null
          && (message.contains("authentication failed")
              || message.contains("permission denied")
              || message.contains("user name is empty")
              || message.contains("user name not found"))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Failures that are not outages: {@link #isPermanent} ones and responses larger than the inbound
   * message limit. Retrying them as if etcd were away would only repeat them.
   */
  static boolean isRefusal(Throwable error) {
    if (isPermanent(error)) {
      return true;
    }
    for (Throwable t = error; t != null; t = t.getCause()) {
      if (Status.fromThrowable(t).getCode() == Status.Code.RESOURCE_EXHAUSTED) {
        return true;
      }
      String message = t.getMessage();
      if (message != null && message.contains("larger than max")) {
        return true;
      }
    }
    return false;
  }

  /**
   * etcd forgot the client's auth token (it restarted: simple tokens live in its memory). Not
   * permanent: authenticating again fixes it.
   */
  static boolean isInvalidToken(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      String message = t.getMessage();
      if (message != null
          && (message.contains("invalid auth token")
              || message.contains("auth: revision in header is old"))) {
        return true;
      }
    }
    return false;
  }

  /** The requested revision was compacted away: the caller must list again. */
  static boolean isCompacted(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause()) {
      String message = t.getMessage();
      if (message != null && message.contains("required revision has been compacted")) {
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
