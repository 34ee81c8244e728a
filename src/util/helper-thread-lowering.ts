import { type Clock, systemClock } from './clock.js';
import { type HelperThreadPriorityResult, lowerHelperThreadPriority, SYSTEM_THREAD_PRIORITY, type ThreadPriorityAccess } from './helper-thread-priority.js';

/**
 * When V8's helper threads get their lower priority (`helper_threads_nice`,
 * `helper_threads_nice_after_s`; docs/latency-tail.md, "Lowering the helper
 * threads once the process is warm").
 *
 * Why not at once: the same threads run V8's optimizing compiler. While the
 * main thread is saturated with code not optimized yet (the first seconds of
 * a process, its first burst of subscriptions), at a lower priority those
 * compile jobs wait and the main thread keeps running the slow code: CPU per
 * establishment doubled. Why at all: once the code is optimized, the helpers
 * at a lower priority run in the main thread's idle time instead of taking
 * its core during a major GC, which set the NOTIFY tail.
 *
 * So the helpers are lowered once, at the first check at least `afterMs`
 * after the start at which the main thread has been less than
 * `quietShare` busy for `quietMs` in a row: not in the middle of a burst, and
 * never during the start. One-way, because an unprivileged process can raise
 * a thread's nice value but not lower it again (RLIMIT_NICE, setpriority(2)).
 */
export interface HelperThreadLoweringOptions {
  /** The nice value (1–19); 0 = never lower. */
  readonly nice: number;
  /** Earliest moment after the start, in ms; 0 with `quietMs` 0 = at once. */
  readonly afterMs: number;
  /** How long the main thread must have been below `quietShare` busy, in ms. */
  readonly quietMs: number;
  /** Share (0–1) of the main thread's time spent running, below which it counts as quiet. */
  readonly quietShare: number;
  /** Interval between checks, in ms. */
  readonly checkMs: number;
  readonly clock: Clock;
  /** The main thread's busy share (0–1) since the previous call (the event loop's utilization). */
  readonly mainThreadBusy: () => number;
  /** Lowers the helper threads (lowerHelperThreadPriority). */
  readonly lower: (nice: number) => HelperThreadPriorityResult;
  /** Told once, when the helpers were lowered (or lowering was skipped: not Linux, …). */
  readonly onLowered: (result: HelperThreadPriorityResult, atMs: number) => void;
}

/** The policy's fixed parts (only the delay and the nice value are configured). */
export const HELPER_THREAD_LOWERING_QUIET_MS = 3000;
// Saturated, not merely busy: compile jobs starve at nice 19 only when the main thread never
// yields its core, and a daemon at steady NOTIFY load is busy half its time or more (at 0.5 the
// bench's SUT at 5,000 NOTIFY/s was lowered only after its measured step, docs/latency-tail.md).
export const HELPER_THREAD_LOWERING_QUIET_SHARE = 0.8;
export const HELPER_THREAD_LOWERING_CHECK_MS = 1000;

/**
 * Starts the policy. Returns a function that stops it (at shutdown) if it has
 * not lowered yet. With nice 0 nothing is ever done; with `afterMs` and
 * `quietMs` both 0 the helpers are lowered before this returns.
 */
export function scheduleHelperThreadLowering(o: HelperThreadLoweringOptions): () => void {
  if (o.nice === 0) return () => {};
  const startedAt = o.clock.now();
  if (o.afterMs === 0 && o.quietMs === 0) {
    o.onLowered(o.lower(o.nice), 0);
    return () => {};
  }
  let quietSince: number | undefined;
  let cancel: (() => void) | undefined;
  let stopped = false;
  // The first sample covers the time since the start: set its reference now.
  o.mainThreadBusy();
  const check = (): void => {
    cancel = undefined;
    if (stopped) return;
    const now = o.clock.now();
    if (o.mainThreadBusy() < o.quietShare) quietSince ??= now - o.checkMs;
    else quietSince = undefined;
    if (now - startedAt >= o.afterMs && quietSince !== undefined && now - quietSince >= o.quietMs) {
      stopped = true;
      o.onLowered(o.lower(o.nice), now - startedAt);
      return;
    }
    cancel = o.clock.setTimer(check, o.checkMs);
  };
  cancel = o.clock.setTimer(check, o.checkMs);
  return () => {
    stopped = true;
    cancel?.();
    cancel = undefined;
  };
}

/** The main thread's busy share since the previous call, from the event loop's utilization (node:perf_hooks). */
export function eventLoopBusySampler(): () => number {
  let previous = performance.eventLoopUtilization();
  return () => {
    const delta = performance.eventLoopUtilization(previous);
    previous = performance.eventLoopUtilization();
    return delta.utilization;
  };
}

/**
 * The daemon's policy on the real clock and threads (`presence-b2b start`, and
 * the bench's SUT so that the bench measures what the daemon does).
 */
export function startHelperThreadLowering(
  nice: number,
  afterS: number,
  onLowered: (result: HelperThreadPriorityResult, atMs: number) => void,
  access: ThreadPriorityAccess = SYSTEM_THREAD_PRIORITY,
): () => void {
  return scheduleHelperThreadLowering({
    nice,
    afterMs: afterS * 1000,
    quietMs: afterS === 0 ? 0 : HELPER_THREAD_LOWERING_QUIET_MS,
    quietShare: HELPER_THREAD_LOWERING_QUIET_SHARE,
    checkMs: HELPER_THREAD_LOWERING_CHECK_MS,
    clock: systemClock,
    mainThreadBusy: eventLoopBusySampler(),
    lower: (n) => lowerHelperThreadPriority(n, access),
    onLowered,
  });
}
