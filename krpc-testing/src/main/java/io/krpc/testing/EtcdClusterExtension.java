package io.krpc.testing;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension that runs a real etcd ({@link EtcdCluster}) for a test class or for each test.
 *
 * <p>{@code
 * // in the test class, on a field annotated with JUnit's RegisterExtension:
 * static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).build();
 *
 * // in a test:
 * Client client = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build();
 * etcd.cluster().member(etcd.cluster().leaderIndex()).kill();
 * }
 *
 * <p>{@link Lifecycle#PER_CLASS} (the default) starts the cluster before the first test and stops
 * it after the last; register the extension on a {@code static} field. {@link Lifecycle#PER_TEST}
 * gives each test a fresh cluster. Without an etcd binary the tests fail (never skip) with a
 * message that says how to install one.
 */
public final class EtcdClusterExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

  /** When the cluster starts and stops. */
  public enum Lifecycle {
    /** One cluster for all tests of the class. */
    PER_CLASS,
    /** A fresh cluster for each test. */
    PER_TEST
  }

  private final EtcdCluster.Builder clusterBuilder;
  private final Lifecycle lifecycle;
  private volatile @Nullable EtcdCluster cluster;

  private EtcdClusterExtension(Builder builder) {
    this.clusterBuilder = builder.cluster;
    this.lifecycle = builder.lifecycle;
  }

  /** Starts a builder: one member, {@link Lifecycle#PER_CLASS}. */
  public static Builder builder() {
    return new Builder();
  }

  /** The running cluster; fails outside a test. */
  public EtcdCluster cluster() {
    EtcdCluster current = cluster;
    if (current == null) {
      throw new IllegalStateException("etcd is not running: use the extension from a test");
    }
    return current;
  }

  /** Shortcut for {@code cluster().endpoints()}. */
  public List<String> endpoints() {
    return cluster().endpoints();
  }

  /** Shortcut for {@code cluster().endpointsString()}. */
  public String endpointsString() {
    return cluster().endpointsString();
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (lifecycle == Lifecycle.PER_CLASS) {
      startIfNeeded();
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    // also covers PER_CLASS on an instance field, where beforeAll is never called
    startIfNeeded();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (lifecycle == Lifecycle.PER_TEST) {
      stop();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stop();
  }

  private synchronized void startIfNeeded() {
    if (cluster == null) {
      cluster = clusterBuilder.start();
    }
  }

  private synchronized void stop() {
    if (cluster != null) {
      cluster.close();
      cluster = null;
    }
  }

  /** Builder of {@link EtcdClusterExtension}. */
  public static final class Builder {
    private final EtcdCluster.Builder cluster = EtcdCluster.builder();
    private Lifecycle lifecycle = Lifecycle.PER_CLASS;

    private Builder() {}

    /** Number of members: 1 or 3; default 1. */
    public Builder members(int members) {
      cluster.members(members);
      return this;
    }

    /** The etcd binary; default {@code KRPC_ETCD_BINARY}, else {@code etcd} on the PATH. */
    public Builder binary(Path binary) {
      cluster.binary(binary);
      return this;
    }

    /** How long to wait for a healthy cluster; default 30 s. */
    public Builder startTimeout(Duration startTimeout) {
      cluster.startTimeout(startTimeout);
      return this;
    }

    /** When the cluster starts and stops; default {@link Lifecycle#PER_CLASS}. */
    public Builder lifecycle(Lifecycle lifecycle) {
      this.lifecycle = requireNonNull(lifecycle, "lifecycle");
      return this;
    }

    /** Builds the extension; the cluster starts when the tests start. */
    public EtcdClusterExtension build() {
      return new EtcdClusterExtension(this);
    }
  }
}
