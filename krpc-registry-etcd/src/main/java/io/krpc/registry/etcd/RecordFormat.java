package io.krpc.registry.etcd;

import static io.krpc.common.Checks.notNull;

import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.internal.GoRecordFormats;
import io.krpc.registry.etcd.internal.KrpcRecordFormat;
import org.jspecify.annotations.Nullable;

/**
 * How an instance is stored in etcd: the key layout under a key prefix, and the value's bytes. An
 * {@link EtcdRegistry} writes every format listed in {@link EtcdRegistry.Builder#recordFormats} and
 * reads and merges them all, so Java and Go services of one fleet find each other.
 *
 * <pre>{@code
 * Registry fleet =
 *     EtcdRegistry.builder()
 *         .endpoints("http://127.0.0.1:2379")
 *         .recordFormats(
 *             RecordFormat.KRPC, RecordFormat.KRPC_GO, RecordFormat.GO_ZERO.withKeyPrefix("/rpc/"))
 *         .build();
 * }</pre>
 *
 * <p>The formats, as the Go libraries write them (examples for service {@code greeter} at {@code
 * 10.0.0.1:9001}):
 *
 * <table>
 *   <caption>formats</caption>
 *   <tr><th>format</th><th>default prefix</th><th>key</th><th>value</th></tr>
 *   <tr><td>{@link #KRPC}</td><td>{@code /krpc/services/}</td>
 *     <td>{@code /krpc/services/greeter/10.0.0.1:9001}</td>
 *     <td>{@code {"version":1,"host":"10.0.0.1","port":9001,"weight":100,"metadata":{}}}</td></tr>
 *   <tr><td>{@link #KRPC_GO}</td><td>{@code /kim/prpc/}</td>
 *     <td>{@code /kim/prpc/greeter/10.0.0.1/9001}</td>
 *     <td>{@code {"server_name":"greeter","ip":"10.0.0.1","port":9001,"weight":100,
 *     "enable":true}}</td></tr>
 *   <tr><td>{@link #ETCD_NAMING}</td><td>empty</td><td>{@code greeter/10.0.0.1:9001}</td>
 *     <td>{@code {"Op":0,"Addr":"10.0.0.1:9001","Metadata":null}}</td></tr>
 *   <tr><td>{@link #GO_ZERO}</td><td>empty</td><td>{@code greeter/<lease id in decimal>}</td>
 *     <td>{@code 10.0.0.1:9001}</td></tr>
 *   <tr><td>{@link #KRATOS}</td><td>{@code /microservices/}</td>
 *     <td>{@code /microservices/greeter/10.0.0.1:9001}</td>
 *     <td>{@code {"id":"10.0.0.1:9001","name":"greeter","version":"","metadata":{},
 *     "endpoints":["grpc://10.0.0.1:9001?isSecure=false"]}}</td></tr>
 * </table>
 *
 * Every key of service {@code S} starts with {@code <keyPrefix>S/}; so for etcd's naming the
 * grpc-go target is {@code etcd:///<keyPrefix>S}, for go-zero the {@code Etcd.Key} is {@code
 * <keyPrefix>S}, for Kratos the namespace is the prefix without its last {@code /}.
 *
 * <p>Reading: a Go KRPC record with {@code "enable":false}, an etcd naming record with {@code
 * "Op":1} and a Kratos record without a plaintext {@code grpc://} endpoint are not routable. Go
 * KRPC's weight is kept (0 reads as {@value ServiceInstance#DEFAULT_WEIGHT}, more than {@value
 * ServiceInstance#MAX_WEIGHT} as that). Formats without a weight give {@value
 * ServiceInstance#DEFAULT_WEIGHT}; Kratos carries it as the metadata entry {@code weight}, which
 * its own selectors read. A KRPC record wins over the others for the same address.
 *
 * <p>A format of your own: extend this class (immutable, thread-safe) and list an instance.
 */
public abstract class RecordFormat {

