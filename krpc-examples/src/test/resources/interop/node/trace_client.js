// Node client for KRPC's cross-language trace test: starts an OpenTelemetry span with the
// OpenTelemetry JS SDK, injects it into the call's metadata with OpenTelemetry's own W3C
// propagator (the `traceparent` header), and calls greeter.Greeter/SayHello on TARGET.
// Usage: node trace_client.js TARGET GREETER_PROTO
// Prints trace_id=, span_id=, traceparent= and reply= lines; the Java test compares them with the
// span the KServer recorded.
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { context, propagation, trace } = require('@opentelemetry/api');
const { W3CTraceContextPropagator } = require('@opentelemetry/core');
const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');

const [target, greeterProto] = process.argv.slice(2);
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const tracer = new BasicTracerProvider().getTracer('krpc-interop-node');
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const greeterPkg = grpc.loadPackageDefinition(protoLoader.loadSync(greeterProto, options));

const span = tracer.startSpan('node-checkout');
const spanContext = span.spanContext();
const metadata = new grpc.Metadata();
propagation.inject(trace.setSpan(context.active(), span), metadata, {
  set: (carrier, key, value) => carrier.set(key, value),
});
console.log('trace_id=' + spanContext.traceId);
console.log('span_id=' + spanContext.spanId);
console.log('traceparent=' + metadata.get('traceparent')[0]);

const greeter = new greeterPkg.greeter.Greeter(target, grpc.credentials.createInsecure());
greeter.SayHello({ name: 'node-traced' }, metadata, { deadline: new Date(Date.now() + 10000) },
  (err, reply) => {
    span.end();
    if (err) {
      console.log('error=' + err.code + ' ' + err.details);
    } else {
      console.log('reply=' + reply.message);
    }
    greeter.close();
  });
