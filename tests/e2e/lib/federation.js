'use strict';

// A real Federation on loopback for one test file: the built federation-global and federation-zone executables as
// separate processes (memory stores, short timers, free ports, a temporary directory), driven with the real fedctl,
// and proxyless apps started under the real fed-dp. Nothing here builds: the executables come from
// artifacts/bin/<Project>/release/ (the README's test command builds Release first; by hand:
// dotnet build Federation.sln -c Release).

const { execFile } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { ProcessGroup } = require('./processes');
const { waitFor } = require('./wait');

const ROOT = path.resolve(__dirname, '../../..');
const APPS = path.resolve(__dirname, '../apps');
const LOOPBACK = '127.0.0.1';

function binary(project, name) {
  const file = path.join(ROOT, 'artifacts', 'bin', project, 'release', name);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} is missing: build first (dotnet build Federation.sln -c Release)`);
  }
  return file;
}

const BIN = {
  get global() { return binary('Federation.Global', 'federation-global'); },
  get zone() { return binary('Federation.Zone', 'federation-zone'); },
  get fedctl() { return binary('Federation.Cli', 'fedctl'); },
  get fedDp() { return binary('Federation.Dataplane', 'fed-dp'); },
};

// Ports handed out in this process are never handed out twice, even once their probe socket is closed.
const taken = new Set();
async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, LOOPBACK, () => {
        const { port: p } = server.address();
        server.close(() => resolve(p));
      });
    });
    if (!taken.has(port)) {
      taken.add(port);
      return port;
    }
  }
}

// Environment of the .NET processes: quieter framework logs, no telemetry.
function dotnetEnv(extra = {}) {
  return {
    ...process.env,
    DOTNET_CLI_TELEMETRY_OPTOUT: '1',
    DOTNET_NOLOGO: '1',
    'Logging__LogLevel__Microsoft.AspNetCore': 'Warning',
    'Logging__LogLevel__Microsoft.Hosting': 'Warning',
    ...extra,
  };
}

async function getJson(url, { token } = {}) {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

class Federation {
  constructor(dir, group) {
    this.dir = dir;
    this.group = group;
    this.dataplanes = new Map();
    this.zones = new Map();
    this.zoneProxies = new Map();
  }

  // One global and one zone (zone-1) connected over KDS; or several zones (`zones`), each started with `zoneArgs`
  // added to its command line. `fed.zone` is the first zone.
  static async start({ zone = 'zone-1', zones = [zone], zoneArgs = [] } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'federation-e2e-'));
    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(logDir);
    const fed = new Federation(dir, new ProcessGroup(logDir));
    try {
      await fed.startGlobal();
      for (const name of zones) await fed.startZone(name, { extraArgs: zoneArgs });
    } catch (error) {
      await fed.stop({ keep: true });
      throw error;
    }
    return fed;
  }

  async startGlobal() {
    const api = await freePort();
    const kds = await freePort();
    const data = path.join(this.dir, 'global');
    this.global = {
      api: `http://${LOOPBACK}:${api}`,
      kds: `https://${LOOPBACK}:${kds}`,
      data,
      process: this.group.start('global', BIN.global, [
        '--api-port', String(api), '--kds-port', String(kds), '--data-dir', data, '--store', 'memory',
        '--health-check-interval', '1', '--offline-timeout', '5',
      ], { env: dotnetEnv() }),
    };
    await this.waitForApi('the global control plane', this.global.api, this.global.process);
    this.global.token = fs.readFileSync(path.join(data, 'admin-token'), 'utf8').trim();
  }

  async startZone(name, { extraArgs = [] } = {}) {
    const api = await freePort();
    const xds = await freePort();
    const dns = await freePort();
    const data = path.join(this.dir, name);
    const tokenFile = path.join(this.dir, `${name}.token`);
    fs.writeFileSync(tokenFile, await this.globalCtl('generate', 'zone-token', '--zone', name, '--valid-for', '1h'), { mode: 0o600 });
    const zone = {
      name,
      api: `http://${LOOPBACK}:${api}`,
      xdsAddress: `${LOOPBACK}:${xds}`,
      dnsPort: dns,
      data,
      args: [
        '--zone', name, '--api-port', String(api), '--xds-port', String(xds), '--dns-port', String(dns),
        '--data-dir', data, '--store', 'memory',
        '--global-address', this.global.kds, '--zone-token-file', tokenFile,
        '--kds-ca-file', path.join(this.global.data, 'kds-ca.pem'),
        '--kds-backoff-min', '0.2', '--kds-backoff-max', '2',
        ...extraArgs,
      ],
      runs: 0,
    };
    this.zones.set(name, zone);
    this.zone ??= zone;
    await this.runZone(zone);
    return zone;
  }

  // (Re)starts a zone process on the same ports and data directory; with the memory store it starts empty and
  // gets global resources back over KDS.
  async runZone(zone = this.zone) {
    const { name } = zone;
    zone.runs++;
    zone.process = this.group.start(zone.runs === 1 ? name : `${name}.${zone.runs}`, BIN.zone, zone.args,
      { env: dotnetEnv({ Federation__InsightFlushIntervalMs: '250', Federation__XdsBatchWindowMs: '10' }) });
    await this.waitForApi(`zone ${name}`, zone.api, zone.process);
    zone.token = fs.readFileSync(path.join(zone.data, 'admin-token'), 'utf8').trim();
    await waitFor(`zone ${name} to connect to the global over KDS`, async () => {
      const kds = await getJson(`${zone.api}/status/kds`);
      return { ok: kds.connected === true, state: kds };
    });
  }

  async restartZone(zone = this.zone) {
    const exit = await zone.process.stop();
    await this.runZone(zone);
    return exit;
  }

  async waitForApi(what, api, proc) {
    await waitFor(`${what} to answer on ${api}`, async () => {
      if (!proc.running) throw new Error(`${proc.name} exited: ${JSON.stringify(proc.exitResult)}; ${proc.tail()}`);
      const response = await fetch(api, { signal: AbortSignal.timeout(2000) });
      return { ok: response.ok, state: `HTTP ${response.status}` };
    }, { timeoutMs: 30000 });
  }

  // fedctl against the global or the zone, with that control plane's admin token; resolves with stdout.
  fedctl(api, token, args) {
    const env = { ...process.env, FEDCTL_CONFIG: path.join(this.dir, 'fedctl.yaml'), DOTNET_NOLOGO: '1' };
    return new Promise((resolve, reject) => {
      execFile(BIN.fedctl, ['--api', api, '--token', token, ...args], { env, timeout: 30000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`fedctl ${args.join(' ')} failed (exit ${error.code}): ${stderr.trim() || error.message}`));
        else resolve(stdout);
      });
    });
  }

  globalCtl(...args) {
    return this.fedctl(this.global.api, this.global.token, args);
  }

  zoneCtl(...args) {
    return this.fedctl(this.zone.api, this.zone.token, args);
  }

  // fedctl against a named zone.
  ctlOn(zoneName, ...args) {
    const zone = this.zones.get(zoneName);
    return this.fedctl(zone.api, zone.token, args);
  }

  // fedctl apply -f on the global, with the manifest written to a file first.
  async applyOnGlobal(name, yaml) {
    const file = path.join(this.dir, `${name}.yaml`);
    fs.writeFileSync(file, yaml);
    return this.globalCtl('apply', '-f', file);
  }

  // Reads carry the admin token: secrets are not readable without it, even from loopback.
  zoneJson(pathAndQuery, zone = this.zone) {
    return getJson(`${zone.api}${pathAndQuery}`, { token: zone.token });
  }

  globalJson(pathAndQuery) {
    return getJson(`${this.global.api}${pathAndQuery}`, { token: this.global.token });
  }

  // The Dataplane's directory and its token file, generated on the global with fedctl (once per Dataplane).
  async dataplaneToken(name, mesh = 'default') {
    const dir = path.join(this.dir, 'dataplanes', name);
    fs.mkdirSync(dir, { recursive: true });
    const tokenFile = path.join(dir, 'dataplane.token');
    if (!fs.existsSync(tokenFile)) {
      const token = await this.globalCtl('generate', 'dataplane-token', '--mesh', mesh, '--name', name, '--valid-for', '1h');
      fs.writeFileSync(tokenFile, token, { mode: 0o600 });
    }
    return tokenFile;
  }

  // Starts `fed-dp run --type proxyless ... -- node apps/<app> <appArgs...>` for one Dataplane and waits for the
  // app's control endpoint. The token is generated on the global with fedctl (once per Dataplane name).
  async startProxyless({ name, service, port, app, appArgs, mesh = 'default', zone = this.zone }) {
    const dir = path.join(this.dir, 'dataplanes', name);
    fs.mkdirSync(dir, { recursive: true });
    const dataplaneFile = path.join(dir, 'dataplane.yaml');
    fs.writeFileSync(dataplaneFile, [
      'type: Dataplane',
      `mesh: ${mesh}`,
      `name: ${name}`,
      'networking:',
      `  address: ${LOOPBACK}`,
      '  inbound:',
      `  - port: ${port}`,
      `    tags: {kuma.io/service: ${service}, kuma.io/protocol: grpc}`,
      '',
    ].join('\n'));
    const tokenFile = await this.dataplaneToken(name, mesh);
    const env = dotnetEnv({ GRPC_XDS_EXPERIMENTAL_RBAC: 'true' });
    if (process.env.E2E_GRPC_TRACE) {
      env.GRPC_TRACE = process.env.E2E_GRPC_TRACE;
      env.GRPC_VERBOSITY = 'DEBUG';
    }
    const runs = (this.dataplanes.get(name)?.runs ?? 0) + 1;
    const proc = this.group.start(runs === 1 ? name : `${name}.${runs}`, BIN.fedDp, [
      'run', '--type', 'proxyless', '--cp', zone.api,
      '--dataplane', dataplaneFile, '--token-file', tokenFile,
      '--bootstrap-out', path.join(dir, 'bootstrap.json'), '--certs-dir', path.join(dir, 'certs'),
      '--registration-interval', '2s', '--stop-timeout', '5s',
      '--', process.execPath, path.join(APPS, app), ...appArgs,
    ], { env, cwd: dir });
    const control = await proc.waitForEvent('the app to announce its control endpoint', (e) => e.event === 'control', 30000);
    const dataplane = { name, service, port, dir, runs, zone: zone.name, process: proc, control: `http://${LOOPBACK}:${control.port}`, appPid: control.pid };
    this.dataplanes.set(name, dataplane);
    return dataplane;
  }

  // Starts `fed-dp run --type ingress|egress` in a zone, with a zone token of that scope generated on the global, and
  // waits until it listens (its admin endpoint's /ready). Restarting one reuses its ports.
  async startZoneProxy({ type, name, zone = this.zone, registrationInterval = '1s' }) {
    const previous = this.zoneProxies.get(name);
    const dir = path.join(this.dir, 'zoneproxies', name);
    fs.mkdirSync(dir, { recursive: true });
    const tokenFile = path.join(dir, 'zone.token');
    if (!fs.existsSync(tokenFile)) {
      fs.writeFileSync(tokenFile, await this.globalCtl('generate', 'zone-token', '--zone', zone.name, '--scope', type, '--valid-for', '1h'), { mode: 0o600 });
    }
    const port = previous?.port ?? (await freePort());
    const adminPort = previous?.adminPort ?? (await freePort());
    const runs = (previous?.runs ?? 0) + 1;
    const args = [
      'run', '--type', type, '--cp', zone.api, '--token-file', tokenFile, '--name', name,
      '--address', LOOPBACK, '--port', String(port), '--admin-port', String(adminPort),
      '--registration-interval', registrationInterval, '--stop-timeout', '2s',
    ];
    if (type === 'ingress') args.push('--advertised-address', LOOPBACK, '--advertised-port', String(port));
    const proc = this.group.start(runs === 1 ? name : `${name}.${runs}`, BIN.fedDp, args, { env: dotnetEnv(), cwd: dir });
    const proxy = { type, name, zone: zone.name, port, adminPort, runs, process: proc, admin: `http://${LOOPBACK}:${adminPort}` };
    this.zoneProxies.set(name, proxy);
    await waitFor(`${type} ${name} in ${zone.name} to listen on ${LOOPBACK}:${port}`, async () => {
      if (!proc.running) throw new Error(`${proc.name} exited: ${JSON.stringify(proc.exitResult)}; ${proc.tail()}`);
      const response = await fetch(`${proxy.admin}/ready`, { signal: AbortSignal.timeout(2000) });
      return { ok: response.ok, state: `HTTP ${response.status} ${await response.text()}` };
    }, { timeoutMs: 30000 });
    return proxy;
  }

  // A zone proxy's counters (GET /stats on its admin port).
  zoneProxyStats(name) {
    return getJson(`${this.zoneProxies.get(name).admin}/stats`);
  }

  // Stops every process. The directory (logs, bootstraps, certificates) is kept when asked, e.g. after a failure.
  async stop({ keep = false } = {}) {
    await this.group.stopAll();
    if (!keep && !process.env.E2E_KEEP) {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

module.exports = { Federation, getJson, freePort, BIN };
