'use strict';

// A proxyless gRPC server: its listener, mTLS and RBAC (from MeshTrafficPermission) come from the zone over xDS.
//   fed-dp run --type proxyless ... -- node backend.js <instance> <ip:port>

// grpc-js-xds reads this switch when it is first loaded; without it the server ignores RBAC.
process.env.GRPC_XDS_EXPERIMENTAL_RBAC = 'true';

const grpc = require('@grpc/grpc-js');
const xds = require('@grpc/grpc-js-xds');
const { Echo, uriSans } = require('./echo');

const [instance, listen] = process.argv.slice(2);
if (!instance || !listen) {
  console.error('usage: node backend.js <instance> <ip:port>');
  process.exit(2);
}
xds.register();

const server = new xds.XdsServer();
server.addService(Echo.service, {
  Call(call, callback) {
    const callerSans = uriSans(call.getAuthContext().sslPeerCertificate);
    console.log(`${instance}: call from ${callerSans.join(', ') || 'a peer without a certificate'}`);
    callback(null, { instance, caller_uri_sans: callerSans, message: call.request.message });
  },
});
server.addServingStateListener(listen, (status) => {
  console.log(`${instance}: ${status.code === grpc.status.OK ? `serving on ${listen}` : `not serving: ${status.details}`}`);
});
server.bindAsync(listen, new xds.XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (error) => {
  if (error) console.error(`${instance}: ${error.message}`);
});

const stop = () => server.tryShutdown(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
