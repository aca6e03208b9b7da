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
 * <pre>{@code
 * // in the test class, on a field annotated with JUnit's RegisterExtension:
 * static final EtcdClusterExtension etcd = EtcdClusterExtension.builder().members(3).build();
 *
 * // in a test:
 * Client client = Client.builder().endpoints(etcd.endpoints().toArray(String[]::new)).build();
 * etcd.cluster().member(etcd.cluster().leaderIndex()).kill();
 * }</pre>
 *
 * <p>{@link Lifecycle#PER_CLASS} (the default) starts the cluster before the first test and stops
 * it after the last; register the extension on a {@code static} field. {@link Lifecycle#PER_TEST}
 * gives each test a fresh cluster.
 *
 * <p>etcd runs from the etcd binary ({@link Builder#binary}, {@code KRPC_ETCD_BINARY}, else {@code
 * etcd} on the PATH). When there is none, one etcd container is started through Testcontainers
 * instead, if {@code org.testcontainers:testcontainers} is on the test class path and a Docker
 * engine answers: {@link #endpoints()} work the same, while {@link #cluster()} (member control:
 * kill, pause, restart) needs the binary. When neither exists the tests fail (never skip) with a
 * message that says how to install etcd.
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
  private final String containerImage;
  private volatile @Nullable EtcdCluster cluster;

  /** The container fallback's etcd (an {@code EtcdContainer}), when it runs. */
  private volatile @Nullable AutoCloseable container;

  private volatile @Nullable List<String> containerEndpoints;

  private EtcdClusterExtension(Builder builder) {
    this.clusterBuilder = builder.cluster;
    this.lifecycle = builder.lifecycle;
    this.containerImage = builder.containerImage;
  }

  /** Starts a builder: one member, {@link Lifecycle#PER_CLASS}. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The running cluster; fails outside a test, and when etcd runs in the container fallback (member
   * control needs the etcd binary).
   */
  public EtcdCluster cluster() {
    EtcdCluster current = cluster;
    if (current == null) {
      if (containerEndpoints != null) {
        throw new IllegalStateException(
            "etcd runs in a Testcontainers container (no etcd binary "
                + "was found): endpoints() work, member control (kill, pause, restart) needs the etcd "
                + "binary on the PATH or in "
                + EtcdCluster.BINARY_ENV);
      }
      throw new IllegalStateException("etcd is not running: use the extension from a test");
    }
    return current;
  }

  /** Whether etcd runs in the Testcontainers fallback rather than from the etcd binary. */
  public boolean usesContainer() {
    return containerEndpoints != null;
  }

  /** The client URLs of the running etcd, from the binary or the container. */
  public List<String> endpoints() {
    List<String> fromContainer = containerEndpoints;
    return fromContainer != null ? fromContainer : cluster().endpoints();
  }

  /** The client URLs joined by commas. */
  public String endpointsString() {
    return String.join(",", endpoints());
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
    if (cluster != null || container != null) {
      return;
    }
    EtcdBackend.Kind kind =
        EtcdBackend.choose(
            clusterBuilder::findBinary,
            clusterBuilder.binaryNamed(),
            EtcdBackend::dockerAnswers,
            clusterBuilder.memberCount());
    if (kind == EtcdBackend.Kind.BINARY) {
      cluster = clusterBuilder.start();
    } else {
      EtcdContainer started =
          EtcdContainer.start(containerImage, clusterBuilder.startTimeoutValue());
      container = started;
      containerEndpoints = started.endpoints();
    }
  }

  private synchronized void stop() {
    if (cluster != null) {
      cluster.close();
      cluster = null;
    }
    if (container != null) {
      try {
        container.close();
      } catch (Exception e) {
        throw new IllegalStateException("cannot stop the etcd container", e);
      } finally {
        container = null;
        containerEndpoints = null;
      }
    }
  }

  /** Builder of {@link EtcdClusterExtension}. */
  public static final class Builder {
    private final EtcdCluster.Builder cluster = EtcdCluster.builder();
    private Lifecycle lifecycle = Lifecycle.PER_CLASS;
    private String containerImage = EtcdBackend.DEFAULT_IMAGE;

    private Builder() {}

    /**
     * The image of the container fallback (used only when no etcd binary is found); default {@code
     * quay.io/coreos/etcd:v3.5.17}.
     */
    public Builder containerImage(String image) {
      requireNonNull(image, "containerImage: null (expected: not null)");
      if (image.isBlank()) {
        throw new IllegalArgumentException(
            "containerImage: '"
                + image
                + "' (expected: an image name such as quay.io/coreos/etcd:v3.5.17)");
      }
      this.containerImage = image;
      return this;
    }

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
      this.lifecycle = requireNonNull(lifecycle, "lifecycle: null (expected: not null)");
      return this;
    }

    /** Builds the extension; the cluster starts when the tests start. */
    public EtcdClusterExtension build() {
      return new EtcdClusterExtension(this);
    }
  }
}
