package io.krpc.examples.interop;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;

/**
 * A Node client on {@code @grpc/grpc-js} 1.14.7 (installed by the test with {@code npm ci} from the
 * bundled package-lock.json) calls a KServer: greeter unary and server streaming, grpc.health.v1
 * Check, an unknown method; in plaintext, TLS and mutual TLS. The install is kept in
 * target/interop-node, so reruns skip it.
 */
class NodeClientIT extends ForeignClientContract {
  private static final String INSTALL =
      "Install Node.js 20 with npm (Debian: apt-get install -y nodejs npm); the test runs npm itself.";
  private static final Path NODE_DIR = Path.of("target", "interop-node").toAbsolutePath();
  private static final List<String> FILES =
      List.of("package.json", "package-lock.json", "client.js", "trace_client.js");

  /** Where {@link #npmCi()} installs the clients. */
  static final Path DIR = NODE_DIR;

  @BeforeAll
  static void npmCi() throws Exception {
    ExternalProcess.require("Node.js", INSTALL, "node", "--version");
    ExternalProcess.require("npm", INSTALL, "npm", "--version");
    Path resources = GreeterUnderTest.interopResources().resolve("node");
    String lock = Files.readString(resources.resolve("package-lock.json"), StandardCharsets.UTF_8);
    Path stamp = NODE_DIR.resolve(".installed-lock");
    ExternalProcess.copyResources(resources, NODE_DIR, FILES);
    ExternalProcess.copyResources(
        GreeterUnderTest.interopResources(), NODE_DIR, List.of("health.proto"));
    boolean installed =
        Files.isDirectory(NODE_DIR.resolve("node_modules/@grpc/grpc-js"))
            && Files.isRegularFile(stamp)
            && Files.readString(stamp).equals(lock);
    if (!installed) {
      ExternalProcess.run(
          NODE_DIR,
          Map.of(
              "npm_config_cache",
              NODE_DIR.resolveSibling("npm-cache").toString(),
              "npm_config_update_notifier",
              "false"),
          Duration.ofMinutes(3),
          "npm",
          "ci",
          "--no-audit",
          "--no-fund");
      Files.writeString(stamp, lock, StandardCharsets.UTF_8);
    }
  }

  @Override
  String name() {
    return "node";
  }

  @Override
  ExternalProcess.Result runClient(String target, List<File> tlsFiles) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                "node",
                "client.js",
                target,
                GreeterUnderTest.greeterProto().toString(),
                NODE_DIR.resolve("health.proto").toString()));
    tlsFiles.forEach(file -> command.add(file.toString()));
    ExternalProcess.Result result =
        ExternalProcess.run(
            NODE_DIR, Map.of(), Duration.ofSeconds(60), command.toArray(new String[0]));
    if (!result.values().containsKey("unary.error")) {
      assertThat(result.values()).as(result.toString()).containsEntry("grpc-js", "1.14.7");
    }
    return result;
  }
}
