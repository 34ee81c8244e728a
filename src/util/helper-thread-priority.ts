import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the scheduling priority (raises the nice value) of every thread of
 * this process except the main thread: V8's platform workers (concurrent
 * marking, parallel scavenging, sweeping, background compilation), Node's
 * delayed-task thread, and libuv's pool threads when they exist already.
 *
 * Why (docs/latency-tail.md, "V8's helper threads at a lower priority"):
 * everything presence-b2b does on the wire runs on the main thread. When the
 * process has one core (a container with one CPU, a `taskset`), V8's helper
 * threads share that core with it, and during a major GC they took 60–80 ms
 * of it in one stretch while NOTIFYs waited in the socket buffer: that set
 * the p99 at 2,000–5,000 NOTIFY/s with the core half idle. At a lower
 * priority they run in the main thread's idle time instead. When the main
 * thread has no idle time, V8 does the marking in its own incremental steps
 * on the main thread, so the heap is collected either way.
 *
 * Linux only: there, a nice value belongs to a thread, and setpriority() with
 * a thread id changes that thread alone (sched(7)). Elsewhere nothing is done.
 * Raising a nice value needs no privilege. Threads started later (libuv's
 * pool, on its first use; worker threads) inherit the main thread's value and
 * are not lowered.
 */
export interface HelperThreadPriorityResult {
  /** Threads other than the main one found. */
  readonly threads: number;
  /** Of them, those whose nice value was set. */
  readonly lowered: number;
  /** Of them, those that refused (gone meanwhile, or not permitted). */
  readonly failed: number;
  /** Why nothing was tried (not Linux, no /proc, nice 0), when so. */
  readonly skipped?: string;
}

/** What the function reads and changes, replaceable in tests. */
export interface ThreadPriorityAccess {
  readonly platform: NodeJS.Platform;
  readonly pid: number;
  /** Thread ids of this process (on Linux, the entries of /proc/self/task). */
  listThreads(): number[];
  /** Sets one thread's nice value; throws when refused. */
  setNice(threadId: number, nice: number): void;
}

export const SYSTEM_THREAD_PRIORITY: ThreadPriorityAccess = {
  platform: process.platform,
  pid: process.pid,
  listThreads: () => readdirSync('/proc/self/task').map(Number).filter(Number.isInteger),
  setNice: (threadId, nice) => setPriority(threadId, nice),
};

/**
 * The nice value given to the helper threads unless configured otherwise (`helper_threads_nice`):
 * 0, left alone. At 19 the NOTIFY tail on a half-busy core shrinks, but while the main thread is
 * saturated with cold code (a start, an establishment burst) V8's background compilation starves
 * and CPU per establishment doubled (docs/latency-tail.md).
 */
export const DEFAULT_HELPER_THREADS_NICE = 0;

/**
 * Seconds after the start before the helper threads are lowered, and then only once the main
 * thread has been quiet for a while (`helper_threads_nice_after_s`, src/util/helper-thread-lowering.ts);
 * 0 = at the start.
 */
export const DEFAULT_HELPER_THREADS_NICE_AFTER_S = 10;

/**
 * Sets `nice` (1–19) on every thread but the main one; 0 leaves them as they are.
 * Never throws: a thread that refuses is counted in `failed`.
 */
export function lowerHelperThreadPriority(nice: number, access: ThreadPriorityAccess = SYSTEM_THREAD_PRIORITY): HelperThreadPriorityResult {
  if (nice === 0) return { threads: 0, lowered: 0, failed: 0, skipped: 'helper_threads_nice is 0' };
  if (access.platform !== 'linux') return { threads: 0, lowered: 0, failed: 0, skipped: `per-thread nice values are Linux only (${access.platform})` };
  let threadIds: number[];
  try {
    threadIds = access.listThreads();
  } catch {
    return { threads: 0, lowered: 0, failed: 0, skipped: '/proc/self/task cannot be read' };
  }
  let threads = 0;
  let lowered = 0;
  let failed = 0;
  for (const threadId of threadIds) {
    // On Linux the main thread's id is the process id.
    if (threadId === access.pid) continue;
    threads++;
    try {
      access.setNice(threadId, nice);
      lowered++;
    } catch {
      failed++;
    }
  }
  return { threads, lowered, failed };
}
