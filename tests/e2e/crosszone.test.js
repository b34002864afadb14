'use strict';

// Cross-zone traffic end to end (issue 5, steps 3-8): a real global and two zones, an ingress in each zone and an
// egress in zone-1 (fed-dp run --type ingress|egress), `backend` (grpc-js-xds XdsServer) only in zone-2 and `web`
// (client of xds:///backend.default.mesh, so its SNI is backend.default.mesh) in zone-1. The zone proxies splice
// TLS without terminating it: the backend sees web's own certificate (SPIFFE and kuma.io/zone SANs). Which way the
// bytes went is read from the proxies' /stats and from the endpoints web's xDS client holds.

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { Federation, getJson, freePort } = require('./lib/federation');
const { waitFor } = require('./lib/wait');
const { stepsOn } = require('./lib/steps');

const HEALTH_TIMEOUT_S = 2;

const mesh = ({ zoneEgress = false, localityAware = false } = {}) => `type: Mesh
name: default
mtls:
  enabledBackend: ca-1
  backends:
  - name: ca-1
    type: builtin
routing:
  zoneEgress: ${zoneEgress}
  localityAwareLoadBalancing: ${localityAware}
`;

const permission = (zone) => `type: MeshTrafficPermission
mesh: default
name: backend-from-zone
spec:
  targetRef: {kind: MeshService, name: backend}
  from:
  - targetRef: {kind: MeshSubset, tags: {kuma.io/zone: ${zone}}}
    default: {action: Allow}
`;

const BATCH = 10;
const CONVERGE_MS = 20000;

let fed;
const apps = {};
let zone1;
let zone2;

function startBackend(name, zone) {
  return (async () => {
    const port = apps[name]?.port ?? (await freePort());
    apps[name] = await fed.startProxyless({
      name, service: 'backend', port, app: 'backend.js', appArgs: [name, `127.0.0.1:${port}`], zone,
    });
    await apps[name].process.waitForEvent('its XdsServer to serve (Listener from the zone accepted)', (e) => e.event === 'serving' && e.code === 0, 30000);
    return apps[name];
  })();
}

function callBackend(n = BATCH) {
  return getJson(`${apps['web-1'].control}/call?n=${n}&timeoutMs=2000`);
}

// What web's xDS client holds for backend: [{address, zone, subZone, priority, ...}].
async function webEndpoints() {
  const clusters = await getJson(`${apps['web-1'].control}/eds`);
  return clusters.filter((c) => c.cluster.includes('backend')).flatMap((c) => c.endpoints);
}

