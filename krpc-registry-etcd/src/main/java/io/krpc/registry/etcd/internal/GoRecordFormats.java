package io.krpc.registry.etcd.internal;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The records of the Go registries, written byte for byte as their Go code writes them and read as
 * their Go code reads them. Each class names the Go source it follows.
 */
public final class GoRecordFormats {
  private GoRecordFormats() {}

  /**
   * Go KRPC (wsx864321/kim {@code pkg/krpc/registry/etcd/etcd_register.go}): key {@code
   * <prefix><service>/<ip>/<port>}, value Go's JSON of its {@code registry.Endpoint} struct. Go
   * KRPC watchers split every key under the prefix by {@code /} and index the third part, so only
   * keys of exactly this shape may ever be written there.
   */
  public static final class KrpcGo extends RecordFormat {
    /** Go KRPC's records under {@code keyPrefix}. */
    public KrpcGo(String keyPrefix) {
      super("KRPC_GO", keyPrefix);
    }

    @Override
    protected RecordFormat withCheckedKeyPrefix(String keyPrefix) {
      return new KrpcGo(keyPrefix);
    }

    @Override
    public String key(ServiceInstance instance, long leaseId) {
      return servicePrefix(instance.serviceName()) + instance.host() + "/" + instance.port();
    }

    @Override
    public byte[] encode(ServiceInstance instance) {
      return GoJson.object()
          .string("server_name", instance.serviceName())
          .string("ip", instance.host())
          .number("port", instance.port())
          .number("weight", instance.weight())
          .bool("enable", true)
          .toBytes();
    }

    @Override
    public @Nullable ServiceInstance decode(String serviceName, String key, byte[] value) {
      JsonObject json = GoJson.parseObject(value);
      String ip = GoJson.stringField(json, "ip");
      long port = GoJson.longField(json, "port");
      long weight = GoJson.longField(json, "weight");
      boolean enable = GoJson.boolField(json, "enable");
      if (!enable) {
        return null;
      }
      return instance(
          serviceName,
          ip,
          port,
          weight <= 0
              ? ServiceInstance.DEFAULT_WEIGHT
              : Math.min(weight, ServiceInstance.MAX_WEIGHT),
          Map.of());
    }
  }

  /**
   * etcd's gRPC naming (etcd-io/etcd {@code client/v3/naming/endpoints}): key {@code
   * <prefix><service>/<host>:<port>}, value Go's JSON of {@code internal.Update{Op, Addr,
   * Metadata}}. The metadata is written as a JSON object of strings (null when empty) and read when
   * it is one.
   */
  public static final class EtcdNaming extends RecordFormat {
    /** etcd naming records under {@code keyPrefix}. */
    public EtcdNaming(String keyPrefix) {
      super("ETCD_NAMING", keyPrefix);
    }

    @Override
    protected RecordFormat withCheckedKeyPrefix(String keyPrefix) {
      return new EtcdNaming(keyPrefix);
    }

    @Override
    public String key(ServiceInstance instance, long leaseId) {
      return servicePrefix(instance.serviceName()) + instance.endpoint();
    }

    @Override
    public byte[] encode(ServiceInstance instance) {
      GoJson json = GoJson.object().number("Op", 0).string("Addr", instance.endpoint());
      return (instance.metadata().isEmpty()
              ? json.nullField("Metadata")
              : json.map("Metadata", instance.metadata()))
          .toBytes();
    }

    @Override
    public @Nullable ServiceInstance decode(String serviceName, String key, byte[] value) {
      JsonObject json = GoJson.parseObject(value);
      long op = GoJson.longField(json, "Op");
      if (op < 0 || op > 255) {
        throw new IllegalArgumentException("'Op' is not a uint8: " + op);
      }
      String addr = GoJson.stringField(json, "Addr");
      if (op == 1) {
        return null;
      }
      Map<String, String> metadata = Map.of();
      JsonElement meta = GoJson.field(json, "Metadata");
      if (meta != null && meta.isJsonObject()) {
        try {
          metadata = GoJson.stringMapField(json, "Metadata");
        } catch (IllegalArgumentException e) {
          metadata = Map.of(); // Metadata is Go's "any": other shapes are someone's own business
        }
      }
      return hostPort(serviceName, addr, ServiceInstance.DEFAULT_WEIGHT, metadata);
    }
  }

  /**
   * go-zero ({@code core/discov/publisher.go}): key {@code <Etcd.Key>/<lease id in decimal>}, here
   * {@code <prefix><service>/<lease id>}; value the plain string {@code host:port}.
   */
  public static final class GoZero extends RecordFormat {
    /** go-zero records under {@code keyPrefix}. */
    public GoZero(String keyPrefix) {
      super("GO_ZERO", keyPrefix);
    }

    @Override
    protected RecordFormat withCheckedKeyPrefix(String keyPrefix) {
      return new GoZero(keyPrefix);
    }

