/**
 * scheduleHelperThreadLowering (docs/latency-tail.md, "Lowering the helper
 * threads once the process is warm"): V8's helper threads are lowered once,
 * not before `afterMs`, and only once the main thread has been quiet for
 * `quietMs`; never during a burst; never twice; and not after a stop.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../../src/util/clock.js';
import { type HelperThreadLoweringOptions, scheduleHelperThreadLowering } from '../../../src/util/helper-thread-lowering.js';
import type { HelperThreadPriorityResult } from '../../../src/util/helper-thread-priority.js';

const LOWERED: HelperThreadPriorityResult = { threads: 5, lowered: 5, failed: 0 };

/** The policy on a manual clock, with the main thread's busy share per second given by `busy(second)`. */
function harness(overrides: Partial<HelperThreadLoweringOptions> & { busy?: (second: number) => number } = {}) {
  const clock = new ManualClock(1_000);
  const lowered: Array<{ nice: number; atMs: number; result: HelperThreadPriorityResult }> = [];
  const calls: number[] = [];
  const busy = overrides.busy ?? (() => 0.1);
  const stop = scheduleHelperThreadLowering({
    nice: 19,
    afterMs: 10_000,
    quietMs: 3_000,
    quietShare: 0.5,
    checkMs: 1_000,
    clock,
    mainThreadBusy: () => busy(Math.round((clock.now() - 1_000) / 1_000)),
    lower: (nice) => {
      calls.push(nice);
      return LOWERED;
    },
    onLowered: (result, atMs) => lowered.push({ nice: calls[calls.length - 1] ?? -1, atMs, result }),
    ...overrides,
  });
  return { clock, lowered, calls, stop };
}

describe('scheduleHelperThreadLowering', () => {
  test('a quiet process: lowered once, at the first check after afterMs, and never again', () => {
    const h = harness();
    h.clock.advance(9_999);
    assert.deepEqual(h.calls, [], 'not before afterMs');
    h.clock.advance(1);
    assert.deepEqual(h.calls, [19]);
    assert.deepEqual(h.lowered, [{ nice: 19, atMs: 10_000, result: LOWERED }]);
    h.clock.advance(600_000);
    assert.deepEqual(h.calls, [19], 'one-way: lowered once');
  });

  test('a burst past afterMs: waits until the main thread has been quiet for quietMs', () => {
    // Busy (a start, an establishment burst) for the first 20 s, quiet after.
    const h = harness({ busy: (s) => (s <= 20 ? 0.95 : 0.2) });
    h.clock.advance(22_000);
    assert.deepEqual(h.calls, [], 'not during the burst, nor before 3 quiet seconds');
    h.clock.advance(1_000);
    assert.deepEqual(h.lowered.map((l) => l.atMs), [23_000], 'after the 21st, 22nd and 23rd seconds were quiet');
  });

  test('each busy second restarts the quiet period', () => {
    const h = harness({ busy: (s) => (s === 10 || s === 13 ? 0.8 : 0.1) });
    h.clock.advance(15_000);
    assert.deepEqual(h.calls, [], 'the 11th and 12th seconds were quiet, the 13th not');
    h.clock.advance(1_000);
    assert.deepEqual(h.lowered.map((l) => l.atMs), [16_000]);
  });

  test('a process that never gets quiet is never lowered; the checks go on, bounded by the clock', () => {
    const h = harness({ busy: () => 0.9 });
    h.clock.advance(3_600_000);
    assert.deepEqual(h.calls, []);
  });

  test('stopped before it lowered (shutdown): nothing happens after', () => {
    const h = harness();
    h.clock.advance(5_000);
    h.stop();
    h.clock.advance(60_000);
    assert.deepEqual(h.calls, []);
  });

  test('afterMs and quietMs 0: lowered before the call returns (the setting at the start)', () => {
    const h = harness({ afterMs: 0, quietMs: 0 });
    assert.deepEqual(h.lowered, [{ nice: 19, atMs: 0, result: LOWERED }]);
    h.clock.advance(60_000);
    assert.deepEqual(h.calls, [19]);
  });

  test('nice 0: nothing is ever lowered nor told', () => {
    const h = harness({ nice: 0 });
    h.clock.advance(60_000);
    assert.deepEqual(h.calls, []);
    assert.deepEqual(h.lowered, []);
  });

  test('what lowering reports is passed on as it is (skipped on other systems, refusals counted)', () => {
    const skipped: HelperThreadPriorityResult = { threads: 0, lowered: 0, failed: 0, skipped: 'per-thread nice values are Linux only (darwin)' };
    const h = harness({ lower: () => skipped });
    h.clock.advance(10_000);
    assert.deepEqual(h.lowered.map((l) => l.result), [skipped]);
  });
});
