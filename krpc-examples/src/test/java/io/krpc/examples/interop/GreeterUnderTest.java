package io.krpc.examples.interop;

import io.krpc.KServer;
import io.krpc.examples.GreeterService;
import io.krpc.tls.ServerTls;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/** The KRPC greeter server the clients of other languages call, and paths the tests share. */
final class GreeterUnderTest {
  private GreeterUnderTest() {}

  /** Starts a greeter named "greeter" on 127.0.0.1 and a free port, health and reflection on. */
  static KServer start() {
    return start(KServer.builder());
  }

  /** Like {@link #start()}, over TLS (mutual TLS when {@code tls} asks for client auth). */
  static KServer start(ServerTls tls) {
    return start(KServer.builder().tls(tls));
  }

  private static KServer start(KServer.Builder builder) {
    AtomicReference<KServer> self = new AtomicReference<>();
    KServer server =
        builder
            .serviceName("greeter")
            .host("127.0.0.1")
            .port(0)
            .deregisterDelay(Duration.ZERO)
            .shutdownGracePeriod(Duration.ofSeconds(5))
            .addService(new GreeterService(() -> "127.0.0.1:" + self.get().port()))
            .start();
    self.set(server);
    return server;
  }

  /** {@code greeter.proto}, as the module compiles it. */
  static Path greeterProto() {
    return Path.of("src", "main", "protobuf", "greeter.proto").toAbsolutePath();
  }

  /** The {@code interop} test-resource directory on the test class path. */
  static Path interopResources() {
    try {
      return Path.of(GreeterUnderTest.class.getResource("/interop/health.proto").toURI())
          .getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
