'use strict';

const { test, before, after } = require('node:test');

// A test file of dependent steps against one Federation that setUp() starts: when set-up or any step fails, the
// processes' last log lines are printed at the end and their logs are kept for a look; otherwise they are removed.
//   const step = stepsOn({ setUp, federation: () => fed, timeoutMs: 60000 });
//   step('(a) ...', async (t) => { ... });
function stepsOn({ setUp, federation, timeoutMs }) {
  let failed = false;
  const failing = async (fn) => {
    try {
      return await fn();
    } catch (error) {
      failed = true;
      throw error;
    }
  };
  before(() => failing(setUp));
  after(async () => {
    const fed = federation();
    if (!fed) return;
    if (failed) {
      for (const p of fed.group.processes) console.error(p.tail());
      console.error(`logs kept in ${fed.dir}`);
    }
    await fed.stop({ keep: failed });
  });
  return (name, fn) => test(name, { timeout: timeoutMs }, (t) => failing(() => fn(t)));
}

module.exports = { stepsOn };
