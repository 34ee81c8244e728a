import { setFlagsFromString } from 'node:v8';
import { RUNTIME_FLAG_TAKES_EFFECT } from './marking-at-the-limit.js';

/**
 * How far above what survived a mark-compact V8 sets the old generation's next limit
 * (`--heap-growing-percent`: the limit is live × (1 + percent / 100); 0 leaves V8's own factor).
 *
 * Why (issue 11, docs/latency-tail.md "Room above the old generation (`heap_growing_percent`)"):
 * V8 starts marking well before the old generation reaches its limit, once the room left is
 * down to about the young generation's capacity (16 MB semi-spaces). Its own factor, about 2 for
 * the daemon, leaves some 23 MB of room over a 22 MB live heap at 10,000 dialogs, so a few MB
 * promoted start the next cycle: a mark-compact in most 10-second steps of the NOTIFY benchmark,
 * whatever the rate, each marking for 40-100 ms on the main thread when GC is single-threaded. At
 * 15,000 and 20,000 NOTIFY/s on one core such a cycle failed the step it fell in (p99 6.8-80.7 ms
 * in the benchmark's steps with one). At 4× what survived (300) the room outgrows the young
 * generation and only real growth of the live heap starts marking; the memory it costs is garbage
 * left unmarked longer, measured at 100,000 held (W0) in that section.
 *
 * Applied with single-threaded GC (one core, where marking takes the NOTIFYs' core) unless the
 * setting says otherwise: on node's command line when `presence-b2b start` runs itself again, or
 * set in the running process where node honours that (node 20; RUNTIME_FLAG_TAKES_EFFECT). Where
 * it does not, `start` runs itself again to put it there (src/util/late-gc-flags.ts).
 */
export const SINGLE_THREADED_HEAP_GROWING_PERCENT = 300;

/** The `heap_growing_percent` setting: auto (300 with single-threaded GC, else V8's own), or a percent (0 = V8's own). */
export type HeapGrowingSetting = 'auto' | number;

export const DEFAULT_HEAP_GROWING: HeapGrowingSetting = 'auto';

/** The node flag for `percent`. */
export function heapGrowingFlag(percent: number): string {
  return `--heap-growing-percent=${percent}`;
}

/** The percent node's command line chose (the last such flag, either spelling), if any: the operator's choice stays. */
export function heapGrowingChoice(execArgv: readonly string[]): number | undefined {
  let choice: number | undefined;
  for (const arg of execArgv) {
    const match = /^--heap[-_]growing[-_]percent=(\d+)$/.exec(arg);
    if (match !== null) choice = Number(match[1]);
  }
  return choice;
}

/** The percent the setting asks for (0: V8's own factor). */
export function wantedHeapGrowingPercent(setting: HeapGrowingSetting, singleThreadedGc: boolean): number {
  if (setting !== 'auto') return setting;
  return singleThreadedGc ? SINGLE_THREADED_HEAP_GROWING_PERCENT : 0;
}

/**
 * The flags `presence-b2b start` adds to node's command line when it runs itself again: the
 * wanted percent, unless that command line chose one already (or the setting asks for V8's own
 * factor). The relaunch for single-threaded GC is the default case.
 */
export function heapGrowingRelaunchFlags(setting: HeapGrowingSetting, execArgv: readonly string[], singleThreadedGc = true): string[] {
  if (heapGrowingChoice(execArgv) !== undefined) return [];
  const wanted = wantedHeapGrowingPercent(setting, singleThreadedGc);
  return wanted === 0 ? [] : [heapGrowingFlag(wanted)];
}

/**
 * Applies the setting in the running process: the command line's choice if it made one, else the
 * wanted percent, set here where that takes effect. Returns the percent in effect (0: V8's own
 * factor), for the daemon's log line.
 */
export function applyHeapGrowing(
  setting: HeapGrowingSetting,
  singleThreadedGc: boolean,
  execArgv: readonly string[],
  setFlags: (flags: string) => void = setFlagsFromString,
  runtimeFlagTakesEffect = RUNTIME_FLAG_TAKES_EFFECT,
): number {
  const chosen = heapGrowingChoice(execArgv);
  if (chosen !== undefined) return chosen;
  const wanted = wantedHeapGrowingPercent(setting, singleThreadedGc);
  if (wanted === 0 || !runtimeFlagTakesEffect) return 0;
  setFlags(heapGrowingFlag(wanted));
  return wanted;
}
