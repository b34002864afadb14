'use strict';

// The processes a test starts: each one logs to a file in the run's directory, its announcements (lines starting
// with "E2E " on standard output, from the apps fed-dp runs) are collected, and every process still running at the
// end is stopped — gracefully first, then killed — also when the test failed.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { within } = require('./wait');

const MARKER = 'E2E ';
const TAIL_LINES = 40;

class ManagedProcess {
  constructor(name, command, args, { env, cwd, logDir }) {
    this.name = name;
    this.command = command;
    this.args = args;
    this.logFile = path.join(logDir, `${name}.log`);
    this.events = [];
    this.tailLines = [];
    this.eventWaiters = new Set();
    this.log = fs.createWriteStream(this.logFile, { flags: 'a' });
    this.log.write(`$ ${command} ${args.join(' ')}\n`);
    this.child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    this.exitResult = null;
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.exitResult = { code: null, signal: null, error: error.message };
        resolve(this.exitResult);
      });
      this.child.on('exit', (code, signal) => {
        this.exitResult = { code, signal };
        resolve(this.exitResult);
      });
    });
    this.exited.then((r) => this.log.end(`[exited: ${JSON.stringify(r)}]\n`));
    this.pipe(this.child.stdout, true);
    this.pipe(this.child.stderr, false);
  }

  pipe(stream, parseEvents) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      this.log.write(chunk);
      pending += chunk;
      let newline;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        this.tailLines.push(line);
        if (this.tailLines.length > TAIL_LINES) this.tailLines.shift();
        if (parseEvents && line.startsWith(MARKER)) this.onEvent(line.slice(MARKER.length));
      }
    });
  }

  onEvent(text) {
    let event;
    try {
      event = JSON.parse(text);
    } catch {
      return;
    }
    this.events.push(event);
    for (const waiter of this.eventWaiters) waiter();
  }

  get running() {
    return this.exitResult === null;
  }

  tail() {
    return `last lines of ${this.name} (${this.logFile}):\n  ${this.tailLines.join('\n  ')}`;
  }

  // The first announcement (already seen or still to come) that matches; fails if the process exits first.
  waitForEvent(what, predicate, timeoutMs) {
    let check;
    const found = new Promise((resolve, reject) => {
      check = () => {
        const event = this.events.find(predicate);
        if (event) resolve(event);
        else if (!this.running) reject(new Error(`${this.name} exited (${JSON.stringify(this.exitResult)}) before ${what}; ${this.tail()}`));
      };
      this.eventWaiters.add(check);
      this.exited.then(check);
      check();
    });
    return within(`${this.name}: ${what}`, found, timeoutMs).finally(() => this.eventWaiters.delete(check));
  }

  // SIGTERM, then SIGKILL after graceMs; resolves with the exit result.
  async stop(graceMs = 8000) {
    if (!this.running) return this.exitResult;
    this.child.kill('SIGTERM');
    try {
      return await within(`${this.name} to exit after SIGTERM`, this.exited, graceMs);
    } catch {
      this.child.kill('SIGKILL');
      return this.exited;
    }
  }

  // SIGKILL: no chance to clean up, as when a machine dies; resolves with the exit result.
  async kill() {
    if (!this.running) return this.exitResult;
    this.child.kill('SIGKILL');
    return within(`${this.name} to die after SIGKILL`, this.exited, 8000);
  }

  // Processes this one announced (the app under fed-dp), killed if they outlive it.
  announcedPids() {
    return [...new Set(this.events.map((e) => e.pid).filter((pid) => Number.isInteger(pid) && pid !== this.pid))];
  }
}

class ProcessGroup {
  constructor(logDir) {
    this.logDir = logDir;
    this.processes = [];
    this.onExit = () => this.killAllNow();
    process.on('exit', this.onExit);
  }

  start(name, command, args, { env = process.env, cwd } = {}) {
    const managed = new ManagedProcess(name, command, args, { env, cwd, logDir: this.logDir });
    this.processes.push(managed);
    return managed;
  }

  // Stops everything, newest first (applications before the control planes they talk to).
  async stopAll() {
    for (const p of [...this.processes].reverse()) {
      await p.stop();
      for (const pid of p.announcedPids()) killQuietly(pid, 'SIGKILL');
    }
    process.off('exit', this.onExit);
  }

  // Last resort when the test process is going away: no waiting possible, so SIGKILL.
  killAllNow() {
    for (const p of this.processes) {
      if (p.running) killQuietly(p.pid, 'SIGKILL');
      for (const pid of p.announcedPids()) killQuietly(pid, 'SIGKILL');
    }
  }
}

function killQuietly(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

module.exports = { ProcessGroup, ManagedProcess };
