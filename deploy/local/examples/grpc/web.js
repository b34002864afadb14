'use strict';

// A proxyless gRPC client: calls xds:///<target> once a second and prints the outcome. Endpoints, mTLS and the
// server's identity check come from the zone over xDS.
//   fed-dp run --type proxyless ... -- node web.js <target>        e.g. backend.default.mesh

const grpc = require('@grpc/grpc-js');
const xds = require('@grpc/grpc-js-xds');
const { Echo } = require('./echo');

const [target, everyMs = '1000'] = process.argv.slice(2);
if (!target) {
  console.error('usage: node web.js <target> [interval-ms]');
  process.exit(2);
}
xds.register();

const client = new Echo(`xds:///${target}`, new xds.XdsChannelCredentials(grpc.credentials.createInsecure()));
const timer = setInterval(() => {
  client.Call({ message: 'hello' }, { deadline: Date.now() + 2000 }, (error, reply) => {
    const now = new Date().toISOString().slice(11, 19);
    if (error) console.log(`${now} ${grpc.status[error.code]}: ${error.details}`);
    else console.log(`${now} OK from ${reply.instance}; it saw me as ${reply.caller_uri_sans.join(', ')}`);
  });
}, Number(everyMs));

const stop = () => {
  clearInterval(timer);
  client.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
