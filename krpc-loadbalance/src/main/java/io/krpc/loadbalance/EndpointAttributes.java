package io.krpc.loadbalance;

import io.grpc.Attributes;
import io.grpc.EquivalentAddressGroup;
import java.util.Map;

/**
 * Public attribute keys under which KRPC name resolvers describe each endpoint on its {@link
 * EquivalentAddressGroup}, and which KRPC load-balancing policies read.
 *
 * <pre>{@code
 * int weight = EndpointAttributes.weightOf(eag); // 100 when the resolver gave none
 * }</pre>
 *
 * <p>The keys live in this module, the lowest one that both the resolvers ({@code krpc-core},
 * {@code krpc-registry-etcd}) and the policies ({@code krpc-loadbalance}) depend on, so that there
 * is one definition of each.
 */
public final class EndpointAttributes {

  /** Weight used when an address group carries none: the KServer default. */
  public static final int DEFAULT_WEIGHT = 100;

  /** The endpoint's registry weight, 1..10000. */
  @EquivalentAddressGroup.Attr
  public static final Attributes.Key<Integer> WEIGHT = Attributes.Key.create("io.krpc.weight");

  /** The endpoint's registry metadata, an immutable map (never null when set). */
  @EquivalentAddressGroup.Attr
  public static final Attributes.Key<Map<String, String>> METADATA =
      Attributes.Key.create("io.krpc.metadata");

  /** The service name the endpoint was registered under. */
  @EquivalentAddressGroup.Attr
  public static final Attributes.Key<String> SERVICE_NAME =
      Attributes.Key.create("io.krpc.service-name");

  private EndpointAttributes() {}

  /** Returns the weight carried by {@code eag}, or {@link #DEFAULT_WEIGHT} when it has none. */
  public static int weightOf(EquivalentAddressGroup eag) {
    Integer weight = eag.getAttributes().get(WEIGHT);
    return weight == null || weight <= 0 ? DEFAULT_WEIGHT : weight;
  }
}
