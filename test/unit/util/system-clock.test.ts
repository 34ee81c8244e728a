import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../../src/util/clock.js';

test('systemClock: a delay beyond 2^31 − 1 ms (30 days) is armed in steps, not taken as 1 ms by node:timers', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => {
    warnings.push(warning.name);
  };
  process.on('warning', onWarning);
  let fired = false;
  const cancel = systemClock.setTimer(() => {
    fired = true;
  }, 30 * 24 * 3600 * 1000);
  try {
    // node:timers reports an overflow with a warning on the next tick (and would fire 1 ms later).
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
    assert.equal(fired, false);
  } finally {
    cancel();
    process.off('warning', onWarning);
  }
});
