/**
 * The GC flags `presence-b2b start` puts on node's command line by running itself again where node
 * ignores them set at run time (src/util/late-gc-flags.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gcFlagsNeedingRelaunch } from '../../../src/util/late-gc-flags.js';

test('where a flag set at run time takes effect (node 20), nothing relaunches', () => {
  assert.deepEqual(gcFlagsNeedingRelaunch(300, false, [], true), []);
  assert.deepEqual(gcFlagsNeedingRelaunch('auto', true, ['--single-threaded-gc'], true), []);
});

test('elsewhere: a percent given with concurrent GC, and both flags in a node started with --single-threaded-gc', () => {
  assert.deepEqual(gcFlagsNeedingRelaunch(300, false, [], false), ['--heap-growing-percent=300']);
  assert.deepEqual(gcFlagsNeedingRelaunch('auto', true, ['--single-threaded-gc'], false), ['--no-incremental-marking-task', '--heap-growing-percent=300']);
  assert.deepEqual(gcFlagsNeedingRelaunch(0, true, ['--single-threaded-gc'], false), ['--no-incremental-marking-task'], "V8's own factor asked for: marking only");
});

test('nothing wanted, or already on the command line (as after the relaunch): no relaunch, so it happens once', () => {
  assert.deepEqual(gcFlagsNeedingRelaunch('auto', false, [], false), []);
  assert.deepEqual(gcFlagsNeedingRelaunch(300, false, ['--heap-growing-percent=300'], false), []);
  assert.deepEqual(gcFlagsNeedingRelaunch('auto', true, ['--no-incremental-marking-task', '--heap-growing-percent=300', '--single-threaded-gc'], false), []);
  assert.deepEqual(gcFlagsNeedingRelaunch(0, true, ['--incremental-marking-task', '--single-threaded-gc'], false), [], "the operator's choice of the task stays");
});