function summarize(results) {
  const counts = {};
  for (const r of results) {
    const key = r.ok ? `ok:${r.instance}` : `${r.status}:${r.details}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function waitForCalls(what, accept, timeoutMs = CONVERGE_MS) {
  const { value, elapsedMs } = await waitFor(what, async () => {
    const results = await callBackend();
    return { ok: accept(results), value: results, state: summarize(results) };
  }, { timeoutMs, intervalMs: 100 });
  return { results: value, elapsedMs };
}

const allOk = (results) => results.every((r) => r.ok);
const allOn = (instance) => (results) => results.every((r) => r.ok && r.instance === instance);
const allDenied = (results) => results.every((r) => !r.ok && r.status === 'PERMISSION_DENIED');
const ingressAddress = (name) => `127.0.0.1:${fed.zoneProxies.get(name).port}`;

// The counters of one cluster of a zone proxy, zero when it has seen none.
async function clusterStats(proxy, cluster = 'backend.default') {
  const stats = await fed.zoneProxyStats(proxy);
  return { connections: 0, bytesDownstreamToUpstream: 0, bytesUpstreamToDownstream: 0, ...(stats.clusters[cluster] ?? {}), closed: stats.connections.closed };
}

function dig(port, name) {
  return new Promise((resolve, reject) => {
    execFile('dig', ['@127.0.0.1', '-p', String(port), name, 'A', '+short', '+time=2', '+tries=2'], { timeout: 10000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`dig @127.0.0.1 -p ${port} ${name}: ${stderr.trim() || error.message}`));
      else resolve(stdout.trim().split('\n').filter(Boolean));
    });
  });
}

async function setUp() {
  fed = await Federation.start({ zones: ['zone-1', 'zone-2'], zoneArgs: ['--ingress-health-timeout', String(HEALTH_TIMEOUT_S)] });
  zone1 = fed.zones.get('zone-1');
  zone2 = fed.zones.get('zone-2');
  await fed.applyOnGlobal('mesh', mesh());
  for (const name of ['backend-z2', 'backend-z1', 'web-1']) await fed.dataplaneToken(name);
  for (const zone of [zone1, zone2]) {
    await waitFor(`mesh default, its CA and its dataplane-token key to reach ${zone.name}`, async () => {
      const secrets = (await fed.zoneJson('/meshes/default/secrets', zone)).items.map((i) => i.name);
      return { ok: secrets.some((n) => n.startsWith('dataplane-token-signing-public-key-')) && secrets.some((n) => n.includes('ca-1')), state: secrets };
    });
  }
  await Promise.all([
    fed.startZoneProxy({ type: 'ingress', name: 'ingress-1', zone: zone1 }),
    fed.startZoneProxy({ type: 'ingress', name: 'ingress-2', zone: zone2 }),
    startBackend('backend-z2', zone2),
  ]);
  apps['web-1'] = await fed.startProxyless({
    name: 'web-1', service: 'web', port: await freePort(), app: 'web.js', appArgs: ['web-1', 'backend.default.mesh'], zone: zone1,
  });
}

const step = stepsOn({ setUp, federation: () => fed, timeoutMs: 90000 });

step('(3) web in zone-1 reaches backend in zone-2 through zone-2\'s ingress, over end-to-end mTLS', async (t) => {
  // zone-2's ingress advertises backend; the global relays it; zone-1 points web's EDS at the ingress.
  const relayed = await waitFor('zone-1 to learn that ingress-2 serves backend', async () => {
    const ingresses = (await fed.zoneJson('/zoneingresses', zone1)).items;
    const remote = ingresses.find((i) => (i.labels?.['kuma.io/display-name'] ?? i.name) === 'ingress-2');
    const backend = remote?.availableServices?.find((s) => s.tags['kuma.io/service'] === 'backend');
    return { ok: backend?.instances === 1 && backend.tags['kuma.io/zone'] === 'zone-2', state: ingresses };
  }, { timeoutMs: CONVERGE_MS });
  t.diagnostic(`zone-1 holds ingress-2's availableServices after ${relayed.elapsedMs} ms`);
  // No permission yet: the calls cross to zone-2 and are denied by backend's RBAC (mTLS on, default deny).
  const denied = await waitForCalls('calls from web to reach backend in zone-2 and be denied (no permission yet)', allDenied);
  t.diagnostic(`denied by backend after ${denied.elapsedMs} ms: ${JSON.stringify(summarize(denied.results))}`);
  const endpoints = await webEndpoints();
  t.diagnostic(`web's endpoints: ${JSON.stringify(endpoints)}`);
  assert.deepEqual(endpoints.map((e) => [e.address, e.zone, e.priority]), [[ingressAddress('ingress-2'), 'zone-2', 0]], 'web dials zone-2\'s ingress');

  const before = await clusterStats('ingress-2');
  await fed.applyOnGlobal('mtp', permission('zone-1'));
  const { results, elapsedMs } = await waitForCalls('calls from web to succeed on backend-z2 once zone-1 is allowed', allOn('backend-z2'));
  t.diagnostic(`allowed after ${elapsedMs} ms: ${JSON.stringify(summarize(results))}`);
  for (const r of results) {
    assert.equal(r.transportSecurity, 'ssl', 'the backend saw a TLS peer');
    assert.ok(r.callerUriSans.includes('spiffe://default/web'), `caller SANs ${r.callerUriSans}`);
    assert.ok(r.callerUriSans.includes('kuma://kuma.io/zone/zone-1'), `caller SANs ${r.callerUriSans}`);
  }

  const after = await clusterStats('ingress-2');
  t.diagnostic(`ingress-2 backend.default: ${JSON.stringify(after)}`);
  assert.ok(after.connections >= 1, 'ingress-2 forwarded a connection to backend.default');
  assert.ok(after.bytesDownstreamToUpstream > before.bytesDownstreamToUpstream && after.bytesUpstreamToDownstream > before.bytesUpstreamToDownstream,
    `bytes through ingress-2 both ways: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`);
  const ingress1 = await fed.zoneProxyStats('ingress-1');
  assert.equal(ingress1.connections.accepted, 0, 'nothing went through zone-1\'s own ingress');
});

