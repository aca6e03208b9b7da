package io.krpc.common;

import io.grpc.Status;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The one table of gRPC status codes that mean "the server, or the path to it, is unhealthy", as
 * opposed to "the caller made a mistake". Circuit breakers count these as failures, the P2C
 * balancer lowers an endpoint's success rate on them; the public face of this table is {@code
 * io.krpc.interceptor.StatusClassification}.
 *
 * <p>{@code UNAVAILABLE}, {@code DEADLINE_EXCEEDED}, {@code INTERNAL}, {@code UNKNOWN} (what
 * grpc-java reports when a connection dies mid-call), {@code DATA_LOSS} and {@code
 * RESOURCE_EXHAUSTED} (a server that sheds load should be backed off).
 */
public final class FailureCodes {

  /** The codes that count as a server failure; unmodifiable. */
  public static final Set<Status.Code> SERVER_FAILURE_CODES =
      Collections.unmodifiableSet(
          EnumSet.of(
              Status.Code.UNAVAILABLE,
              Status.Code.DEADLINE_EXCEEDED,
              Status.Code.INTERNAL,
              Status.Code.UNKNOWN,
              Status.Code.DATA_LOSS,
              Status.Code.RESOURCE_EXHAUSTED));

  private FailureCodes() {}

  /** Returns whether {@code code} is in {@link #SERVER_FAILURE_CODES}. */
  public static boolean isServerFailure(Status.Code code) {
    return SERVER_FAILURE_CODES.contains(code);
  }
}
