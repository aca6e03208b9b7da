"""Python grpcio client for KRPC's interoperability tests.

Usage: python_client.py TARGET STUB_DIR
Calls greeter.Greeter (unary and server streaming), grpc.health.v1.Health/Check and an unknown
method on TARGET, printing one KEY=VALUE line per result; the Java test checks them.
"""
import sys

target, stub_dir = sys.argv[1], sys.argv[2]
sys.path.insert(0, stub_dir)

import grpc  # noqa: E402
import greeter_pb2  # noqa: E402
import greeter_pb2_grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

TIMEOUT = 10

with grpc.insecure_channel(target) as channel:
    greeter = greeter_pb2_grpc.GreeterStub(channel)
    reply = greeter.SayHello(greeter_pb2.HelloRequest(name="python"), timeout=TIMEOUT)
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

print("grpcio=" + grpc.__version__)
