'use strict';

// An xDS-enabled gRPC server (grpc-js-xds XdsServer) run by fed-dp: its listener, mTLS and RBAC come from the
// zone. Answers Echo.Call with its instance name and the caller's certificate URI SANs.
//   node backend.js <instance> <ip:port>

// grpc-js-xds reads its switches when it is first required; RBAC is off unless this is exactly "true".
process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';

const grpc = require('@grpc/grpc-js');
const xds = require('@grpc/grpc-js-xds');
const { echo, announce, startAdminServer, fetchClientStatus, uriSans, startControlServer } = require('./common');

const [instance, listen] = process.argv.slice(2);
if (!instance || !listen) {
  console.error('usage: node backend.js <instance> <ip:port>');
  process.exit(2);
}

xds.register();

async function main() {
  const admin = await startAdminServer();
  const server = new xds.XdsServer();
  let calls = 0;
  server.addService(echo.Echo.service, {
    Call(call, callback) {
      calls++;
      const peer = call.getAuthContext();
      callback(null, {
        instance,
        caller_uri_sans: uriSans(peer.sslPeerCertificate),
        transport_security: peer.transportSecurityType ?? '',
        message: call.request.message,
      });
    },
  });
  let serving = { code: -1, details: 'not bound yet' };
  server.bindAsync(listen, new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), () => {});
  server.addServingStateListener(listen, (status) => {
    serving = { code: status.code, details: status.details };
    announce({ event: 'serving', instance, code: status.code, details: status.details });
  });
  startControlServer({
    '/state': async () => ({ instance, serving, calls }),
    '/csds': async () => (await fetchClientStatus(admin.port)).map(({ raw, ...rest }) => rest),
  }, { instance, role: 'backend' });

  const stop = () => {
    server.tryShutdown(() => {
      admin.server.forceShutdown();
      process.exit(0);
    });
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => {
  console.error(`backend ${instance}: ${error?.stack ?? error}`);
  process.exit(1);
});
