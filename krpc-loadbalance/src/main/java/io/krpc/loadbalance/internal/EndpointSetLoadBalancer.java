package io.krpc.loadbalance.internal;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.SHUTDOWN;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;
import static io.krpc.common.Checks.notNull;
import static java.util.concurrent.TimeUnit.NANOSECONDS;

import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.Deadline;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.Status;
import io.grpc.SynchronizationContext.ScheduledHandle;
import io.krpc.loadbalance.EndpointAttributes;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Base of the KRPC policies: one subchannel per address group, kept across resolutions while its
 * address set is unchanged (so a weight change never reconnects), sticky TRANSIENT_FAILURE per
 * endpoint, an aggregate state and a picker over the READY endpoints built by the subclass.
 *
 * <p>Slow start: an endpoint that became READY less than {@code slowStart} ago gets the share
 * factor {@link #slowStartFactor}; while any endpoint ramps, the picker is rebuilt every 1/{@value
 * #RAMP_STEPS} of the window.
 *
 * <p>It creates subchannels through {@link Helper#createSubchannel} itself rather than extending
 * grpc-util's {@code MultiChildLoadBalancer}, which is {@code @Internal} and may change between
 * grpc-java releases.
 *
 * <p>Threading: grpc-java's {@link LoadBalancer} contract. Every method, subchannel state listener
 * and timer runs in the channel's SynchronizationContext, so the fields need no locks; pickers
 * handed to the channel are immutable snapshots that may be called from any thread.
 */
abstract class EndpointSetLoadBalancer extends LoadBalancer {

  private static final Logger logger = LoggerFactory.getLogger(EndpointSetLoadBalancer.class);

  static final int RAMP_STEPS = 20;

  /** Share factor of an endpoint that has just become READY under slow start. */
  static final double MIN_SLOW_START_FACTOR = 0.1;

  private static final long MIN_RAMP_STEP_NANOS = 10_000_000L;

  private final Helper helper;
  private final String policyName;
  final Deadline.Ticker ticker;

  /** Calls in flight on all endpoints, for {@link EndpointLoad#cost}'s fleet average. */
  private final AtomicInteger fleetInFlight = new AtomicInteger();

  private Map<Set<SocketAddress>, TrackedEndpoint> endpoints = new LinkedHashMap<>();
  private ConnectivityState overallState = IDLE;
  private Status lastFailure = Status.UNAVAILABLE.withDescription("no connection attempt failed");
  private long slowStartNanos;
  private @Nullable ScheduledHandle rampTimer;

  EndpointSetLoadBalancer(Helper helper, String policyName, Deadline.Ticker ticker) {
    this.helper = notNull(helper, "helper");
    this.policyName = policyName;
    this.ticker = notNull(ticker, "ticker");
  }

  /** Applies the policy config ({@code null} means the defaults); returns the slow-start window. */
  abstract long configure(@Nullable Object policyConfig);

  /** Builds the picker over {@code ready}, which is never empty, at time {@code nowNanos}. */
  abstract SubchannelPicker newReadyPicker(List<TrackedEndpoint> ready, long nowNanos);

  @Override
  public Status acceptResolvedAddresses(ResolvedAddresses resolved) {
    List<EquivalentAddressGroup> groups = resolved.getAddresses();
    if (groups.isEmpty()) {
      Status error =
          Status.UNAVAILABLE.withDescription(
              policyName
                  + ": the name resolver returned no addresses (resolution attributes: "
                  + resolved.getAttributes()
                  + ")");
      handleNameResolutionError(error);
      return error;
    }
    slowStartNanos = configure(resolved.getLoadBalancingPolicyConfig());
    Map<Set<SocketAddress>, TrackedEndpoint> next = new LinkedHashMap<>();
    for (EquivalentAddressGroup group : groups) {
      Set<SocketAddress> key = new HashSet<>(group.getAddresses());
      if (next.containsKey(key)) {
        continue; // the first group of a duplicated address set wins
      }
      TrackedEndpoint endpoint = endpoints.remove(key);
      if (endpoint == null) {
        endpoint = connect(group);
      }
      endpoint.setWeight(EndpointAttributes.weightOf(group));
      next.put(key, endpoint);
    }
    for (TrackedEndpoint gone : endpoints.values()) {
      gone.remove();
    }
    logger.debug(
        "{}: {} endpoints ({} removed), slowStart={}ns",
        policyName,
        next.size(),
        endpoints.size(),
        slowStartNanos);
    endpoints = next;
    updateOverallState();
    return Status.OK;
  }

  private TrackedEndpoint connect(EquivalentAddressGroup group) {
    Subchannel subchannel =
        helper.createSubchannel(CreateSubchannelArgs.newBuilder().setAddresses(group).build());
    TrackedEndpoint endpoint =
        new TrackedEndpoint(subchannel, EndpointAttributes.weightOf(group), fleetInFlight);
    subchannel.start(info -> onSubchannelState(endpoint, info));
    subchannel.requestConnection();
    return endpoint;
  }

  private void onSubchannelState(TrackedEndpoint endpoint, ConnectivityStateInfo info) {
    ConnectivityState state = info.getState();
    if (endpoint.isRemoved() || state == SHUTDOWN) {
      return;
    }
    if (state == IDLE || state == TRANSIENT_FAILURE) {
      helper.refreshNameResolution();
    }
    if (state == IDLE) {
      endpoint.subchannel().requestConnection();
    }
    if (state == TRANSIENT_FAILURE) {
      lastFailure = info.getStatus();
      logger.debug("{}: {} failed: {}", policyName, endpoint, lastFailure);
    }
    if (endpoint.state() == TRANSIENT_FAILURE && state != READY) {
      return; // sticky: a failed endpoint counts as failed until it is READY again
    }
    if (state == READY && endpoint.state() != READY) {
      long now = ticker.nanoTime();
      endpoint.setReadySince(now);
      endpoint.load().resetPickTime(now);
    }
    endpoint.setState(state);
    updateOverallState();
  }

  private void updateOverallState() {
    List<TrackedEndpoint> ready = new ArrayList<>();
    boolean connecting = false;
    for (TrackedEndpoint endpoint : endpoints.values()) {
      if (endpoint.state() == READY) {
        ready.add(endpoint);
      } else if (endpoint.state() != TRANSIENT_FAILURE) {
        connecting = true;
      }
    }
    if (!ready.isEmpty()) {
      long now = ticker.nanoTime();
      publish(READY, newReadyPicker(ready, now));
      scheduleRampStep(ready, now);
    } else if (connecting) {
      publish(CONNECTING, new FixedResultPicker(PickResult.withNoResult()));
    } else {
      Status error =
          Status.UNAVAILABLE
              .withDescription(
                  policyName
                      + ": all "
                      + endpoints.size()
                      + " endpoints are in TRANSIENT_FAILURE; last error: "
                      + lastFailure)
              .withCause(lastFailure.getCause());
      publish(TRANSIENT_FAILURE, new FixedResultPicker(PickResult.withError(error)));
    }
  }

  private void publish(ConnectivityState state, SubchannelPicker picker) {
    overallState = state;
    helper.updateBalancingState(state, picker);
  }

  private void scheduleRampStep(List<TrackedEndpoint> ready, long now) {
    if (slowStartNanos <= 0 || (rampTimer != null && rampTimer.isPending())) {
      return;
    }
    boolean ramping = false;
    for (TrackedEndpoint endpoint : ready) {
      ramping |= now - endpoint.readySinceNanos() < slowStartNanos;
    }
    if (ramping) {
      long step = Math.max(MIN_RAMP_STEP_NANOS, slowStartNanos / RAMP_STEPS);
      rampTimer =
          helper
              .getSynchronizationContext()
              .schedule(
                  this::updateOverallState,
                  step,
                  NANOSECONDS,
                  helper.getScheduledExecutorService());
    }
  }

  /**
   * The share factor of {@code endpoint} at {@code nowNanos}: 1 without slow start or after the
   * window, else rising linearly from {@value #MIN_SLOW_START_FACTOR} to 1 across the window.
   */
  final double slowStartFactor(TrackedEndpoint endpoint, long nowNanos) {
    long elapsed = nowNanos - endpoint.readySinceNanos();
    if (slowStartNanos <= 0 || elapsed >= slowStartNanos) {
      return 1;
    }
    return Math.max(MIN_SLOW_START_FACTOR, (double) elapsed / slowStartNanos);
  }

  @Override
  public void handleNameResolutionError(Status error) {
    if (overallState != READY) {
      publish(TRANSIENT_FAILURE, new FixedResultPicker(PickResult.withError(error)));
    }
  }

  @Override
  public void requestConnection() {
    for (TrackedEndpoint endpoint : endpoints.values()) {
      endpoint.subchannel().requestConnection();
    }
  }

  @Override
  public void shutdown() {
    if (rampTimer != null) {
      rampTimer.cancel();
    }
    for (TrackedEndpoint endpoint : endpoints.values()) {
      endpoint.remove();
    }
    endpoints = new LinkedHashMap<>();
  }
}
