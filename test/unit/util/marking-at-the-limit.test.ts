/**
 * With single-threaded GC a major GC's marking starts at the old generation's limit
 * (`--no-incremental-marking-task`, docs/latency-tail.md "Marking cycles that collected nothing").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { choosesMarkingTask, NO_INCREMENTAL_MARKING_TASK_FLAG, startMarkingAtTheLimit } from '../../../src/util/marking-at-the-limit.js';

describe('startMarkingAtTheLimit', () => {
  test('single-threaded: sets the flag once', () => {
    const set: string[] = [];
    assert.equal(
      startMarkingAtTheLimit(true, [], (f) => set.push(f)),
      true,
    );
    assert.deepEqual(set, [NO_INCREMENTAL_MARKING_TASK_FLAG]);
  });
  test("concurrent GC: V8's schedule stays", () => {
    const set: string[] = [];
    assert.equal(
      startMarkingAtTheLimit(false, [], (f) => set.push(f)),
      false,
    );
    assert.deepEqual(set, []);
  });
  test("the operator's command line wins, either way and in either spelling", () => {
    for (const argv of [['--incremental-marking-task'], ['--no-incremental-marking-task'], ['--incremental_marking_task'], ['--noincremental-marking-task'], ['--incremental-marking-task=false']]) {
      assert.equal(choosesMarkingTask(argv), true, argv[0]);
      assert.equal(
        startMarkingAtTheLimit(true, argv, () => assert.fail('set')),
        false,
      );
    }
    assert.equal(choosesMarkingTask(['--single-threaded-gc', '--incremental-marking', '--incremental-marking-tasks']), false);
  });
});

// The real V8: a process under --single-threaded-gc sets the flag at run time and goes on
// collecting (mark-compacts started by the allocation limit, none by a task), where setting
// --single-threaded-gc itself at run time would abort it.
test('set at run time under --single-threaded-gc: mark-compacts still run, none started by a task', () => {
  const module = new URL('../../../src/util/marking-at-the-limit.js', import.meta.url).href;
  const script = `
    const { startMarkingAtTheLimit } = await import(${JSON.stringify(module)});
    startMarkingAtTheLimit(true, []);
    // Old objects that die: a ring of 300,000 slots written over, 4 million times.
    const ring = new Array(300000);
    for (let i = 0; i < 4000000; i++) ring[i % 300000] = { i, list: [i, i + 1], text: 'n' + (i & 1023) };
    console.log('ok', ring.length);
  `;
  const run = spawnSync(process.execPath, ['--single-threaded-gc', '--trace-gc', '--trace-incremental-marking', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /ok 300000/);
  assert.match(run.stdout, /Mark-Compact/, 'old objects are still collected');
  assert.doesNotMatch(run.stdout, /Start \(task\)/, 'no marking started by the task');
});
