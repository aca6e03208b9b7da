package io.krpc.registry.etcd.internal;

import io.grpc.Status;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Classifies etcd failures: the one table of which ones retrying cannot fix. */
final class EtcdErrors {
  private EtcdErrors() {}

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
