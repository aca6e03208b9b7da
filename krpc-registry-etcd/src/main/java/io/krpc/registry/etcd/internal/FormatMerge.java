package io.krpc.registry.etcd.internal;

import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import io.krpc.registry.etcd.RecordFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Merges what each record format lists for one service into one list: one instance per address,
 * taken from KRPC's own record when there is one (it alone carries weight and metadata fully),
 * otherwise from the first listed format that has the address.
 */
final class FormatMerge {
  private static final Comparator<ServiceInstance> BY_ENDPOINT =
      Comparator.comparing(ServiceInstance::endpoint);

  private FormatMerge() {}

  /** {@code perFormat.get(i)} is what {@code formats.get(i)} lists; the result is sorted. */
  static List<ServiceInstance> merge(
      List<RecordFormat> formats, List<List<ServiceInstance>> perFormat) {
    Map<String, ServiceInstance> byAddress = new LinkedHashMap<>();
    for (int pass = 0; pass < 2; pass++) {
      for (int i = 0; i < formats.size(); i++) {
        boolean krpc = formats.get(i) instanceof KrpcRecordFormat;
        if ((pass == 0) != krpc) {
          continue;
        }
        for (ServiceInstance instance : perFormat.get(i)) {
          byAddress.putIfAbsent(instance.endpoint(), instance);
        }
      }
    }
    List<ServiceInstance> merged = new ArrayList<>(byAddress.values());
    merged.sort(BY_ENDPOINT);
    return List.copyOf(merged);
  }

  /**
   * One listener over the watches of every format of a service: it forwards the merged list once
   * every format has listed at least once, and an error once per episode. Its methods are called on
   * the registry's one notifier thread, one at a time.
   */
  static final class Listener {
    private final List<RecordFormat> formats;
    private final Registry.Listener delegate;
    private final List<List<ServiceInstance>> latest = new ArrayList<>();
    private boolean failing;
    private @Nullable List<ServiceInstance> delivered;

    Listener(List<RecordFormat> formats, Registry.Listener delegate) {
      this.formats = formats;
      this.delegate = delegate;
      formats.forEach(f -> latest.add(null));
    }

    /** The listener of format {@code index}'s watch. */
    Registry.Listener part(int index) {
      return new Registry.Listener() {
        @Override
        public void onUpdate(List<ServiceInstance> instances) {
          latest.set(index, instances);
          if (latest.contains(null)) {
            return;
          }
          List<ServiceInstance> merged = merge(formats, latest);
          if (merged.equals(delivered) && !failing) {
            return;
          }
          failing = false;
          delivered = merged;
          delegate.onUpdate(merged);
        }

        @Override
        public void onError(RegistryException error) {
          if (!failing) {
            failing = true;
            delegate.onError(error);
          }
        }
      };
    }
  }
}
