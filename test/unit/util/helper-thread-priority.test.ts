/**
 * lowerHelperThreadPriority (docs/latency-tail.md, "V8's helper threads at a
 * lower priority"): every thread but the main one gets the nice value, on
 * Linux only, and nothing throws.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { lowerHelperThreadPriority, type ThreadPriorityAccess } from '../../../src/util/helper-thread-priority.js';

function fakeAccess(overrides: Partial<ThreadPriorityAccess> & { refuse?: number[] } = {}): ThreadPriorityAccess & { set: Array<[number, number]> } {
  const set: Array<[number, number]> = [];
  return {
    platform: 'linux',
    pid: 100,
    listThreads: () => [100, 101, 102, 103],
    setNice(threadId, nice) {
      if (overrides.refuse?.includes(threadId)) throw new Error('EPERM');
      set.push([threadId, nice]);
    },
    ...overrides,
    set,
  };
}

describe('lowerHelperThreadPriority', () => {
  test('sets the nice value of every thread but the main one', () => {
    const access = fakeAccess();
    assert.deepEqual(lowerHelperThreadPriority(19, access), { threads: 3, lowered: 3, failed: 0 });
    assert.deepEqual(access.set, [
      [101, 19],
      [102, 19],
      [103, 19],
    ]);
  });

  test('a thread that refuses (gone meanwhile, not permitted) is counted, the others still lowered', () => {
    const access = fakeAccess({ refuse: [102] });
    assert.deepEqual(lowerHelperThreadPriority(10, access), { threads: 3, lowered: 2, failed: 1 });
  });

  test('0 leaves every thread alone', () => {
    const access = fakeAccess();
    assert.equal(lowerHelperThreadPriority(0, access).skipped, 'helper_threads_nice is 0');
    assert.deepEqual(access.set, []);
  });

  test('not Linux, or no /proc: nothing is tried, nothing throws', () => {
    const other = fakeAccess({ platform: 'darwin' });
    assert.match(lowerHelperThreadPriority(19, other).skipped ?? '', /Linux only \(darwin\)/);
    assert.deepEqual(other.set, []);
    const noProc = fakeAccess({
      listThreads: () => {
        throw new Error('ENOENT');
      },
    });
    assert.equal(lowerHelperThreadPriority(19, noProc).skipped, '/proc/self/task cannot be read');
  });

  test('on this machine (Linux): a process lowers its own helper threads, its main thread keeps its value', { skip: process.platform !== 'linux' }, () => {
    const moduleUrl = new URL('../../../src/util/helper-thread-priority.js', import.meta.url).href;
    // A child process, so that this test runner's own threads are left as they are.
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      const { lowerHelperThreadPriority } = await import(${JSON.stringify(moduleUrl)});
      const result = lowerHelperThreadPriority(7);
      // Field 19 of /proc/<pid>/task/<tid>/stat is the nice value (proc(5)); the name field has no spaces here.
      const nice = (tid) => Number(readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[16]);
      const others = readdirSync('/proc/self/task').map(Number).filter((tid) => tid !== process.pid);
      process.stdout.write(JSON.stringify({ result, main: nice(process.pid), others: [...new Set(others.map(nice))] }));
    `;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 })) as {
      result: { threads: number; lowered: number; failed: number };
      main: number;
      others: number[];
    };
    assert.ok(out.result.threads >= 1, 'V8 has helper threads');
    assert.equal(out.result.lowered, out.result.threads);
    assert.equal(out.main, 0);
    assert.deepEqual(out.others, [7]);
  });
});
