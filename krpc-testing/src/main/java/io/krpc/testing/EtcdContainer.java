package io.krpc.testing;

import java.time.Duration;
import java.util.List;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * One etcd in a container, through Testcontainers: the fallback of {@link EtcdClusterExtension}
 * when no etcd binary is installed. Only loaded when Testcontainers is on the class path.
 */
final class EtcdContainer implements AutoCloseable {
  private static final int CLIENT_PORT = 2379;

  private final GenericContainer<?> container;

  private EtcdContainer(GenericContainer<?> container) {
    this.container = container;
  }

  static boolean dockerAvailable() {
    return DockerClientFactory.instance().isDockerAvailable();
  }

  /** Starts the image and returns once etcd reports healthy. */
  @SuppressWarnings("resource") // closed by close()
  static EtcdContainer start(String image, Duration startTimeout) {
    GenericContainer<?> container =
        new GenericContainer<>(DockerImageName.parse(image))
            .withExposedPorts(CLIENT_PORT)
            .withCommand(
                "etcd",
                "--name",
                "single",
                "--data-dir",
                "/tmp/etcd-data",
                "--listen-client-urls",
                "http://0.0.0.0:" + CLIENT_PORT,
                "--advertise-client-urls",
                "http://127.0.0.1:" + CLIENT_PORT)
            .waitingFor(
                Wait.forHttp("/health")
                    .forPort(CLIENT_PORT)
                    .forStatusCode(200)
                    .withStartupTimeout(startTimeout));
    container.start();
    return new EtcdContainer(container);
  }

  /** The client URL, {@code http://host:mappedPort}. */
  List<String> endpoints() {
    return List.of("http://" + container.getHost() + ":" + container.getMappedPort(CLIENT_PORT));
  }

  @Override
  public void close() {
    container.stop();
  }
}
