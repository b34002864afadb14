'use strict';

// Proxyless gRPC end to end (issue 4, steps 2-5, plus a zone restart): a real global and zone, fedctl, and three
// grpc-js-xds applications under fed-dp — two instances of `backend` (XdsServer, mTLS and RBAC from the zone) and one `web`
// (client of xds:///backend.default.mesh). What the zone serves must be understood by a client we did not write:
// every resource each application holds must be ACKED (CSDS), and the zone must have counted no NACK.

const assert = require('node:assert/strict');
const { Federation, getJson, freePort } = require('./lib/federation');
const { waitFor } = require('./lib/wait');
const { stepsOn } = require('./lib/steps');

const MESH = `type: Mesh
name: default
mtls:
  enabledBackend: ca-1
  backends:
  - name: ca-1
    type: builtin
`;

const permission = (action) => `type: MeshTrafficPermission
mesh: default
name: web-to-backend
spec:
  targetRef: {kind: MeshService, name: backend}
  from:
  - targetRef: {kind: MeshSubset, tags: {kuma.io/service: web}}
    default: {action: ${action}}
`;

const BACKENDS = ['backend-1', 'backend-2'];
const BATCH = 12;
const CONVERGE_MS = 15000;

let fed;
const apps = {};

async function startBackend(name) {
  const port = apps[name]?.port ?? (await freePort());
  apps[name] = await fed.startProxyless({
    name, service: 'backend', port, app: 'backend.js', appArgs: [name, `127.0.0.1:${port}`],
  });
  return apps[name];
}

// BATCH sequential calls from web; resolves with their outcomes.
function callBackend(n = BATCH) {
  return getJson(`${apps['web-1'].control}/call?n=${n}&timeoutMs=2000`);
}

