package io.krpc.registry;

import java.util.List;

/**
 * Where services announce their instances and where clients find them: the KRPC registry SPI.
 *
 * <pre>{@code
 * Registry registry = new InMemoryRegistry();
 * registry.register(ServiceInstance.of("greeter", "10.0.0.5", 9001));
 * Registry.Watch watch =
 *     registry.watch(
 *         "greeter",
 *         new Registry.Listener() {
 *           public void onUpdate(List<ServiceInstance> instances) { ... }
 *
 *           public void onError(RegistryException error) { ... }
 *         });
 * ...
 * watch.cancel();
 * }</pre>
 *
 * <h2>Threading</h2>
 *
 * Implementations are thread-safe: every method may be called from any thread. {@link #register},
 * {@link #deregister}, {@link #lookup} and {@link #close} may block, bounded by the
 * implementation's own timeouts; so never call them from a gRPC {@code SynchronizationContext} or
 * an event loop. {@link #watch} does not block: it returns at once and delivers the first snapshot
 * asynchronously. A listener's callbacks are never called concurrently with each other (they are
 * serialised per watch), never from inside {@code watch()} itself, and and not after {@link
 * Watch#cancel()} has returned, except for one callback that was already under way on another
 * thread. Listeners must return quickly: hand heavy work to an executor of your own.
 *
 * <h2>Errors</h2>
 *
 * Blocking calls report failure by throwing {@link RegistryException} (unchecked), carrying what
 * failed and why; they never return a half-done result. A watch reports a backend failure through
 * {@link Listener#onError} and keeps going: it delivers a fresh snapshot once the backend answers
 * again. While the backend is unreachable no snapshot is delivered at all, so an outage never looks
 * like a service with no instances: an empty list means the instances were really removed.
 *
 * <h2>Snapshots</h2>
 *
 * {@link Listener#onUpdate} always receives the full, immutable list of one service's instances,
 * sorted by endpoint, never a delta. Consecutive snapshots may be equal.
 */
public interface Registry extends AutoCloseable {

  /**
   * Announces {@code instance} and keeps it announced until {@link #deregister} or {@link #close}.
   * Registering an instance with the same endpoint again replaces it (a new weight, new metadata).
   *
   * @throws RegistryException when the backend refused or could not be reached in time
   * @throws IllegalStateException when the registry is closed
   */
  void register(ServiceInstance instance);

  /**
   * Withdraws {@code instance} (matched by service name and endpoint). Withdrawing an instance that
   * is not registered does nothing.
   *
   * @throws RegistryException when the backend could not be reached in time
   */
  void deregister(ServiceInstance instance);

  /**
   * Watches one service: {@code listener} gets the current snapshot as soon as it is known, then a
   * new snapshot after each change. See the class javadoc for the threading contract.
   *
   * @throws IllegalStateException when the registry is closed
   */
  Watch watch(String serviceName, Listener listener);

  /**
   * Returns the current instances of {@code serviceName}, sorted by endpoint; empty when there are
   * none.
   *
   * @throws RegistryException when the backend could not be reached in time
   */
  List<ServiceInstance> lookup(String serviceName);

  /**
   * Withdraws every instance this registry registered, cancels every watch and releases resources.
   * Idempotent. Never throws: failures are logged.
   */
  @Override
  void close();

  /** Receives the snapshots of one watched service. */
  interface Listener {

    /** The full current list of the service's instances (immutable, sorted by endpoint). */
    void onUpdate(List<ServiceInstance> instances);

    /**
     * The backend failed; the watch keeps going and the last snapshot stays valid. The default
     * implementation does nothing.
     */
    default void onError(RegistryException error) {}
  }

  /** A running watch. */
  interface Watch extends AutoCloseable {

    /** Stops the watch. Idempotent. */
    void cancel();

    /** Same as {@link #cancel()}. */
    @Override
    default void close() {
      cancel();
    }
  }
}