    @Override
    public String key(ServiceInstance instance, long leaseId) {
      // go-zero keys a publisher by its lease: one registry (one lease) can publish one
      // instance per service in this format; the registry refuses a second one
      return servicePrefix(instance.serviceName()) + leaseId;
    }

    @Override
    public byte[] encode(ServiceInstance instance) {
      return instance.endpoint().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public ServiceInstance decode(String serviceName, String key, byte[] value) {
      return hostPort(
          serviceName,
          new String(value, StandardCharsets.UTF_8),
          ServiceInstance.DEFAULT_WEIGHT,
          Map.of());
    }
  }

  /**
   * Kratos ({@code contrib/registry/etcd}): key {@code <namespace>/<service>/<id>}, value Go's JSON
   * of {@code registry.ServiceInstance{ID, Name, Version, Metadata, Endpoints}}. KRPC writes the id
   * {@code host:port}, one endpoint {@code grpc://host:port?isSecure=false} and a weight other than
   * {@value ServiceInstance#DEFAULT_WEIGHT} as the metadata entry {@code weight}, which Kratos'
   * selectors read.
   */
  public static final class Kratos extends RecordFormat {
    /** Kratos records under {@code keyPrefix}, the namespace followed by {@code /}. */
    public Kratos(String keyPrefix) {
      super("KRATOS", keyPrefix);
    }

    @Override
    protected RecordFormat withCheckedKeyPrefix(String keyPrefix) {
      return new Kratos(keyPrefix);
    }

    @Override
    public String key(ServiceInstance instance, long leaseId) {
      return servicePrefix(instance.serviceName()) + instance.endpoint();
    }

    @Override
    public byte[] encode(ServiceInstance instance) {
      Map<String, String> metadata = new TreeMap<>(instance.metadata());
      if (instance.weight() != ServiceInstance.DEFAULT_WEIGHT) {
        metadata.putIfAbsent("weight", Integer.toString(instance.weight()));
      }
      return GoJson.object()
          .string("id", instance.endpoint())
          .string("name", instance.serviceName())
          .string("version", "")
          .map("metadata", metadata)
          .strings("endpoints", List.of("grpc://" + instance.endpoint() + "?isSecure=false"))
          .toBytes();
    }

    @Override
    public @Nullable ServiceInstance decode(String serviceName, String key, byte[] value) {
      JsonObject json = GoJson.parseObject(value);
      String name = GoJson.stringField(json, "name");
      Map<String, String> metadata = GoJson.stringMapField(json, "metadata");
      JsonElement endpoints = GoJson.field(json, "endpoints");
      if (!name.equals(serviceName)) {
        return null; // Kratos' own readers skip instances of another name
      }
      if (endpoints == null || endpoints.isJsonNull()) {
        return null;
      }
      if (!endpoints.isJsonArray()) {
        throw new IllegalArgumentException("'endpoints' is not a JSON array");
      }
      int weight = ServiceInstance.DEFAULT_WEIGHT;
      String declared = metadata.get("weight");
      if (declared != null) {
        try {
          weight = ServiceInstance.checkWeight(Integer.parseInt(declared.trim()));
          metadata.remove("weight");
        } catch (IllegalArgumentException e) {
          weight = ServiceInstance.DEFAULT_WEIGHT;
        }
      }
      for (JsonElement endpoint : endpoints.getAsJsonArray()) {
        if (!endpoint.isJsonPrimitive() || !endpoint.getAsJsonPrimitive().isString()) {
          throw new IllegalArgumentException("'endpoints' holds a non-string: " + endpoint);
        }
        URI uri;
        try {
          uri = URI.create(endpoint.getAsString());
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("endpoint is not a URL: " + endpoint, e);
        }
        String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
        if ("grpc".equals(uri.getScheme())
            && !query.contains("isSecure=true")
            && uri.getRawAuthority() != null) {
          return hostPort(serviceName, uri.getRawAuthority(), weight, metadata);
        }
      }
      return null; // an HTTP-only or TLS-only Kratos service: nothing a plaintext client can dial
    }
  }

  // ---- helpers

  /** Reads {@code host:port} as Go's {@code net.SplitHostPort} does (IPv6 in brackets). */
  static ServiceInstance hostPort(
      String serviceName, String address, int weight, Map<String, String> metadata) {
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException("address '" + address + "' is not host:port");
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new IllegalArgumentException(
          "address '" + address + "' has too many colons (IPv6 needs brackets)");
    }
    long port;
    try {
      port = Long.parseLong(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("address '" + address + "' has no numeric port", e);
    }
    return instance(serviceName, host, port, weight, metadata);
  }

  static ServiceInstance instance(
      String serviceName, String host, long port, long weight, Map<String, String> metadata) {
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
    }
    return new ServiceInstance(serviceName, host, (int) port, (int) weight, metadata);
  }
}