  /** KRPC for Java's own format, the default. */
  public static final RecordFormat KRPC = new KrpcRecordFormat("/krpc/services/");

  /** The Go KRPC's (wsx864321/kim {@code pkg/krpc/registry/etcd}). */
  public static final RecordFormat KRPC_GO = new GoRecordFormats.KrpcGo("/kim/prpc/");

  /** etcd's gRPC naming ({@code client/v3/naming/endpoints}, dialed as {@code etcd:///S}). */
  public static final RecordFormat ETCD_NAMING = new GoRecordFormats.EtcdNaming("");

  /** go-zero's {@code core/discov} publisher and subscriber. */
  public static final RecordFormat GO_ZERO = new GoRecordFormats.GoZero("");

  /** Kratos' {@code contrib/registry/etcd}, namespace {@code /microservices}. */
  public static final RecordFormat KRATOS = new GoRecordFormats.Kratos("/microservices/");

  private final String name;
  private final String keyPrefix;

  /**
   * @param name the format's name, for messages
   * @param keyPrefix empty, or ends with {@code /}; no whitespace
   */
  protected RecordFormat(String name, String keyPrefix) {
    this.name = notNull(name, "name");
    this.keyPrefix = checkKeyPrefix(keyPrefix);
  }

  /** The format's name, such as {@code KRPC_GO}. */
  public final String name() {
    return name;
  }

  /** The prefix before the service name in every key of this format. */
  public final String keyPrefix() {
    return keyPrefix;
  }

  /**
   * The same format under another prefix (for example a Kratos namespace, a go-zero key's leading
   * part, or a Go KRPC built with another {@code KeyPrefix}).
   *
   * @param keyPrefix empty, or ends with {@code /}; no whitespace
   */
  public final RecordFormat withKeyPrefix(String keyPrefix) {
    return withCheckedKeyPrefix(checkKeyPrefix(keyPrefix));
  }

  /** A copy of this format under {@code keyPrefix}, which is already validated. */
  protected abstract RecordFormat withCheckedKeyPrefix(String keyPrefix);

  /** The prefix of every key of {@code serviceName} in this format, ending with {@code /}. */
  public final String servicePrefix(String serviceName) {
    return keyPrefix + serviceName + "/";
  }

  /**
   * The key of {@code instance}; starts with {@link #servicePrefix}.
   *
   * @param leaseId the registry's lease, which go-zero puts in its keys
   */
  public abstract String key(ServiceInstance instance, long leaseId);

  /** The value stored for {@code instance}. */
  public abstract byte[] encode(ServiceInstance instance);

  /**
   * Reads a value found under {@code key}, which starts with {@code servicePrefix(serviceName)}.
   *
   * @return the instance, or null when the record is well formed but not routable
   * @throws IllegalArgumentException when the value cannot be read; the message says why
   */
  public abstract @Nullable ServiceInstance decode(String serviceName, String key, byte[] value);

  /** Whether this is KRPC's own format, whose records win over the others'. */
  boolean isKrpc() {
    return this instanceof KrpcRecordFormat;
  }

  @Override
  @SuppressWarnings("EqualsGetClass") // the subclasses are the formats: equal only within one
  public final boolean equals(Object o) {
    return o != null
        && o.getClass() == getClass()
        && ((RecordFormat) o).keyPrefix.equals(keyPrefix)
        && ((RecordFormat) o).name.equals(name);
  }

  @Override
  public final int hashCode() {
    return getClass().hashCode() * 31 + keyPrefix.hashCode();
  }

  @Override
  public String toString() {
    return name + "('" + keyPrefix + "')";
  }

  private static String checkKeyPrefix(String keyPrefix) {
    notNull(keyPrefix, "keyPrefix");
    if ((!keyPrefix.isEmpty() && !keyPrefix.endsWith("/"))
        || keyPrefix.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException(
          "keyPrefix: '" + keyPrefix + "' (expected: empty, or ending with '/', no whitespace)");
    }
    return keyPrefix;
  }
}