step('(4) the MeshTrafficPermission from kuma.io/zone: zone-3 denies web (PERMISSION_DENIED); zone-1 allows it again', async (t) => {
  await fed.applyOnGlobal('mtp', permission('zone-3'));
  const denied = await waitForCalls('calls to be denied once only zone-3 is allowed', allDenied);
  t.diagnostic(`denied after ${denied.elapsedMs} ms: ${JSON.stringify(summarize(denied.results))}`);
  await fed.applyOnGlobal('mtp', permission('zone-1'));
  const allowed = await waitForCalls('calls to succeed again once zone-1 is allowed', allOn('backend-z2'));
  t.diagnostic(`allowed again after ${allowed.elapsedMs} ms`);
});

step('(5) with routing.zoneEgress the call goes web → zone-1 egress → zone-2 ingress → backend', async (t) => {
  await fed.startZoneProxy({ type: 'egress', name: 'egress-1', zone: zone1 });
  const direct = { egress: await clusterStats('egress-1'), ingress: await clusterStats('ingress-2') };
  await fed.applyOnGlobal('mesh', mesh({ zoneEgress: true }));
  const egress = `127.0.0.1:${fed.zoneProxies.get('egress-1').port}`;
  const eds = await waitFor('web\'s EDS for backend to be zone-1\'s egress', async () => {
    const endpoints = await webEndpoints();
    return { ok: endpoints.length === 1 && endpoints[0].address === egress, state: endpoints };
  });
  t.diagnostic(`web's endpoints ${eds.elapsedMs} ms after the mesh change: ${JSON.stringify(await webEndpoints())}`);
  await waitFor('egress-1 to know zone-2\'s ingress for backend.default', async () => {
    const stats = await fed.zoneProxyStats('egress-1');
    const endpoints = stats.clusters['backend.default']?.endpoints ?? [];
    return { ok: endpoints.length === 1 && endpoints[0].address === ingressAddress('ingress-2') && endpoints[0].zone === 'zone-2', state: stats.clusters };
  });

  const before = { egress: await clusterStats('egress-1'), ingress: await clusterStats('ingress-2') };
  const { results } = await waitForCalls('calls to succeed through the egress', allOn('backend-z2'));
  const afterStats = { egress: await clusterStats('egress-1'), ingress: await clusterStats('ingress-2') };
  t.diagnostic(`before the mesh change: ${JSON.stringify(direct)}\nbefore the calls: ${JSON.stringify(before)}\nafter the calls: ${JSON.stringify(afterStats)}`);
  assert.equal(direct.egress.connections, 0, 'nothing used egress-1 before the mesh routed through it');
  assert.ok(afterStats.egress.connections >= 1, 'egress-1 forwarded web\'s connection to backend.default');
  assert.ok(afterStats.ingress.connections > direct.ingress.connections, 'egress-1 opened a connection through ingress-2');
  assert.ok(afterStats.egress.bytesDownstreamToUpstream > before.egress.bytesDownstreamToUpstream, 'requests went through egress-1');
  assert.ok(afterStats.egress.bytesUpstreamToDownstream > before.egress.bytesUpstreamToDownstream, 'answers came back through egress-1');
  assert.ok(afterStats.ingress.bytesDownstreamToUpstream > before.ingress.bytesDownstreamToUpstream, 'requests went on through ingress-2');
  assert.ok(afterStats.ingress.bytesUpstreamToDownstream > before.ingress.bytesUpstreamToDownstream, 'answers came back through ingress-2');
  for (const r of results) {
    assert.ok(r.callerUriSans.includes('kuma://kuma.io/zone/zone-1'), `through two proxies the backend still sees web's certificate: ${r.callerUriSans}`);
  }

  await fed.applyOnGlobal('mesh', mesh());
  await waitFor('web\'s EDS to point at zone-2\'s ingress again', async () => {
    const endpoints = await webEndpoints();
    return { ok: endpoints.length === 1 && endpoints[0].address === ingressAddress('ingress-2'), state: endpoints };
  });
  await waitForCalls('calls to succeed directly through ingress-2 again', allOn('backend-z2'));
});

step('(6) with localityAwareLoadBalancing a backend in zone-1 takes every call; when it stops, calls fail over to zone-2', async (t) => {
  await fed.applyOnGlobal('mesh', mesh({ localityAware: true }));
  await startBackend('backend-z1', zone1);
  const local = await waitForCalls('every call to stay in zone-1 (backend-z1)', allOn('backend-z1'));
  t.diagnostic(`calls local after ${local.elapsedMs} ms`);
  const endpoints = await webEndpoints();
  t.diagnostic(`web's endpoints: ${JSON.stringify(endpoints)}`);
  assert.deepEqual(endpoints.map((e) => [e.zone, e.priority]).sort(), [['zone-1', 0], ['zone-2', 1]]);

  const exit = await apps['backend-z1'].process.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, 'fed-dp of backend-z1 exits cleanly (and unregisters)');
  const failover = await waitForCalls('calls to fail over to zone-2 (backend-z2)', allOn('backend-z2'));
  t.diagnostic(`failed over after ${failover.elapsedMs} ms: ${JSON.stringify(summarize(failover.results))}`);
});

