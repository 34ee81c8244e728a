import { setFlagsFromString } from 'node:v8';

/**
 * With single-threaded GC, V8 starts a major GC's marking only when the old generation reaches
 * its allocation limit, not early from a task (`--no-incremental-marking-task`).
 *
 * Why (issue 11, docs/latency-tail.md "Marking cycles that collected nothing"): V8 schedules a
 * task to start incremental marking as soon as the old generation's room left falls to about the
 * young generation's capacity, and after each mark-compact it sets the limit only a few MB above
 * that point. In the daemon at 10,000 NOTIFY/s that was a marking cycle every 2 s, each freeing
 * 1-2 MB of 24 MB; with single-threaded GC every step of it runs on the main thread (up to 5 ms,
 * then a 2-12 ms pause) while NOTIFYs wait. Started at the limit, the same step of the benchmark
 * had 1 mark-compact instead of 3-6. The limit is V8's, unchanged; what changes is that the old
 * generation fills up to it (about 20 MB more at 10,000 dialogs) before its garbage is marked.
 * Marking started on external-memory pressure or by the memory reducer (an idle process) is not
 * affected. With concurrent GC (several cores) marking runs beside the main thread, so V8's
 * schedule stays.
 *
 * Unlike `--single-threaded-gc` (read once, when the heap is set up), V8 reads this flag each
 * time it decides, so it is set in the running process.
 */
export const NO_INCREMENTAL_MARKING_TASK_FLAG = '--no-incremental-marking-task';

/** Whether node's command line chose the marking task either way (the operator's choice stays). */
export function choosesMarkingTask(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => /^--(no-?)?incremental[-_]marking[-_]task(=|$)/.test(a));
}

/**
 * Starts marking at the limit only, in a process that runs with single-threaded GC and whose
 * command line did not choose; returns whether it did.
 */
export function startMarkingAtTheLimit(singleThreadedGc: boolean, execArgv: readonly string[], setFlags: (flags: string) => void = setFlagsFromString): boolean {
  if (!singleThreadedGc || choosesMarkingTask(execArgv)) return false;
  setFlags(NO_INCREMENTAL_MARKING_TASK_FLAG);
  return true;
}
