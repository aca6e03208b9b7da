package io.krpc.registry.etcd;

import io.krpc.registry.Registry;
import io.krpc.registry.RegistryException;
import io.krpc.registry.ServiceInstance;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** Records the snapshots and errors of a watch; notes any empty list after a non-empty one. */
final class RecordingListener implements Registry.Listener {
  final List<List<ServiceInstance>> snapshots = new CopyOnWriteArrayList<>();
  final List<RegistryException> errors = new CopyOnWriteArrayList<>();
  final AtomicBoolean sawEmptyAfterInstances = new AtomicBoolean();
  final AtomicInteger concurrent = new AtomicInteger();
  final AtomicBoolean overlapped = new AtomicBoolean();
  private volatile boolean hadInstances;

  @Override
  public void onUpdate(List<ServiceInstance> instances) {
    enter();
    if (instances.isEmpty() && hadInstances) {
      sawEmptyAfterInstances.set(true);
    }
    if (!instances.isEmpty()) {
      hadInstances = true;
    }
    snapshots.add(instances);
    exit();
  }

  @Override
  public void onError(RegistryException error) {
    enter();
    errors.add(error);
    exit();
  }

  List<ServiceInstance> last() {
    return snapshots.isEmpty() ? null : snapshots.get(snapshots.size() - 1);
  }

  private void enter() {
    if (concurrent.incrementAndGet() > 1) {
      overlapped.set(true);
    }
  }

  private void exit() {
    concurrent.decrementAndGet();
  }
}
