"""Python grpcio client for KRPC's interoperability tests.

Usage: python_client.py TARGET STUB_DIR [CA_FILE [CERT_FILE KEY_FILE]]
Calls greeter.Greeter (unary and server streaming), grpc.health.v1.Health/Check and an unknown
method on TARGET, printing one KEY=VALUE line per result; the Java test checks them. With CA_FILE
the channel uses TLS trusting that CA (server name "localhost"); with CERT_FILE and KEY_FILE it
also presents a client certificate (mutual TLS). A failing first call prints unary.error=CODE.
"""
import sys

target, stub_dir = sys.argv[1], sys.argv[2]
tls_files = sys.argv[3:]
sys.path.insert(0, stub_dir)

import grpc  # noqa: E402
import greeter_pb2  # noqa: E402
import greeter_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

TIMEOUT = 10


def read(path):
    with open(path, "rb") as f:
        return f.read()


def open_channel():
    if not tls_files:
        return grpc.insecure_channel(target)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=read(tls_files[0]),
        private_key=read(tls_files[2]) if len(tls_files) > 2 else None,
        certificate_chain=read(tls_files[1]) if len(tls_files) > 2 else None)
    return grpc.secure_channel(target, credentials,
                               options=[("grpc.ssl_target_name_override", "localhost")])


with open_channel() as channel:
    greeter = greeter_pb2_grpc.GreeterStub(channel)
    try:
        reply = greeter.SayHello(greeter_pb2.HelloRequest(name="python"), timeout=TIMEOUT)
    except grpc.RpcError as e:
        print("unary.error=" + e.code().name)
        sys.exit(0)
    print("unary=" + reply.message)
    print("unary.server=" + reply.server)

    stream = greeter.SayHelloStream(greeter_pb2.HelloRequest(name="python", count=4),
                                    timeout=TIMEOUT)
    print("stream=" + ";".join(r.message for r in stream))

    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "greeter", "greeter.Greeter"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT)
        print("health[" + service + "]="
              + health_pb2.HealthCheckResponse.ServingStatus.Name(status.status))
    try:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=TIMEOUT)
        print("health[no.such.Service]=OK")
    except grpc.RpcError as e:
        print("health[no.such.Service]=" + e.code().name)

    unknown = channel.unary_unary("/greeter.Greeter/NoSuchMethod")
    try:
        unknown(b"", timeout=TIMEOUT)
        print("unknown=OK")
    except grpc.RpcError as e:
        print("unknown=" + e.code().name)

    try:
        greeter.SayHello(greeter_pb2.HelloRequest(name="huge"), timeout=TIMEOUT,
                         metadata=[("x-huge", "h" * 16384)])
        print("huge_metadata=OK")
    except grpc.RpcError as e:
        print("huge_metadata=" + e.code().name)
    print("after_huge=" + greeter.SayHello(greeter_pb2.HelloRequest(name="again"),
                                           timeout=TIMEOUT).message)

print("grpcio=" + grpc.__version__)
