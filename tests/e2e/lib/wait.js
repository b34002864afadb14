'use strict';

// Waiting on a condition, never on the clock: poll until the condition holds or a deadline passes, and then say
// what was awaited and what was last seen.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// check() returns { ok: true, value } when the condition holds, or { ok: false, state } with what it saw.
// A check that throws counts as not yet, with the error as the state.
async function waitFor(what, check, { timeoutMs = 15000, intervalMs = 150 } = {}) {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = 'never checked';
  for (;;) {
    try {
      const result = await check();
      if (result.ok) return { value: result.value, elapsedMs: Date.now() - started };
      last = result.state;
    } catch (error) {
      last = `error: ${error?.message ?? error}`;
    }
    if (Date.now() >= deadline) {
      const seen = typeof last === 'string' ? last : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

// Races a promise against a deadline with a message naming what was awaited.
async function within(what, promise, timeoutMs) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

module.exports = { waitFor, within, sleep };
