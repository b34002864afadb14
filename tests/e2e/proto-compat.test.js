'use strict';

// Proves that protos/ (our own subset of Envoy's xDS API) is wire-compatible with Envoy's real
// definitions, as shipped inside @grpc/grpc-js-xds: every message, field, enum value and service
// method we define must exist in Envoy with the same full name, number, type, cardinality, oneof and
// file. Our own packages (federation.*) are checked for shape only.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');

const OUR_ROOT = path.resolve(__dirname, '../../protos');
const XDS_DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const ENVOY_INCLUDES = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(XDS_DEPS, d));

// Envoy's files import descriptor.proto (for annotations); protobufjs ships it but does not bundle it
// by default. @grpc/proto-loader registers it the same way.
protobuf.common('descriptor', require('protobufjs/google/protobuf/descriptor.json').nested.google.nested.protobuf.nested);

function listProtos(dir, rel = '') {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.posix.join(rel, e.name);
    if (e.isDirectory()) return listProtos(dir, r);
    return e.name.endsWith('.proto') ? [r] : [];
  });
}

function loadRoot(includes, files) {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (path.isAbsolute(target)) return target;
    for (const inc of includes) {
      const candidate = path.join(inc, target);
      if (fs.existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

// File of a reflection object, relative to whichever include directory holds it.
function relFile(obj, includes) {
  const file = path.resolve(obj.filename);
  for (const inc of includes) {
    const r = path.relative(inc, file);
    if (!r.startsWith('..')) return r.split(path.sep).join('/');
  }
  return file;
}

function walk(ns, visit) {
  for (const child of ns.nestedArray) {
    visit(child);
    if (child.nestedArray) walk(child, visit);
  }
}

function fieldType(f) {
  f.resolve();
  return f.resolvedType ? f.resolvedType.fullName : f.type;
}

function describeField(f) {
  const kind = f.map ? `map<${f.keyType}, ${fieldType(f)}>` : `${f.repeated ? 'repeated ' : ''}${fieldType(f)}`;
  return `${kind} ${f.name} = ${f.id}${f.partOf ? ` (oneof ${f.partOf.name})` : ''}`;
}

function compareType(ours, ref, out) {
  const name = ours.fullName.slice(1);
  for (const f of ours.fieldsArray) {
    const rf = ref.fields[f.name];
    if (!rf) {
      out.push(`${name}.${f.name}: Envoy has no such field (ours: ${describeField(f)})`);
      continue;
    }
    const mine = describeField(f);
    const theirs = describeField(rf);
    if (mine !== theirs) out.push(`${name}.${f.name}: ours \`${mine}\`, Envoy \`${theirs}\``);
  }
}

function compareEnum(ours, ref, out) {
  const name = ours.fullName.slice(1);
  for (const [value, number] of Object.entries(ours.values)) {
    if (!(value in ref.values)) out.push(`${name}.${value}: Envoy has no such value (ours: ${number})`);
    else if (ref.values[value] !== number) out.push(`${name}.${value}: ours ${number}, Envoy ${ref.values[value]}`);
  }
}

function describeMethod(m) {
  m.resolve();
  const req = `${m.requestStream ? 'stream ' : ''}${m.resolvedRequestType.fullName}`;
  const res = `${m.responseStream ? 'stream ' : ''}${m.resolvedResponseType.fullName}`;
  return `${m.name}(${req}) returns (${res})`;
}

function compareService(ours, ref, out) {
  const name = ours.fullName.slice(1);
  for (const m of ours.methodsArray) {
    const rm = ref.methods[m.name];
    if (!rm) out.push(`${name}.${m.name}: Envoy has no such method`);
    else if (describeMethod(m) !== describeMethod(rm)) {
      out.push(`${name}.${m.name}: ours \`${describeMethod(m)}\`, Envoy \`${describeMethod(rm)}\``);
    }
  }
}

const ourFiles = listProtos(OUR_ROOT).sort();
const comparedFiles = ourFiles.filter((f) => !f.startsWith('federation/'));
const ours = loadRoot([OUR_ROOT], ourFiles.map((f) => path.join(OUR_ROOT, f)));

// Every object we define, grouped by the file that defines it (the well-known types are not ours).
const byFile = new Map();
walk(ours, (obj) => {
  if (!(obj instanceof protobuf.Type || obj instanceof protobuf.Enum || obj instanceof protobuf.Service)) return;
  if (obj.fullName.startsWith('.google.protobuf.')) return;
  const file = relFile(obj, [OUR_ROOT]);
  if (!byFile.has(file)) byFile.set(file, []);
  byFile.get(file).push(obj);
});

test('protos/ is not empty and every file defines something', () => {
  assert.ok(comparedFiles.length >= 30, `expected our Envoy subset, found ${comparedFiles.length} files`);
  const empty = ourFiles.filter((f) => !byFile.has(f));
  assert.deepEqual(empty, [], 'files that define nothing');
});

let envoy;
test('Envoy reference protos load from @grpc/grpc-js-xds', () => {
  const missing = comparedFiles.filter((f) => !ENVOY_INCLUDES.some((inc) => fs.existsSync(path.join(inc, f))));
  assert.deepEqual(missing, [], 'our files with no Envoy file at the same path (the file split must match)');
  envoy = loadRoot(ENVOY_INCLUDES, comparedFiles);
});

for (const file of comparedFiles) {
  test(`${file} matches Envoy`, () => {
    assert.ok(envoy, 'Envoy reference protos did not load');
    const mismatches = [];
    for (const obj of byFile.get(file) ?? []) {
      const name = obj.fullName.slice(1);
      const ref = envoy.lookup(obj.fullName);
      if (!ref) {
        mismatches.push(`${name}: not defined by Envoy`);
        continue;
      }
      if (ref.constructor !== obj.constructor) {
        mismatches.push(`${name}: ours is a ${obj.constructor.name}, Envoy's a ${ref.constructor.name}`);
        continue;
      }
      const refFile = relFile(ref, ENVOY_INCLUDES);
      if (refFile !== file) mismatches.push(`${name}: Envoy defines it in ${refFile}`);
      if (obj instanceof protobuf.Type) compareType(obj, ref, mismatches);
      else if (obj instanceof protobuf.Enum) compareEnum(obj, ref, mismatches);
      else compareService(obj, ref, mismatches);
    }
    assert.equal(mismatches.length, 0, `${mismatches.length} mismatch(es) in ${file}:\n  ${mismatches.join('\n  ')}`);
  });
}

test('the comparison covers the resources we serve', () => {
  // Guards against a vacuous pass (e.g. a loader that silently finds nothing).
  const expected = [
    'envoy.service.discovery.v3.AggregatedDiscoveryService',
    'envoy.service.discovery.v3.DeltaDiscoveryRequest',
    'envoy.config.listener.v3.Listener',
    'envoy.config.route.v3.RouteConfiguration',
    'envoy.config.cluster.v3.Cluster',
    'envoy.config.endpoint.v3.ClusterLoadAssignment',
    'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    'envoy.config.rbac.v3.RBAC',
    'envoy.service.status.v3.ClientStatusDiscoveryService',
    'google.rpc.Status',
  ];
  const defined = new Set([...byFile.values()].flat().map((o) => o.fullName.slice(1)));
  assert.deepEqual(expected.filter((n) => !defined.has(n)), []);
  const fields = [...byFile.values()].flat().filter((o) => o instanceof protobuf.Type).reduce((n, t) => n + t.fieldsArray.length, 0);
  assert.ok(fields > 150, `only ${fields} fields defined`);
});

test('federation.kds.v1.KdsSync has the shape DESIGN.md section 6 fixes', () => {
  const svc = ours.lookupService('federation.kds.v1.KdsSync');
  const methods = svc.methodsArray.map(describeMethod).sort();
  assert.deepEqual(methods, [
    'GlobalToZone(stream .envoy.service.discovery.v3.DeltaDiscoveryRequest) returns (stream .envoy.service.discovery.v3.DeltaDiscoveryResponse)',
    'HealthCheck(.federation.kds.v1.ZoneHealthCheckRequest) returns (.federation.kds.v1.ZoneHealthCheckResponse)',
    'ZoneToGlobal(stream .envoy.service.discovery.v3.DeltaDiscoveryResponse) returns (stream .envoy.service.discovery.v3.DeltaDiscoveryRequest)',
  ]);
  const shape = (name) => ours.lookupType(name).fieldsArray.map(describeField);
  assert.deepEqual(shape('federation.kds.v1.ResourceMeta'), [
    'string type = 1',
    'string name = 2',
    'string mesh = 3',
    'map<string, string> labels = 4',
    '.google.protobuf.Timestamp creation_time = 5',
    '.google.protobuf.Timestamp modification_time = 6',
    'int64 version = 7',
  ]);
  assert.deepEqual(shape('federation.kds.v1.KdsResource'), [
    '.federation.kds.v1.ResourceMeta meta = 1',
    'bytes spec = 2',
    'bytes status = 3',
  ]);
  assert.deepEqual(shape('federation.kds.v1.ZoneHealthCheckRequest'), ['string zone = 1', 'string version = 2']);
  assert.deepEqual(shape('federation.kds.v1.ZoneHealthCheckResponse'), ['.google.protobuf.Duration interval = 1', 'int32 max_message_bytes = 2']);
});