step('(8) the zone DNS answers backend.default.mesh with a VIP from 240.0.0.0/4 in both zones', async (t) => {
  for (const zone of [zone1, zone2]) {
    const answers = await dig(zone.dnsPort, 'backend.default.mesh');
    t.diagnostic(`dig @127.0.0.1 -p ${zone.dnsPort} backend.default.mesh (${zone.name}): ${answers.join(' ')}`);
    assert.equal(answers.length, 1, `${zone.name}: one A record`);
    const [first] = answers[0].split('.').map(Number);
    assert.ok(first >= 240 && first <= 255, `${zone.name}: ${answers[0]} is in 240.0.0.0/4`);
    assert.deepEqual(await dig(zone.dnsPort, 'backend.default.mesh'), answers, `${zone.name}: the VIP is stable`);
  }
});

step('(7) zone-2\'s ingress is killed: within the health timeout zone-1 stops routing there; it comes back when restarted', async (t) => {
  const address = ingressAddress('ingress-2');
  const killedAt = Date.now();
  await fed.zoneProxies.get('ingress-2').process.kill();
  const withdrawn = await waitFor('web\'s EDS to drop zone-2\'s dead ingress', async () => {
    const endpoints = await webEndpoints();
    return { ok: !endpoints.some((e) => e.address === address), state: endpoints };
  }, { timeoutMs: CONVERGE_MS, intervalMs: 100 });
  const elapsed = Date.now() - killedAt;
  t.diagnostic(`zone-1 stopped routing to the dead ingress ${elapsed} ms after the kill (health timeout ${HEALTH_TIMEOUT_S} s)`);
  assert.ok(elapsed < (HEALTH_TIMEOUT_S * 1000) + 8000, `withdrawn ${elapsed} ms after the kill`);
  const onGlobal = (await fed.globalJson('/zoneingresses')).items.find((i) => i.labels?.['kuma.io/display-name'] === 'ingress-2');
  assert.deepEqual(onGlobal?.availableServices ?? [], [], 'the global relays an ingress that advertises nothing');
  const results = await callBackend(3);
  assert.ok(results.every((r) => !r.ok && r.status === 'UNAVAILABLE'), `no backend is reachable: ${JSON.stringify(summarize(results))}`);

  await fed.startZoneProxy({ type: 'ingress', name: 'ingress-2', zone: zone2 });
  const back = await waitForCalls('calls to reach backend-z2 again through the restarted ingress', allOn('backend-z2'));
  t.diagnostic(`back ${back.elapsedMs} ms after the ingress listened again`);
  assert.ok(withdrawn.elapsedMs >= 0);
});

step('(7) zone-2\'s control plane is killed: calls keep succeeding (the control plane is not on the data path)', async (t) => {
  const before = await clusterStats('ingress-2');
  await zone2.process.kill();
  const right = await callBackend();
  assert.ok(allOn('backend-z2')(right), `right after the kill: ${JSON.stringify(summarize(right))}`);
  const offline = await waitFor('the global to see zone-2 Offline', async () => {
    const zones = (await fed.globalJson('/zones/_overview')).items;
    const z2 = zones.find((z) => z.name === 'zone-2');
    return { ok: z2?.status === 'Offline', state: zones.map((z) => `${z.name}:${z.status}`) };
  }, { timeoutMs: CONVERGE_MS });
  t.diagnostic(`zone-2 Offline on the global ${offline.elapsedMs} ms after the kill`);
  const later = await callBackend();
  assert.ok(allOn('backend-z2')(later), `with zone-2's control plane gone for good: ${JSON.stringify(summarize(later))}`);
  const after = await clusterStats('ingress-2');
  assert.ok(after.bytesDownstreamToUpstream > before.bytesDownstreamToUpstream, 'the calls went through ingress-2 on its last config');
  const stats = await fed.zoneProxyStats('ingress-2');
  t.diagnostic(`ingress-2 xDS: ${JSON.stringify(stats.xds)}`);
  assert.equal(stats.xds.connected, false, 'ingress-2 has lost its control plane');
});
