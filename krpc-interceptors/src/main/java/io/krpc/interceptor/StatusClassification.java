package io.krpc.interceptor;

import io.grpc.Status;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The one table that says which gRPC status codes mean "the server (or the path to it) is
 * unhealthy", as opposed to "the caller made a mistake". Circuit breakers count the former as
 * failures and ignore the latter.
 *
 * <pre>{@code
 * boolean failure = StatusClassification.isServerFailure(status.getCode());
 * }</pre>
 *
 * <p>Server failures: {@code UNAVAILABLE}, {@code DEADLINE_EXCEEDED}, {@code INTERNAL}, {@code
 * UNKNOWN}, {@code DATA_LOSS} and {@code RESOURCE_EXHAUSTED} (a server that rate limits or sheds
 * load should be backed off). Everything else, for example {@code INVALID_ARGUMENT}, {@code
 * NOT_FOUND}, {@code PERMISSION_DENIED} or {@code CANCELLED}, is the caller's business.
 */
public final class StatusClassification {

  /** The default set of codes that count as a server failure; unmodifiable. */
  public static final Set<Status.Code> SERVER_FAILURE_CODES =
      Collections.unmodifiableSet(
          EnumSet.of(
              Status.Code.UNAVAILABLE,
              Status.Code.DEADLINE_EXCEEDED,
              Status.Code.INTERNAL,
              Status.Code.UNKNOWN,
              Status.Code.DATA_LOSS,
              Status.Code.RESOURCE_EXHAUSTED));

  private StatusClassification() {}

  /** Returns whether {@code code} is in {@link #SERVER_FAILURE_CODES}. */
  public static boolean isServerFailure(Status.Code code) {
    return SERVER_FAILURE_CODES.contains(code);
  }
}