function summarize(results) {
  const counts = {};
  for (const r of results) {
    const key = r.ok ? `ok:${r.instance}` : `${r.status}:${r.details}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

// Waits until a whole batch of calls satisfies `accept`, and returns that batch.
async function waitForCalls(what, accept) {
  const { value, elapsedMs } = await waitFor(what, async () => {
    const results = await callBackend();
    return { ok: accept(results), value: results, state: summarize(results) };
  }, { timeoutMs: CONVERGE_MS, intervalMs: 100 });
  return { results: value, elapsedMs };
}

const allOk = (results) => results.every((r) => r.ok);
const allDenied = (results) => results.every((r) => !r.ok && r.status === 'PERMISSION_DENIED');
const instancesOf = (results) => [...new Set(results.filter((r) => r.ok).map((r) => r.instance))].sort();

async function setUp() {
  fed = await Federation.start();
  await fed.applyOnGlobal('mesh', MESH);
  await waitFor('mesh default to reach the zone', async () => {
    const meshes = await fed.zoneJson('/meshes');
    return { ok: meshes.items.some((m) => m.name === 'default'), state: meshes.items.map((m) => m.name) };
  });
  // Tokens first: the zone must have the mesh's token verification key (synced from the global) before fed-dp
  // presents a token to it.
  for (const name of [...BACKENDS, 'web-1']) await fed.dataplaneToken(name);
  await waitFor('the mesh\'s dataplane-token public key to reach the zone', async () => {
    const secrets = await fed.zoneJson('/meshes/default/secrets');
    const names = secrets.items.map((i) => i.name);
    return { ok: names.some((n) => n.startsWith('dataplane-token-signing-public-key-')), state: names };
  });
  await Promise.all(BACKENDS.map(startBackend));
  await Promise.all(BACKENDS.map((name) => apps[name].process.waitForEvent(
    'its XdsServer to serve (Listener from the zone accepted)', (e) => e.event === 'serving' && e.code === 0, 30000)));
  apps['web-1'] = await fed.startProxyless({
    name: 'web-1', service: 'web', port: await freePort(), app: 'web.js', appArgs: ['web-1', 'backend.default.mesh'],
  });
}

const step = stepsOn({ setUp, federation: () => fed, timeoutMs: 60000 });

step('(a) with mTLS on and no MeshTrafficPermission, web is denied (PERMISSION_DENIED)', async (t) => {
  const { results, elapsedMs } = await waitForCalls('web→backend calls to reach a backend and be denied by RBAC', allDenied);
  t.diagnostic(`denied after ${elapsedMs} ms: ${JSON.stringify(summarize(results))}`);
  assert.ok(results.every((r) => r.details === 'Unauthorized RPC rejected'), JSON.stringify(summarize(results)));
});

step('(b) a MeshTrafficPermission on the global allowing web → backend: calls succeed over mTLS on both backends', async (t) => {
  await fed.applyOnGlobal('mtp', permission('Allow'));
  const { results, elapsedMs } = await waitForCalls('calls to succeed on both backends after allowing web',
    (r) => allOk(r) && instancesOf(r).length === 2);
  t.diagnostic(`allowed after ${elapsedMs} ms: ${JSON.stringify(summarize(results))}`);
  assert.deepEqual(instancesOf(results), BACKENDS);
  for (const r of results) {
    assert.equal(r.transportSecurity, 'ssl', 'the backend saw a TLS peer');
    assert.ok(r.callerUriSans.includes('spiffe://default/web'), `caller SANs ${r.callerUriSans}`);
    assert.ok(r.callerUriSans.includes('kuma://kuma.io/service/web'), `caller SANs ${r.callerUriSans}`);
  }
});

step('(c) action Deny denies again; AllowWithShadowDeny allows', async (t) => {
  await fed.applyOnGlobal('mtp', permission('Deny'));
  const denied = await waitForCalls('calls to be denied after switching the action to Deny', allDenied);
  t.diagnostic(`Deny took effect after ${denied.elapsedMs} ms`);
  await fed.applyOnGlobal('mtp', permission('AllowWithShadowDeny'));
  const allowed = await waitForCalls('calls to succeed on both backends after AllowWithShadowDeny',
    (r) => allOk(r) && instancesOf(r).length === 2);
  t.diagnostic(`AllowWithShadowDeny took effect after ${allowed.elapsedMs} ms`);
});

step('(d) a stopped backend leaves (its fed-dp unregisters it) and comes back when restarted', async (t) => {
  const stopped = apps['backend-2'];
  const exit = await stopped.process.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `fed-dp exit after SIGTERM; ${stopped.process.tail()}`);
  await waitFor('backend-2 to be gone from the zone', async () => {
    const list = await fed.zoneJson('/meshes/default/dataplanes');
    return { ok: !list.items.some((d) => d.name === 'backend-2'), state: list.items.map((d) => d.name) };
  });
  const alone = await waitForCalls('every call to go to backend-1 alone',
    (r) => allOk(r) && instancesOf(r).join() === 'backend-1');
  t.diagnostic(`calls only on backend-1 after ${alone.elapsedMs} ms`);

  const restarted = await startBackend('backend-2');
  await restarted.process.waitForEvent('the restarted XdsServer to serve', (e) => e.event === 'serving' && e.code === 0, 30000);
  const both = await waitForCalls('calls to reach both backends again', (r) => allOk(r) && instancesOf(r).length === 2);
  t.diagnostic(`backend-2 back in rotation after ${both.elapsedMs} ms`);
});

// Each proxy Online, its live stream with ACKs, and no NACK in any of its streams, from an overview document.
// A proxy that reconnects holding the current versions is sent nothing (SotW), so it has no ACK to count yet.
function checkOverview(overview, where, { requireAcks = true } = {}) {
  const byName = new Map(overview.items.map((item) => [item.labels?.['kuma.io/display-name'] ?? item.name, item]));
  const problems = [];
  for (const name of [...BACKENDS, 'web-1']) {
    const item = byName.get(name);
    if (!item) {
      problems.push(`${name}: missing (have ${[...byName.keys()]})`);
      continue;
    }
    const subscriptions = item.dataplaneInsight?.subscriptions ?? [];
    const live = subscriptions.filter((s) => !s.disconnectTime);
    if (item.status !== 'Online' || live.length !== 1) problems.push(`${name}: status ${item.status}, ${live.length} live streams`);
    const acked = live[0]?.status?.total?.responsesAcknowledged ?? 0;
    if (requireAcks && acked < 1) problems.push(`${name}: live stream has ${acked} ACKs`);
    for (const s of subscriptions) {
      const nacks = s.status?.total?.responsesRejected ?? 0;
      if (nacks !== 0) problems.push(`${name}: stream ${s.id} has ${nacks} NACKs, last: ${s.status.total.lastNackReason}`);
    }
  }
  return { ok: problems.length === 0, state: `${where}: ${problems.join('; ')}` };
}

step('(e) the dataplane overviews on the zone and on the global show each proxy connected, ACKs and no NACK', async (t) => {
  await waitFor('the zone overview to show every proxy connected without NACKs',
    async () => checkOverview(await fed.zoneJson('/meshes/default/dataplanes/_overview'), 'zone'));
  await waitFor('the global overview (synced over KDS) to show every proxy connected without NACKs',
    async () => checkOverview(await fed.globalJson('/meshes/default/dataplanes/_overview'), 'global'));
  for (const [where, ctl] of [['zone', fed.zoneCtl.bind(fed)], ['global', fed.globalCtl.bind(fed)]]) {
    const table = await ctl('inspect', 'dataplanes', '-m', 'default');
    t.diagnostic(`fedctl inspect dataplanes -m default on the ${where}:\n${table}`);
    const rows = parseTable(table);
    assert.deepEqual(Object.keys(rows[0] ?? {}), ['MESH', 'NAME', 'STATUS', 'LAST CONNECTED', 'LAST UPDATED', 'TOTAL UPDATES', 'NACKS', 'CONFIG VERSION', 'CERT EXPIRES', 'LAST NACK']);
    assert.equal(rows.length, 3, `one row per proxy on the ${where}`);
    for (const row of rows) {
      assert.equal(row.MESH, 'default');
      assert.equal(row.STATUS, 'Online', `${row.NAME} on the ${where}`);
      assert.ok(Number(row['TOTAL UPDATES']) >= 1, `${row.NAME}: updates ${row['TOTAL UPDATES']}`);
      assert.equal(row.NACKS, '0', `${row.NAME}: NACKs on the ${where}, last: ${row['LAST NACK']}`);
      assert.match(row['CONFIG VERSION'], /^\d+$/);
      assert.match(row['CERT EXPIRES'], /^in \d+[smhd]$/);
    }
  }
});

// A fedctl table as objects keyed by header; columns start where their header starts.
function parseTable(text) {
  const [header, ...lines] = text.trimEnd().split('\n');
  const columns = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], start: m.index }));
  return lines.map((line) => Object.fromEntries(columns.map((c, i) => [c.name, line.slice(c.start, columns[i + 1]?.start ?? undefined).trim()])));
}

step('(f) CSDS: every resource each application holds is ACKED, none NACKED', async (t) => {
  const expected = {
    'backend-1': [['envoy.config.listener.v3.Listener', `grpc/server?xds.resource.listening_address=127.0.0.1:${apps['backend-1'].port}`]],
    'backend-2': [['envoy.config.listener.v3.Listener', `grpc/server?xds.resource.listening_address=127.0.0.1:${apps['backend-2'].port}`]],
    'web-1': [
      ['envoy.config.listener.v3.Listener', 'backend.default.mesh'],
      ['envoy.config.route.v3.RouteConfiguration', 'outbound:backend'],
      ['envoy.config.cluster.v3.Cluster', 'outbound:backend'],
      ['envoy.config.endpoint.v3.ClusterLoadAssignment', 'outbound:backend'],
    ],
  };
  for (const [name, resources] of Object.entries(expected)) {
    const status = await getJson(`${apps[name].control}/csds`);
    t.diagnostic(`${name}: ${status.map((s) => `${s.type} ${s.name} ${s.status}`).join(', ')}`);
    const notAcked = status.filter((s) => s.status !== 'ACKED');
    assert.deepEqual(notAcked, [], `${name} holds resources that are not ACKED`);
    for (const [type, resource] of resources) {
      assert.ok(status.some((s) => s.type === type && s.name === resource), `${name} holds no ${type} ${resource}`);
    }
    assert.ok(status.every((s) => s.node === `default.${name}`), `${name}: node ids ${status.map((s) => s.node)}`);
  }
});

step('(g) the zone restarts with an empty store: traffic keeps flowing, fed-dp registers again, proxies reconnect and take new policy', async (t) => {
  const exit = await fed.zone.process.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `zone exit; ${fed.zone.process.tail()}`);
  // The control plane is not on the request path.
  const { results } = await waitForCalls('calls to keep succeeding while the zone is down', (r) => allOk(r) && instancesOf(r).length === 2);
  t.diagnostic(`zone down: ${JSON.stringify(summarize(results))}`);

  // Observed, not asserted: what callers see while the restarted zone refills its empty store.
  const observed = {};
  let observing = true;
  const observer = (async () => {
    while (observing) {
      for (const r of await callBackend(1).catch(() => [])) {
        const key = r.ok ? 'ok' : r.status;
        observed[key] = (observed[key] ?? 0) + 1;
      }
    }
  })();
  await fed.runZone();
  const back = await waitFor('every fed-dp to register its Dataplane again in the restarted zone', async () => {
    const list = await fed.zoneJson('/meshes/default/dataplanes');
    const names = list.items.map((d) => d.name).sort();
    return { ok: names.join() === 'backend-1,backend-2,web-1', state: names };
  }, { timeoutMs: CONVERGE_MS });
  t.diagnostic(`Dataplanes registered again ${back.elapsedMs} ms after the zone answered`);
  await waitFor('every proxy to reconnect to the restarted zone without NACKs',
    async () => checkOverview(await fed.zoneJson('/meshes/default/dataplanes/_overview'), 'restarted zone', { requireAcks: false }),
    { timeoutMs: CONVERGE_MS });
  observing = false;
  await observer;
  t.diagnostic(`calls during the zone's restart and resync: ${JSON.stringify(observed)}`);

  await fed.applyOnGlobal('mtp', permission('Deny'));
  await waitForCalls('the reconnected backends to deny after switching the action to Deny', allDenied);
  await fed.applyOnGlobal('mtp', permission('Allow'));
  await waitForCalls('the reconnected backends to allow again', (r) => allOk(r) && instancesOf(r).length === 2);

  for (const name of [...BACKENDS, 'web-1']) {
    const status = await getJson(`${apps[name].control}/csds`);
    assert.deepEqual(status.filter((s) => s.status !== 'ACKED'), [], `${name} after the zone restart`);
  }
});
