/**
 * Room above the old generation after a mark-compact (`--heap-growing-percent`, docs/latency-tail.md
 * "Room above the old generation"): 300 with single-threaded GC unless the setting or node's command
 * line says otherwise.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyHeapGrowing,
  heapGrowingChoice,
  heapGrowingFlag,
  heapGrowingRelaunchFlags,
  SINGLE_THREADED_HEAP_GROWING_PERCENT,
  wantedHeapGrowingPercent,
} from '../../../src/util/heap-growing.js';

describe('heap growing percent', () => {
  test('auto: 300 with single-threaded GC, V8\'s own (0) with concurrent GC; a number as given', () => {
    assert.equal(SINGLE_THREADED_HEAP_GROWING_PERCENT, 300);
    assert.equal(wantedHeapGrowingPercent('auto', true), 300);
    assert.equal(wantedHeapGrowingPercent('auto', false), 0);
    assert.equal(wantedHeapGrowingPercent(150, false), 150);
    assert.equal(wantedHeapGrowingPercent(0, true), 0);
    assert.equal(heapGrowingFlag(300), '--heap-growing-percent=300');
  });

  test('sets the flag once where a flag set at run time takes effect, and says what is in effect', () => {
    const set: string[] = [];
    assert.equal(applyHeapGrowing('auto', true, [], (f) => set.push(f), true), 300);
    assert.deepEqual(set, ['--heap-growing-percent=300']);
    assert.equal(applyHeapGrowing('auto', false, [], () => assert.fail('set'), true), 0);
    assert.equal(applyHeapGrowing(0, true, [], () => assert.fail('set'), true), 0);
    assert.equal(applyHeapGrowing('auto', true, [], () => assert.fail('set'), false), 0, 'not claimed where it would not take effect');
  });

  test("node's command line chooses first, in either spelling (the last one counts)", () => {
    assert.equal(heapGrowingChoice(['--heap-growing-percent=100']), 100);
    assert.equal(heapGrowingChoice(['--heap_growing_percent=0']), 0);
    assert.equal(heapGrowingChoice(['--heap-growing-percent=100', '--heap-growing-percent=50']), 50);
    assert.equal(heapGrowingChoice(['--single-threaded-gc', '--max-old-space-size=100']), undefined);
    assert.equal(applyHeapGrowing('auto', true, ['--heap-growing-percent=0'], () => assert.fail('set'), true), 0);
    assert.equal(applyHeapGrowing(0, false, ['--heap-growing-percent=200'], () => assert.fail('set'), true), 200);
  });

  test('the relaunch for single-threaded GC adds the wanted flag unless the command line chose, or V8\'s own is asked for', () => {
    assert.deepEqual(heapGrowingRelaunchFlags('auto', []), ['--heap-growing-percent=300']);
    assert.deepEqual(heapGrowingRelaunchFlags(150, ['--single-threaded-gc']), ['--heap-growing-percent=150']);
    assert.deepEqual(heapGrowingRelaunchFlags(0, []), []);
    assert.deepEqual(heapGrowingRelaunchFlags('auto', ['--heap_growing_percent=50']), []);
  });
});
