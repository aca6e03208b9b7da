// Node @grpc/grpc-js client for KRPC's interoperability tests.
// Usage: node client.js TARGET GREETER_PROTO HEALTH_PROTO [CA_FILE [CERT_FILE KEY_FILE]]
// Calls greeter.Greeter (unary and server streaming), grpc.health.v1.Health/Check and an unknown
// method on TARGET, printing one KEY=VALUE line per result; the Java test checks them. With
// CA_FILE the channel uses TLS trusting that CA (server name "localhost"); with CERT_FILE and
// KEY_FILE it also presents a client certificate (mutual TLS). A failing first call prints
// unary.error=CODE.
'use strict';
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const fs = require('fs');
const [target, greeterProto, healthProto, ...tlsFiles] = process.argv.slice(2);
const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const greeterPkg = grpc.loadPackageDefinition(protoLoader.loadSync(greeterProto, options));
const healthPkg = grpc.loadPackageDefinition(protoLoader.loadSync(healthProto, options));
const credentials = tlsFiles.length === 0
  ? grpc.credentials.createInsecure()
  : grpc.credentials.createSsl(fs.readFileSync(tlsFiles[0]),
    tlsFiles.length > 2 ? fs.readFileSync(tlsFiles[2]) : null,
    tlsFiles.length > 2 ? fs.readFileSync(tlsFiles[1]) : null);
const channelOptions = tlsFiles.length === 0 ? {} : { 'grpc.ssl_target_name_override': 'localhost' };
const deadline = () => new Date(Date.now() + 10000);

function unary(client, method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: deadline() }, (err, reply) => (err ? reject(err) : resolve(reply)));
  });
}

function codeName(err) {
  return Object.keys(grpc.status).find((k) => grpc.status[k] === err.code) || String(err.code);
}

async function main() {
  const greeter = new greeterPkg.greeter.Greeter(target, credentials, channelOptions);
  let reply;
  try {
    reply = await unary(greeter, 'SayHello', { name: 'node' });
  } catch (err) {
    console.log('unary.error=' + codeName(err));
    greeter.close();
    return;
  }
  console.log('unary=' + reply.message);
  console.log('unary.server=' + reply.server);

  const messages = await new Promise((resolve, reject) => {
    const got = [];
    const call = greeter.SayHelloStream({ name: 'node', count: 4 }, { deadline: deadline() });
    call.on('data', (r) => got.push(r.message));
    call.on('error', reject);
    call.on('end', () => resolve(got));
  });
  console.log('stream=' + messages.join(';'));

  const health = new healthPkg.grpc.health.v1.Health(target, credentials, channelOptions);
  for (const service of ['', 'greeter', 'greeter.Greeter']) {
    const status = await unary(health, 'Check', { service });
    console.log('health[' + service + ']=' + status.status);
  }
  try {
    await unary(health, 'Check', { service: 'no.such.Service' });
    console.log('health[no.such.Service]=OK');
  } catch (err) {
    console.log('health[no.such.Service]=' + codeName(err));
  }

  const raw = new grpc.Client(target, credentials, channelOptions);
  try {
    await new Promise((resolve, reject) => {
      raw.makeUnaryRequest('/greeter.Greeter/NoSuchMethod', (b) => b, (b) => b, Buffer.alloc(0),
        { deadline: deadline() }, (err, res) => (err ? reject(err) : resolve(res)));
    });
    console.log('unknown=OK');
  } catch (err) {
    console.log('unknown=' + codeName(err));
  }
  const huge = new grpc.Metadata();
  huge.set('x-huge', 'h'.repeat(16384));
  try {
    await new Promise((resolve, reject) => {
      greeter.SayHello({ name: 'huge' }, huge, { deadline: deadline() },
        (err, res) => (err ? reject(err) : resolve(res)));
    });
    console.log('huge_metadata=OK');
  } catch (err) {
    console.log('huge_metadata=' + codeName(err));
  }
  console.log('after_huge=' + (await unary(greeter, 'SayHello', { name: 'again' })).message);
  console.log('grpc-js=' + require('@grpc/grpc-js/package.json').version);
  greeter.close();
  health.close();
  raw.close();
}

main().catch((err) => {
  console.error('FAILED: ' + (err && err.stack ? err.stack : err));
  process.exit(1);
});
