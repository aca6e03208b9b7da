package io.krpc.examples.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.KServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A Node client on {@code @grpc/grpc-js} (installed by the test with {@code npm ci} from the
 * bundled package-lock.json) calls a KServer: greeter unary and server streaming, grpc.health.v1
 * Check, an unknown method. The install is kept in target/interop-node, so reruns skip it.
 */
class NodeClientIT {
  private static final String INSTALL =
      "Install Node.js 20 with npm (Debian: apt-get install -y nodejs npm); the test runs npm itself.";
  private static final Path NODE_DIR = Path.of("target", "interop-node").toAbsolutePath();
  private static final List<String> FILES = List.of("package.json", "package-lock.json",
      "client.js");

  private KServer server;

  @BeforeAll
  static void npmCi() throws Exception {
    ExternalProcess.require("Node.js", INSTALL, "node", "--version");
    ExternalProcess.require("npm", INSTALL, "npm", "--version");
    Path resources = GreeterUnderTest.interopResources().resolve("node");
    String lock = Files.readString(resources.resolve("package-lock.json"), StandardCharsets.UTF_8);
    Path stamp = NODE_DIR.resolve(".installed-lock");
    ExternalProcess.copyResources(resources, NODE_DIR, FILES);
    ExternalProcess.copyResources(GreeterUnderTest.interopResources(), NODE_DIR,
        List.of("health.proto"));
    boolean installed = Files.isDirectory(NODE_DIR.resolve("node_modules/@grpc/grpc-js"))
        && Files.isRegularFile(stamp) && Files.readString(stamp).equals(lock);
    if (!installed) {
      ExternalProcess.run(NODE_DIR, Map.of("npm_config_cache",
          NODE_DIR.resolveSibling("npm-cache").toString(), "npm_config_update_notifier", "false"),
          Duration.ofMinutes(3), "npm", "ci", "--no-audit", "--no-fund");
      Files.writeString(stamp, lock, StandardCharsets.UTF_8);
    }
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void nodeClientCallsGreeterAndHealth() throws Exception {
    server = GreeterUnderTest.start();
    ExternalProcess.Result result = ExternalProcess.run(NODE_DIR, Map.of(), Duration.ofSeconds(60),
        "node", "client.js", "127.0.0.1:" + server.port(),
        GreeterUnderTest.greeterProto().toString(), NODE_DIR.resolve("health.proto").toString());
    Map<String, String> values = result.values();
    assertThat(values).as(result.toString())
        .containsEntry("unary", "Hello, node")
        .containsEntry("unary.server", "127.0.0.1:" + server.port())
        .containsEntry("stream", "Hello #1, node;Hello #2, node;Hello #3, node;Hello #4, node")
        .containsEntry("health[]", "SERVING")
        .containsEntry("health[greeter]", "SERVING")
        .containsEntry("health[greeter.Greeter]", "SERVING")
        .containsEntry("health[no.such.Service]", "NOT_FOUND")
        .containsEntry("unknown", "UNIMPLEMENTED")
        .containsEntry("grpc-js", "1.14.7");
  }
}
