package io.krpc.loadbalance.internal;

import static io.grpc.ConnectivityState.IDLE;

import io.grpc.ConnectivityState;
import io.grpc.LoadBalancer.Subchannel;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One endpoint (one address group) of an {@link EndpointSetLoadBalancer}: its subchannel, its
 * current weight and state, when it last became READY, and its {@link EndpointLoad}.
 *
 * <p>Not thread-safe: the mutable fields are read and written only in the channel's
 * SynchronizationContext. Pickers copy what they need; only {@link #load()} is shared with them.
 */
final class TrackedEndpoint {

  private final Subchannel subchannel;
  private final EndpointLoad load;
  private int weight;
  private ConnectivityState state = IDLE;
  private long readySinceNanos;
  private boolean removed;

  TrackedEndpoint(Subchannel subchannel, int weight, AtomicInteger fleetInFlight) {
    this.subchannel = subchannel;
    this.load = new EndpointLoad(fleetInFlight);
    this.weight = weight;
  }

  Subchannel subchannel() {
    return subchannel;
  }

  EndpointLoad load() {
    return load;
  }

  int weight() {
    return weight;
  }

  void setWeight(int weight) {
    this.weight = weight;
  }

  ConnectivityState state() {
    return state;
  }

  void setState(ConnectivityState state) {
    this.state = state;
  }

  long readySinceNanos() {
    return readySinceNanos;
  }

  void setReadySince(long nanos) {
    this.readySinceNanos = nanos;
  }

  boolean isRemoved() {
    return removed;
  }

  void remove() {
    removed = true;
    subchannel.shutdown();
  }

  @Override
  public String toString() {
    return subchannel.getAllAddresses() + "{weight=" + weight + ", state=" + state + "}";
  }
}
