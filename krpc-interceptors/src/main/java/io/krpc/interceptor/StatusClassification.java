package io.krpc.interceptor;

import io.grpc.Status;
import io.krpc.common.FailureCodes;
import java.util.Set;

/**
 * The one table that says which gRPC status codes mean "the server (or the path to it) is
 * unhealthy", as opposed to "the caller made a mistake". Circuit breakers count the former as
 * failures and ignore the latter; the P2C balancer ({@code krpc_p2c}) lowers an endpoint's success
 * rate on the same codes.
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
  public static final Set<Status.Code> SERVER_FAILURE_CODES = FailureCodes.SERVER_FAILURE_CODES;

  private StatusClassification() {}

  /** Returns whether {@code code} is in {@link #SERVER_FAILURE_CODES}. */
  public static boolean isServerFailure(Status.Code code) {
    return FailureCodes.isServerFailure(code);
  }
}
