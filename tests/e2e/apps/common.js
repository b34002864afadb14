'use strict';

// What the end-to-end apps share: the Echo service definition, the line that tells the test where the app's
// control endpoint is, the control endpoint itself (plain HTTP on loopback), and the CSDS self-check.

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const LOAD_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

const echo = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(__dirname, 'echo.proto'), LOAD_OPTIONS)).federation.e2e;

// The CSDS service definition grpc-js-xds itself serves (same files, same include directories).
const XDS_DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const csds = grpc.loadPackageDefinition(protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
  ...LOAD_OPTIONS,
  includeDirs: ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'].map((d) => path.join(XDS_DEPS, d)),
})).envoy.service.status.v3;

// ClusterLoadAssignment, to show which endpoints the xDS client holds (CSDS carries the raw resource).
let clusterLoadAssignment;
function decodeClusterLoadAssignment(bytes) {
  if (!clusterLoadAssignment) {
    const includeDirs = ['envoy-api', 'xds', 'protoc-gen-validate', 'googleapis'].map((d) => path.join(XDS_DEPS, d));
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => includeDirs.map((d) => path.join(d, target)).find((f) => fs.existsSync(f)) ?? target;
    root.loadSync('envoy/config/endpoint/v3/endpoint.proto', { keepCase: true });
    clusterLoadAssignment = root.lookupType('envoy.config.endpoint.v3.ClusterLoadAssignment');
  }
  return clusterLoadAssignment.toObject(clusterLoadAssignment.decode(bytes), { enums: String, longs: Number, defaults: true });
}

// The test reads fed-dp's standard output (the app inherits it) for lines starting with this marker.
const MARKER = 'E2E ';

function announce(event) {
  process.stdout.write(`${MARKER}${JSON.stringify({ pid: process.pid, ...event })}\n`);
}

// A plain gRPC server on loopback with the admin services (CSDS among them); the app asks it about itself.
function startAdminServer() {
  const server = new grpc.Server();
  grpc.addAdminServicesToServer(server);
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
      if (error) reject(error);
      else resolve({ server, port });
    });
  });
}

// Every resource this process's xDS client holds, one entry each: type, name, ACKED/NACKED/..., NACK reason.
function fetchClientStatus(adminPort) {
  const client = new csds.ClientStatusDiscoveryService(`127.0.0.1:${adminPort}`, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.FetchClientStatus({}, { deadline: Date.now() + 5000 }, (error, response) => {
      client.close();
      if (error) {
        reject(error);
        return;
      }
      resolve(response.config.flatMap((config) => config.generic_xds_configs.map((c) => ({
        node: config.node?.id ?? null,
        type: c.type_url,
        name: c.name,
        status: c.client_status,
        version: c.version_info,
        error: c.error_state ? c.error_state.details : null,
        raw: c.xds_config?.value ?? null,
      }))));
    });
  });
}

// The URI SANs of a TLS peer certificate ("URI:a, URI:b, DNS:c" in Node's notation).
function uriSans(certificate) {
  const text = certificate?.subjectaltname ?? '';
  return text.split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

// Serves GET <path>?<query> → JSON from routes[path](query); announces {event:'control', port} when listening.
function startControlServer(routes, extra = {}) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://control');
    const route = routes[url.pathname];
    let status = 200;
    let body;
    try {
      if (!route) {
        status = 404;
        body = { error: `no route ${url.pathname}` };
      } else {
        body = await route(url.searchParams);
      }
    } catch (error) {
      status = 500;
      body = { error: String(error?.stack ?? error) };
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1', () => announce({ event: 'control', port: server.address().port, ...extra }));
  return server;
}

// The endpoints of every ClusterLoadAssignment the xDS client holds: address:port, locality zone, priority, weights.
async function fetchEndpoints(adminPort) {
  const status = await fetchClientStatus(adminPort);
  return status.filter((s) => s.type.endsWith('ClusterLoadAssignment') && s.raw).map((s) => {
    const cla = decodeClusterLoadAssignment(s.raw);
    return {
      cluster: s.name,
      endpoints: cla.endpoints.flatMap((locality) => locality.lb_endpoints.map((lb) => ({
        address: `${lb.endpoint.address.socket_address.address}:${lb.endpoint.address.socket_address.port_value}`,
        zone: locality.locality?.zone ?? '',
        subZone: locality.locality?.sub_zone ?? '',
        priority: locality.priority,
        localityWeight: locality.load_balancing_weight?.value ?? null,
        weight: lb.load_balancing_weight?.value ?? null,
        health: lb.health_status,
      }))),
    };
  });
}

module.exports = { echo, announce, startAdminServer, fetchClientStatus, fetchEndpoints, uriSans, startControlServer };
