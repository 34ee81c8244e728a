/**
 * With single-threaded GC a major GC's marking starts at the old generation's limit
 * (`--no-incremental-marking-task`, docs/latency-tail.md "Marking cycles that collected nothing").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import {
  choosesMarkingTask,
  markingRelaunchFlags,
  markingTaskChoice,
  NO_INCREMENTAL_MARKING_TASK_FLAG,
  RUNTIME_FLAG_TAKES_EFFECT,
  startMarkingAtTheLimit,
} from '../../../src/util/marking-at-the-limit.js';

describe('startMarkingAtTheLimit', () => {
  test('single-threaded: sets the flag once where a flag set at run time takes effect (node 20)', () => {
    const set: string[] = [];
    assert.equal(
      startMarkingAtTheLimit(true, [], (f) => set.push(f), true),
      true,
    );
    assert.deepEqual(set, [NO_INCREMENTAL_MARKING_TASK_FLAG]);
  });
  test('single-threaded, where a flag set at run time has no effect (node 24): not set, not claimed', () => {
    assert.equal(
      startMarkingAtTheLimit(true, [], () => assert.fail('set'), false),
      false,
    );
  });
  test("concurrent GC: V8's schedule stays", () => {
    const set: string[] = [];
    assert.equal(
      startMarkingAtTheLimit(false, [], (f) => set.push(f), true),
      false,
    );
    assert.deepEqual(set, []);
  });
  test("the command line's choice stays, either way and in any spelling (the last one counts)", () => {
    const cases: Array<[string[], 'on' | 'off']> = [
      [['--incremental-marking-task'], 'on'],
      [['--incremental_marking_task'], 'on'],
      [['--incremental-marking-task=true'], 'on'],
      [['--no-incremental-marking-task'], 'off'],
      [['--noincremental-marking-task'], 'off'],
      [['--no_incremental_marking_task'], 'off'],
      [['--incremental-marking-task=false'], 'off'],
      [['--no-incremental-marking-task', '--incremental-marking-task'], 'on'],
    ];
    for (const [argv, choice] of cases) {
      assert.equal(markingTaskChoice(argv), choice, argv.join(' '));
      assert.equal(choosesMarkingTask(argv), true, argv.join(' '));
      for (const takesEffect of [true, false]) {
        assert.equal(
          startMarkingAtTheLimit(true, argv, () => assert.fail('set'), takesEffect),
          choice === 'off',
          argv.join(' '),
        );
      }
    }
    assert.equal(markingTaskChoice(['--single-threaded-gc', '--incremental-marking', '--incremental-marking-tasks']), undefined);
  });
});

/**
 * A real node under --single-threaded-gc that churns old objects, yielding to the event loop (V8's
 * task runs only there): how many marking cycles V8 started from its task, and how many
 * mark-compacts ran.
 */
function churn(nodeFlags: string[], setAtRunTime: boolean): { taskStarts: number; markCompacts: number } {
  const module = new URL('../../../src/util/marking-at-the-limit.js', import.meta.url).href;
  const script = `
    const { startMarkingAtTheLimit } = await import(${JSON.stringify(module)});
    const { setImmediate: turn } = await import('node:timers/promises');
    if (${setAtRunTime}) startMarkingAtTheLimit(true, [], undefined, true);
    // Old objects that die: a ring of 300,000 slots written over, 4 million times.
    const ring = new Array(300000);
    for (let i = 0; i < 4000000; i++) {
      ring[i % 300000] = { i, list: [i, i + 1], text: 'n' + (i & 1023) };
      if (i % 20000 === 0) await turn();
    }
    console.log('ok', ring.length);
  `;
  const run = spawnSync(process.execPath, [...nodeFlags, '--single-threaded-gc', '--trace-gc', '--trace-incremental-marking', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /ok 300000/);
  return { taskStarts: (run.stdout.match(/Start \(task\)/g) ?? []).length, markCompacts: (run.stdout.match(/Mark-Compact/g) ?? []).length };
}

test('the real V8 under --single-threaded-gc: its task starts marking, unless the flag is on the command line', () => {
  const alone = churn([], false);
  assert.ok(alone.taskStarts > 0, 'without the flag, the task starts marking (this test can see it)');
  const withFlag = churn([NO_INCREMENTAL_MARKING_TASK_FLAG], false);
  assert.equal(withFlag.taskStarts, 0, 'no marking started by the task');
  assert.ok(withFlag.markCompacts > 0, 'old objects are still collected');
});

test('the real V8: the flag set at run time, where it takes effect (node 20), as on the command line', { skip: !RUNTIME_FLAG_TAKES_EFFECT && 'a flag set at run time has no effect on this node' }, () => {
  const setAtRunTime = churn([], true);
  assert.equal(setAtRunTime.taskStarts, 0, 'no marking started by the task');
  assert.ok(setAtRunTime.markCompacts > 0, 'old objects are still collected');
});

test("a relaunch with single-threaded GC adds marking at the limit unless node's command line chose either way", () => {
  assert.deepEqual(markingRelaunchFlags([]), ['--no-incremental-marking-task']);
  assert.deepEqual(markingRelaunchFlags(['--single-threaded-gc']), ['--no-incremental-marking-task']);
  assert.deepEqual(markingRelaunchFlags(['--incremental-marking-task']), []);
  assert.deepEqual(markingRelaunchFlags(['--no_incremental_marking_task']), []);
});
