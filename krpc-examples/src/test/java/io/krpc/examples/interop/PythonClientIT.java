package io.krpc.examples.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.krpc.KServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Python grpcio client (Debian's python3-grpcio, run with /usr/bin/python3) calls a KServer:
 * greeter unary and server streaming, grpc.health.v1 Check, an unknown method. Stubs are generated
 * by the test from greeter.proto and the bundled health.proto with grpc_tools.protoc.
 */
class PythonClientIT {
  private static final String PYTHON = "/usr/bin/python3";
  private static final String INSTALL =
      "Install it with: apt-get install -y python3-grpcio python3-grpc-tools";

  @TempDir
  static Path stubs;
  private KServer server;

  @BeforeAll
  static void generateStubs() throws Exception {
    ExternalProcess.require("Python 3 with grpcio and grpc_tools at " + PYTHON, INSTALL,
        PYTHON, "-c", "import grpc, grpc_tools.protoc");
    Path resources = GreeterUnderTest.interopResources();
    ExternalProcess.copyResources(resources, stubs, List.of("health.proto", "python_client.py"));
    Path greeter = GreeterUnderTest.greeterProto();
    ExternalProcess.run(stubs, Map.of(), Duration.ofSeconds(60), PYTHON, "-m", "grpc_tools.protoc",
        "-I" + greeter.getParent(), "-I" + stubs, "--python_out=" + stubs,
        "--grpc_python_out=" + stubs, greeter.toString(), stubs.resolve("health.proto").toString());
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void pythonClientCallsGreeterAndHealth() throws Exception {
    server = GreeterUnderTest.start();
    ExternalProcess.Result result = ExternalProcess.run(stubs, Map.of("PYTHONDONTWRITEBYTECODE",
        "1"), Duration.ofSeconds(60), PYTHON, stubs.resolve("python_client.py").toString(),
        "127.0.0.1:" + server.port(), stubs.toString());
    Map<String, String> values = result.values();
    assertThat(values).as(result.toString())
        .containsEntry("unary", "Hello, python")
        .containsEntry("unary.server", "127.0.0.1:" + server.port())
        .containsEntry("stream",
            "Hello #1, python;Hello #2, python;Hello #3, python;Hello #4, python")
        .containsEntry("health[]", "SERVING")
        .containsEntry("health[greeter]", "SERVING")
        .containsEntry("health[greeter.Greeter]", "SERVING")
        .containsEntry("health[no.such.Service]", "NOT_FOUND")
        .containsEntry("unknown", "UNIMPLEMENTED")
        .containsKey("grpcio");
  }
}
