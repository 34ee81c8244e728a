/** Options shared by all workloads, and small helpers. */
import type { MemorySample } from '../sut/sut-process.js';
import { Rig, type RigOptions } from '../harness/rig.js';
import type { SimPacing } from '../load/presence-server-sim.js';

export interface BenchOptions {
  transport: 'udp' | 'tcp';
  /** Simulator = base, SUT = base+2, Kamailio notify-sink = base+4, Kamailio pua = base+5. */
  portBase: number;
  /** Run the Kamailio comparisons (skipped if Kamailio is not installed). */
  kamailio: boolean;
  /** Write SUT CPU profiles (node --cpu-prof) into this directory. */
  cpuProfDir: string | undefined;
  /** Extra node flags for the SUT (e.g. --heap-prof). */
  sutNodeArgs: string[];
  /** Split NOTIFY latency at the SUT's socket read (bench/sut/stage-probe.ts). */
  stages: boolean;
  /** Run the SUT with `--single-threaded-gc` (no GC helper threads on its one core). */
  sutSingleThreadedGc: boolean;
  /** Run the simulator (the load generator) with its steady GC flags on its one core (harness/generator-process.ts). */
  simSteadyGc: boolean;
  /** Extra node flags for the simulator (e.g. --trace-gc-nvp). */
  simNodeArgs: string[];
  /**
   * How the simulator paces its NOTIFYs (`--pacing`; load/presence-server-sim.ts, SimPacing); undefined:
   * each workload's own (W2 over UDP and TCP `spin`, on its pinned load core; every other `ticks`).
   */
  simPacing: SimPacing | undefined;
  /** Nice value of the SUT's threads but the main one (the daemon's helper_threads_nice; 0 = leave them). */
  sutHelperThreadsNice: number;
  /** Seconds after the SUT's start before it lowers them, once quiet (the daemon's helper_threads_nice_after_s; 0 = at the start). */
  sutHelperThreadsNiceAfterS: number;
  /** The SUT's kept_body_compaction_ms; undefined: the product's default. */
  sutKeptBodyCompactionMs?: number;
  /** W0: write a heap snapshot of the SUT at the largest N into this directory. */
  heapSnapshotDir: string | undefined;
  /** W4: a sampling heap profile of what outlived a scavenge over the recovery (bench/survivor-summary.ts). */
  survivorProfileDir: string | undefined;
  /** W0: at the largest N, after the at-rest sample, what a compacting GC and glibc's malloc_trim would give (bench only). */
  memoryLevers?: boolean;
  /** Per-workload overrides; each workload has its own defaults. */
  n: number | undefined;
  rates: number[] | undefined;
  stepS: number | undefined;
  /** W2: unmeasured seconds at the first rate before the first step. */
  warmUpS: number | undefined;
  /** W2 over UDP with Kamailio: SUT and sink steps at 10,000/s in alternation, the ramp's pair included (3). */
  ratioPairs?: number;
  settleS: number | undefined;
  /** W0: seconds more at rest before the top step's second sample (60; smoke 0; 0 = none). */
  restLateS: number | undefined;
  durationS: number | undefined;
  churnRate: number | undefined;
  expires: number | undefined;
  spreadMs: number | undefined;
  /** Largest number of subscriptions being set up at once. */
  window: number;
  /** Smoke mode: tiny sizes, no Kamailio, seconds not minutes. */
  smoke: boolean;
}

export function say(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface PerSubscription {
  rssBytesPerSub: number;
  heapBytesPerSub: number;
}

export function perSubscription(sample: MemorySample, baseline: MemorySample, n: number): PerSubscription {
  return {
    rssBytesPerSub: n > 0 ? Math.round((sample.rss - baseline.rss) / n) : 0,
    heapBytesPerSub: n > 0 ? Math.round((sample.heapUsed - baseline.heapUsed) / n) : 0,
  };
}

export function ports(o: BenchOptions): { sim: number; sut: number; sink: number; pua: number } {
  return { sim: o.portBase, sut: o.portBase + 2, sink: o.portBase + 4, pua: o.portBase + 5 };
}

export const round = (x: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** Starts the simulator and the SUT of a workload on its ports, with the common options applied. */
export function startRig(o: BenchOptions, capacity: number, extra: Partial<RigOptions> = {}): Promise<Rig> {
  const p = ports(o);
  return Rig.start({
    transport: o.transport,
    simPort: p.sim,
    sutPort: p.sut,
    capacity,
    ...(o.cpuProfDir !== undefined ? { cpuProfDir: o.cpuProfDir } : {}),
    sutNodeArgs: o.sutNodeArgs,
    ...(o.stages ? { stages: true } : {}),
    ...(o.sutSingleThreadedGc ? { sutSingleThreadedGc: true } : {}),
    simSteadyGc: o.simSteadyGc,
    simNodeArgs: o.simNodeArgs,
    simPacing: o.simPacing ?? 'ticks',
    helperThreadsNice: o.sutHelperThreadsNice,
    helperThreadsNiceAfterS: o.sutHelperThreadsNiceAfterS,
    ...(o.sutKeptBodyCompactionMs !== undefined ? { keptBodyCompactionMs: o.sutKeptBodyCompactionMs } : {}),
    ...extra,
    // Capacity is measured unpaced; W4 (the restart storm) sets the product's default pacing itself.
    settings: { maxSubscribeRate: 0, ...extra.settings },
  });
}
