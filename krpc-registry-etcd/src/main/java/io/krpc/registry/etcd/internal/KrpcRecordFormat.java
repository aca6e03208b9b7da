package io.krpc.registry.etcd.internal;

import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;

/**
 * {@link RecordFormat#KRPC}: KRPC for Java's own records, as {@link InstanceRecordCodec} has them.
 */
public final class KrpcRecordFormat extends RecordFormat {
  private final InstanceRecordCodec codec;

  /** The KRPC format under {@code keyPrefix}. */
  public KrpcRecordFormat(String keyPrefix) {
    super("KRPC", keyPrefix);
    this.codec = new InstanceRecordCodec(keyPrefix);
  }

  @Override
  protected RecordFormat withCheckedKeyPrefix(String keyPrefix) {
    return new KrpcRecordFormat(keyPrefix);
  }

  @Override
  public String key(ServiceInstance instance, long leaseId) {
    return codec.key(instance);
  }

  @Override
  public byte[] encode(ServiceInstance instance) {
    return codec.encode(instance);
  }

  @Override
  public ServiceInstance decode(String serviceName, String key, byte[] value) {
    return codec.decode(serviceName, key, value);
  }
}
