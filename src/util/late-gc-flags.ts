import { heapGrowingRelaunchFlags, type HeapGrowingSetting } from './heap-growing.js';
import { markingRelaunchFlags, RUNTIME_FLAG_TAKES_EFFECT } from './marking-at-the-limit.js';

/**
 * The GC flags a relaunch of `presence-b2b start` puts on node's command line, unless that command
 * line chose them: marking at the limit with single-threaded GC (src/util/marking-at-the-limit.ts),
 * and the wanted heap growing percent (src/util/heap-growing.ts). Both relaunches take them from
 * here: the one for single-threaded GC and gcFlagsNeedingRelaunch's.
 */
export function gcRelaunchFlags(heapGrowing: HeapGrowingSetting, singleThreadedGc: boolean, execArgv: readonly string[]): string[] {
  return [...(singleThreadedGc ? markingRelaunchFlags(execArgv) : []), ...heapGrowingRelaunchFlags(heapGrowing, execArgv, singleThreadedGc)];
}

/**
 * The GC flags that `presence-b2b start` puts on node's command line by running itself again, when
 * it does not already do so for single-threaded GC, because this node ignores them set at run time
 * (nodes after 20, measured on node 24; RUNTIME_FLAG_TAKES_EFFECT): marking at the limit in a node
 * started with --single-threaded-gc (src/util/marking-at-the-limit.ts), and the wanted heap growing
 * percent (src/util/heap-growing.ts), unless node's command line chose them. Without this, a
 * `heap_growing_percent` given with concurrent GC, or both in a node started with
 * --single-threaded-gc, would be ignored there. Empty when nothing is missing: after such a relaunch
 * they are on the command line, so it happens once.
 */
export function gcFlagsNeedingRelaunch(
  heapGrowing: HeapGrowingSetting,
  singleThreadedGc: boolean,
  execArgv: readonly string[],
  runtimeFlagTakesEffect = RUNTIME_FLAG_TAKES_EFFECT,
): string[] {
  return runtimeFlagTakesEffect ? [] : gcRelaunchFlags(heapGrowing, singleThreadedGc, execArgv);
}
