'use strict';

const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const definition = protoLoader.loadSync(path.join(__dirname, 'echo.proto'), { keepCase: true });
const { demo } = grpc.loadPackageDefinition(definition);

// The URI SANs of a peer certificate (spiffe://<mesh>/<service>, kuma://<tag>/<value>).
function uriSans(certificate) {
  if (!certificate?.raw) return [];
  const alt = new crypto.X509Certificate(certificate.raw).subjectAltName ?? '';
  return alt.split(', ').filter((s) => s.startsWith('URI:')).map((s) => s.slice(4));
}

module.exports = { Echo: demo.Echo, uriSans };
