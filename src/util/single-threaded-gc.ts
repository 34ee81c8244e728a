import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Whether V8 collects garbage on the main thread only (`node --single-threaded-gc`), and the
 * `single_threaded_gc` setting that decides it for `presence-b2b start`.
 *
 * Why: confined to one core, V8's concurrent marking, sweeping and parallel scavenging run on the
 * same core as the main thread and take it for 12-24 ms at a time while NOTIFYs wait in the
 * socket buffer; with the GC on the main thread (in incremental steps) the 10,000/s p99 over UDP
 * went from 30-45 ms to 9.5 ms, at less CPU per NOTIFY and no measured cost to the storms or to
 * establishment (docs/latency-tail.md, "Single-threaded GC by default on one core"). With more
 * cores the helper threads run beside the main thread and shorten its pauses, so `auto` keeps
 * them there.
 *
 * V8 reads the flag once, when the heap is set up: setting it later (`v8.setFlagsFromString`)
 * aborts the process at the next full GC. So the flag is given on the command line, by the
 * operator or by `presence-b2b start` relaunching itself (src/cli/relaunch-with-node-flags.ts).
 */

/** The node option. */
export const SINGLE_THREADED_GC_FLAG = '--single-threaded-gc';

/** `auto`: on when the process may use one core only (usableCores); or forced on / off. */
export type SingleThreadedGcSetting = 'auto' | boolean;

export const DEFAULT_SINGLE_THREADED_GC: SingleThreadedGcSetting = 'auto';

/**
 * How many cores this process may use: its CPU affinity (`taskset`, systemd's CPUAffinity=), and
 * the cgroup v2 quota if one is set (`docker run --cpus 1`, systemd's CPUQuota=, a Kubernetes CPU
 * limit), rounded up. A quota of 1.5 cores is 2: the helper threads then have a half core of their own.
 */
export function usableCores(readCpuMax: () => string | undefined = readCgroupCpuMax): number {
  let cores = availableParallelism();
  const cpuMax = readCpuMax()?.trim().split(/\s+/);
  if (cpuMax !== undefined && cpuMax.length === 2 && cpuMax[0] !== 'max') {
    const quota = Number(cpuMax[0]);
    const period = Number(cpuMax[1]);
    if (quota > 0 && period > 0) cores = Math.min(cores, Math.max(1, Math.ceil(quota / period)));
  }
  return cores;
}

/** `cpu.max` of this process's cgroup (v2): "max 100000" or "<quota> <period>" in µs; undefined if none. */
function readCgroupCpuMax(): string | undefined {
  try {
    // /proc/self/cgroup holds "0::/path" under cgroup v2.
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    if (line === undefined) return undefined;
    return readFileSync(`/sys/fs/cgroup${line.slice(3)}/cpu.max`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether the setting asks for single-threaded GC on a process that may use `cores` cores. */
export function wantsSingleThreadedGc(setting: SingleThreadedGcSetting, cores: number): boolean {
  return setting === 'auto' ? cores <= 1 : setting;
}

/** Whether node was started with the GC on the main thread (`--single-threaded` implies it). */
export function runsWithSingleThreadedGc(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => a === SINGLE_THREADED_GC_FLAG || a === '--single-threaded' || a === '--single_threaded_gc' || a === '--single_threaded');
}
