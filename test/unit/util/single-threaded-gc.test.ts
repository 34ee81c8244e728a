/**
 * single_threaded_gc (docs/latency-tail.md, "Single-threaded GC by default on one core"): auto
 * means on when the process may use one core, counted from its affinity and its cgroup v2 quota.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { runsWithSingleThreadedGc, usableCores, wantsSingleThreadedGc } from '../../../src/util/single-threaded-gc.js';

describe('wantsSingleThreadedGc', () => {
  test('auto: on with one core, off with more', () => {
    assert.equal(wantsSingleThreadedGc('auto', 1), true);
    assert.equal(wantsSingleThreadedGc('auto', 2), false);
  });
  test('true and false whatever the cores', () => {
    assert.equal(wantsSingleThreadedGc(true, 8), true);
    assert.equal(wantsSingleThreadedGc(false, 1), false);
  });
});

describe('usableCores', () => {
  const cores = availableParallelism();
  test('no cgroup quota ("max", unreadable): the affinity count', () => {
    assert.equal(usableCores(() => 'max 100000\n'), cores);
    assert.equal(usableCores(() => undefined), cores);
  });
  test('a quota of one core or less counts as one', () => {
    assert.equal(usableCores(() => '100000 100000\n'), 1);
    assert.equal(usableCores(() => '50000 100000'), 1);
  });
  test('a quota is rounded up and never above the affinity count', () => {
    assert.equal(usableCores(() => '150000 100000'), Math.min(cores, 2));
    assert.equal(usableCores(() => '6400000 100000'), cores);
  });
  test('a malformed cpu.max is ignored', () => {
    assert.equal(usableCores(() => 'garbage'), cores);
    assert.equal(usableCores(() => '0 100000'), cores);
  });
});

describe('runsWithSingleThreadedGc', () => {
  test('the flag, its underscore spelling, or --single-threaded (which implies it)', () => {
    assert.equal(runsWithSingleThreadedGc(['--single-threaded-gc']), true);
    assert.equal(runsWithSingleThreadedGc(['--expose-gc', '--single_threaded_gc']), true);
    assert.equal(runsWithSingleThreadedGc(['--single-threaded']), true);
    assert.equal(runsWithSingleThreadedGc(['--expose-gc']), false);
  });
});
