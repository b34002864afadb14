'use strict';

// A proxyless gRPC client (grpc-js-xds) run by fed-dp: dials xds:///<target> with XdsChannelCredentials, so
// endpoints, mTLS and the server SAN check come from the zone. The test drives it through its control endpoint:
//   GET /call?n=10  → the outcome of n sequential calls
//   GET /csds       → every resource its xDS client holds, with ACKED/NACKED
//   GET /eds        → the endpoints of the ClusterLoadAssignments it holds (address, locality zone, priority)
//   node web.js <instance> <target>       e.g. web-1 backend.default.mesh

const grpc = require('@grpc/grpc-js');
const xds = require('@grpc/grpc-js-xds');
const { echo, startAdminServer, fetchClientStatus, fetchEndpoints, startControlServer } = require('./common');

const [instance, target] = process.argv.slice(2);
if (!instance || !target) {
  console.error('usage: node web.js <instance> <target>');
  process.exit(2);
}

xds.register();

function callOnce(client, timeoutMs) {
  return new Promise((resolve) => {
    client.Call({ message: instance }, { deadline: Date.now() + timeoutMs }, (error, reply) => {
      if (error) resolve({ ok: false, code: error.code, status: grpc.status[error.code], details: error.details });
      else resolve({ ok: true, instance: reply.instance, callerUriSans: reply.caller_uri_sans, transportSecurity: reply.transport_security });
    });
  });
}

async function main() {
  const admin = await startAdminServer();
  const client = new echo.Echo(`xds:///${target}`, new xds.XdsChannelCredentials(grpc.credentials.createInsecure()));
  startControlServer({
    '/call': async (query) => {
      const n = Math.min(Number(query.get('n') ?? 1), 100);
      const timeoutMs = Number(query.get('timeoutMs') ?? 3000);
      const results = [];
      for (let i = 0; i < n; i++) results.push(await callOnce(client, timeoutMs));
      return results;
    },
    '/csds': async () => (await fetchClientStatus(admin.port)).map(({ raw, ...rest }) => rest),
    '/eds': async () => fetchEndpoints(admin.port),
  }, { instance, role: 'client' });

  const stop = () => {
    client.close();
    admin.server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => {
  console.error(`web ${instance}: ${error?.stack ?? error}`);
  process.exit(1);
});
