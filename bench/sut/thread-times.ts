/**
 * CPU time of each thread of this process, and how long its main thread
 * waited for a CPU while runnable, from /proc/self/task/<tid>/schedstat
 * (Linux; fields: ns on the CPU, ns waiting on a run queue, time slices).
 *
 * This tells a latency tail caused by the SUT itself from one caused by its
 * core: "runqueue wait" of the main thread is time it had work (a datagram
 * waiting) but the scheduler ran something else on its core — another
 * process, or one of this process's own threads (V8's GC helpers and
 * concurrent marker, pinned to the same core by taskset).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTimes {
  /** ms the main (JavaScript) thread ran. */
  mainRunMs: number;
  /** ms the main thread was runnable but not running. */
  mainWaitMs: number;
  /** ms all other threads of the process ran (V8 platform workers: GC; libuv pool). */
  otherRunMs: number;
}

function schedstat(tid: string): [number, number] | undefined {
  try {
    const f = readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ');
    return [Number(f[0]) / 1e6, Number(f[1]) / 1e6];
  } catch {
    return undefined;
  }
}

/** Cumulative times now, or undefined where /proc/self/task is not there. */
export function threadTimes(): ThreadTimes | undefined {
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const main = schedstat(String(process.pid));
  if (main === undefined) return undefined;
  let otherRunMs = 0;
  for (const tid of tids) {
    if (tid === String(process.pid)) continue;
    const s = schedstat(tid);
    if (s !== undefined) otherRunMs += s[0];
  }
  return { mainRunMs: main[0], mainWaitMs: main[1], otherRunMs };
}

/** `b − a`, rounded to 0.1 ms (threads that ended in between count as stopped). */
export function threadTimesBetween(a: ThreadTimes | undefined, b: ThreadTimes | undefined): ThreadTimes | undefined {
  if (a === undefined || b === undefined) return undefined;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { mainRunMs: r(b.mainRunMs - a.mainRunMs), mainWaitMs: r(b.mainWaitMs - a.mainWaitMs), otherRunMs: r(Math.max(0, b.otherRunMs - a.otherRunMs)) };
}
