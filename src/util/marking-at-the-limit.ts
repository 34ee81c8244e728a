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
 * Where it is set: on node's command line when `presence-b2b start` runs itself again for
 * single-threaded GC (start-command.ts), which every node honours; otherwise (node was started with
 * --single-threaded-gc) in the running process. V8 reads the flag each time it decides, and node 20
 * honours it set at run time; node 24 does not (measured: a churn that yields to the event loop had
 * its marking started by the task either way), so there it is not set and not claimed.
 */
export const NO_INCREMENTAL_MARKING_TASK_FLAG = '--no-incremental-marking-task';

/** Whether a flag set in the running process still takes effect: measured on node 20, not on node 24. */
export const RUNTIME_FLAG_TAKES_EFFECT = Number(process.versions.node.split('.')[0]) <= 20;

/** What node's command line chose for the marking task (the last such flag), if anything: the operator's choice stays. */
export function markingTaskChoice(execArgv: readonly string[]): 'on' | 'off' | undefined {
  let choice: 'on' | 'off' | undefined;
  for (const arg of execArgv) {
    const match = /^--(no[-_]?)?incremental[-_]marking[-_]task(?:=(.*))?$/.exec(arg);
    if (match === null) continue;
    const off = match[1] !== undefined || match[2] === 'false';
    choice = off ? 'off' : 'on';
  }
  return choice;
}

/** Whether node's command line chose the marking task either way. */
export function choosesMarkingTask(execArgv: readonly string[]): boolean {
  return markingTaskChoice(execArgv) !== undefined;
}

/**
 * The flags `presence-b2b start` adds to node's command line when it runs itself again for a
 * process with single-threaded GC: marking at the limit, unless that command line chose already.
 */
export function markingRelaunchFlags(execArgv: readonly string[]): string[] {
  return choosesMarkingTask(execArgv) ? [] : [NO_INCREMENTAL_MARKING_TASK_FLAG];
}

/**
 * Whether a process with single-threaded GC starts marking at the limit only: the command line's
 * choice if it made one, else set here where that takes effect. Returns whether marking starts at
 * the limit (the `marking_at_the_limit` of the daemon's log).
 */
export function startMarkingAtTheLimit(
  singleThreadedGc: boolean,
  execArgv: readonly string[],
  setFlags: (flags: string) => void = setFlagsFromString,
  runtimeFlagTakesEffect = RUNTIME_FLAG_TAKES_EFFECT,
): boolean {
  if (!singleThreadedGc) return false;
  const choice = markingTaskChoice(execArgv);
  if (choice !== undefined) return choice === 'off';
  if (!runtimeFlagTakesEffect) return false;
  setFlags(NO_INCREMENTAL_MARKING_TASK_FLAG);
  return true;
}
