/**
 * W0 hold (docs/benchmark-method.md §3): establish N subscriptions in steps
 * (20k, 50k, 100k by default: the sizes issue 11 names, 20,000 and 100,000), and at each step measure the establishment rate
 * and CPU per establishment, then RSS and heap per held subscription after a
 * forced GC — just after the burst (server transactions still in their Timer J
 * wait) and again at rest after `settle` seconds, with the idle CPU meanwhile.
 * While the SUT rests after each step, Kamailio pua (pua.cfg, on the SUT's core beside it) is taken
 * to the same N, driven by `kamcmd pua.subscribe` (docs/benchmark-method.md §6.5), for the ratios:
 * measured minutes after the SUT, pua ran on another phase of a host whose speed drifts within
 * minutes (one standard run had the SUT's 20k and 50k steps at 2.2 times the CPU per establishment
 * of its own 100k step), hence step by step.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { EstablishResult, GcPause, MemorySample } from '../sut/sut-process.js';
import type { SmapsSummary } from '../sut/smaps-summary.js';
import { KamailioPeer, kamailioAvailable } from '../harness/kamailio.js';
import { type Rig, SUT_CORE, monoMs } from '../harness/rig.js';
import { type BenchOptions, type PerSubscription, perSubscription, ports, say, sleep, startRig } from './common.js';
import { cpuUsBetween } from '../support/cpu-usage.js';

export interface W0Level {
  n: number;
  establish: EstablishResult;
  justEstablished: MemorySample & PerSubscription;
  atRest?: MemorySample & PerSubscription;
  settleS: number;
  /** Where the SUT's RSS lies at rest (Linux): glibc arenas, V8 and other anonymous mappings, files. */
  atRestSmaps?: SmapsSummary | undefined;
  atRestKeptBodies?: object | undefined;
  /**
   * The top step only: the same sample again `lateS` seconds after `atRest` (docs/establishment.md §17).
   * At `settle` (33 s) the burst's last Timer J entries (32 s) have only just gone and the kept bodies
   * were compacted a few seconds before: V8 still counts the process as allocating, and keeps its
   * grown young generation. This one is the process idle.
   */
  atRestLate?: RestSample & { lateS: number };
  /** SUT CPU as a share of one core while holding N idle (refresh timers only). */
  idleCoreShare?: number;
  /**
   * The load generator's CPU over the burst (process.cpuUsage() of the simulator, RPC included):
   * µs per establishment and share of its core. Near 1 it, not the SUT, sets the rate.
   */
  sim?: { cpuUs: number; cpuUsPerEstablishment: number; coreShare: number };
}

/** What restThenSample() measured: the SUT's CPU share while it waited, then memory after forced GCs. */
export interface RestSample {
  idleCoreShare: number;
  memory: MemorySample & PerSubscription;
  smaps: SmapsSummary | undefined;
}

/** Leaves the SUT alone for `seconds` (its CPU share meanwhile), then samples its memory at rest per held subscription. */
async function restThenSample(rig: Rig, seconds: number, baseline: MemorySample, held: number): Promise<RestSample> {
  const c0 = await rig.sut.call<NodeJS.CpuUsage>('cpu');
  const t0 = monoMs();
  await sleep(seconds * 1000);
  const c1 = await rig.sut.call<NodeJS.CpuUsage>('cpu');
  const idleCoreShare = cpuUsBetween(c0, c1) / 1000 / (monoMs() - t0);
  const m = await rig.memory();
  return { idleCoreShare, memory: { ...m, ...perSubscription(m, baseline, held) }, smaps: await rig.sut.call<SmapsSummary | undefined>('smaps') };
}

export interface PuaLevel {
  n: number;
  /** The SUT's share of the core during the step (it rests after its own step, holding its N, beside pua). */
  sutCoreShareDuring?: number;
  rpcElapsedMs: number;
  perSecond: number;
  cpuUsPerEstablishment: number;
  shmRealUsedBytesPerSub: number;
  shmUsedBytesPerSub: number;
  /** max_used growth during the burst per subscription (transactions in tm's wait state). */
  shmPeakBytesPerSub: number;
  established: number;
}

export interface PuaResult {
  port: number;
  processes: number;
  baselineRealUsed: number;
  levels: PuaLevel[];
  error?: string;
}

export interface W0Result {
  n: number;
  transport: string;
  window: number;
  baseline: MemorySample;
  baselineSmaps?: SmapsSummary | undefined;
  levels: W0Level[];
  total: { n: number; established: number; elapsedMs: number; perSecond: number; cpuUsPerEstablishment: number };
  establishmentLoss: { lost: number; duplicated: number; mustDeliver: number };
  gcMaxPauseMs: number;
  /** What the largest pause was (perf_hooks kind and flags), and in which burst (`step`: its N), if in one. */
  gcLargest?: GcPause & { step?: number };
  sim: unknown;
  pua?: PuaResult;
  heapSnapshot?: string;
  /** --memory-levers: at the largest N after its at-rest sample (docs/establishment.md §14). */
  levers?: MemoryLevers;
}

interface LeverSample {
  memory: MemorySample & PerSubscription;
  smaps: SmapsSummary | undefined;
}

export interface MemoryLevers {
  n: number;
  /** After one full GC with --compact-on-every-full-gc set for it; `pauseMs` is that GC's. */
  compactingGc?: LeverSample & { pauseMs: number };
  /** Then after malloc_trim(0) in the SUT (gdb), and how long the call held the process (gdb included). */
  mallocTrim?: LeverSample & { callMs: number };
  error?: string;
}

/** One compacting full GC, then malloc_trim(0) through gdb, each followed by a sample (bench only). */
async function measureLevers(rig: Rig, n: number, baseline: MemorySample): Promise<MemoryLevers> {
  const out: MemoryLevers = { n };
  const c = await rig.sut.call<{ ms: number; memory: MemorySample; smaps: SmapsSummary } | undefined>('compactingGc', undefined, 120_000);
  if (c !== undefined) {
    out.compactingGc = { pauseMs: c.ms, memory: { ...c.memory, ...perSubscription(c.memory, baseline, n) }, smaps: c.smaps };
    say(`     one compacting full GC: ${c.ms.toFixed(0)} ms; then RSS ${out.compactingGc.memory.rssBytesPerSub} B/sub, heap ${out.compactingGc.memory.heapBytesPerSub} B/sub`);
  }
  try {
    const at = monoMs();
    execFileSync('gdb', ['-p', String(rig.sut.pid), '-batch', '-ex', 'call (int) malloc_trim(0)'], { stdio: 'ignore', timeout: 60_000 });
    const callMs = monoMs() - at;
    const m = await rig.memory();
    out.mallocTrim = { callMs, memory: { ...m, ...perSubscription(m, baseline, n) }, smaps: await rig.sut.call<SmapsSummary | undefined>('smaps') };
    say(`     then malloc_trim(0) (gdb, ${callMs.toFixed(0)} ms): RSS ${out.mallocTrim.memory.rssBytesPerSub} B/sub, main arena ${out.mallocTrim.smaps?.brkHeapKb ?? '?'} kB`);
  } catch (e) {
    out.error = `malloc_trim through gdb: ${e instanceof Error ? e.message : String(e)}`;
  }
  return out;
}

function ladder(n: number, smoke: boolean): number[] {
  const steps = (smoke ? [n] : [20_000, 50_000, 100_000, 250_000]).filter((s) => s < n);
  steps.push(n);
  return [...new Set(steps)].sort((a, b) => a - b);
}

export async function runW0(o: BenchOptions): Promise<W0Result> {
  const n = o.n ?? (o.smoke ? 1000 : 100_000);
  const settleS = o.settleS ?? (o.smoke ? 0 : 33);
  const lateS = o.restLateS ?? (o.smoke ? 0 : 60);
  const levels = ladder(n, o.smoke);
  say(`W0 hold: N=${n} (steps ${levels.join(', ')}), ${o.transport}, settle ${settleS} s`);
  const rig = await startRig(o, n);
  const result: W0Result = {
    n,
    transport: o.transport,
    window: o.window,
    baseline: await rig.memory(),
    baselineSmaps: await rig.sut.call<SmapsSummary | undefined>('smaps'),
    levels: [],
    total: { n, established: 0, elapsedMs: 0, perSecond: 0, cpuUsPerEstablishment: 0 },
    establishmentLoss: { lost: 0, duplicated: 0, mustDeliver: 0 },
    gcMaxPauseMs: 0,
    sim: undefined,
  };
  // pua runs on the SUT's core from before the first step (idle until its first step). Its
  // subscriptions live in the same simulator: the SUT's losses are counted over its own steps' NOTIFYs.
  const pua = o.kamailio && !o.smoke ? new PuaSession(rig, o, levels[levels.length - 1] ?? 0) : undefined;
  const sutSeqRanges: Array<[number, number]> = [];
  try {
    if (pua !== undefined) result.pua = await pua.start();
    let from = 0;
    let cpuUs = 0;
    for (const level of levels) {
      const simCpu0 = await rig.sim.call<NodeJS.CpuUsage>('cpu');
      const seqFrom = (await rig.simStats()).nextSeq;
      const est = await rig.establish(from, level, o.window, Math.max(60_000, level * 2));
      sutSeqRanges.push([seqFrom, (await rig.simStats()).nextSeq]);
      const simCpu1 = await rig.sim.call<NodeJS.CpuUsage>('cpu');
      const simCpuUs = cpuUsBetween(simCpu0, simCpu1);
      const sim = {
        cpuUs: simCpuUs,
        cpuUsPerEstablishment: est.established > 0 ? simCpuUs / est.established : 0,
        coreShare: est.elapsedMs > 0 ? simCpuUs / 1000 / est.elapsedMs : 0,
      };
      say(
        `  ${level}: ${est.established}/${est.requested} in ${(est.elapsedMs / 1000).toFixed(1)} s (${Math.round(est.perSecond)}/s, ${est.cpuUsPerEstablishment.toFixed(0)} µs CPU each; simulator ${sim.cpuUsPerEstablishment.toFixed(0)} µs each, ${(sim.coreShare * 100).toFixed(0)} % of its core)`,
      );
      result.total.established += est.established;
      result.total.elapsedMs += est.elapsedMs;
      cpuUs += est.cpuUs;
      const just = await rig.memory();
      const entry: W0Level = { n: level, establish: est, justEstablished: { ...just, ...perSubscription(just, result.baseline, level) }, settleS, sim };
      // pua's step runs while the SUT rests, so that the SUT's timeline (burst, rest, sample, next
      // burst) is what it was with pua after it: a longer idle before the next burst had V8's memory
      // reducer start a mark-compact in that burst (56 ms at 100k in one run).
      const puaStep = pua?.level(from, level);
      if (settleS > 0) {
        const rest = await restThenSample(rig, settleS, result.baseline, level);
        entry.idleCoreShare = rest.idleCoreShare;
        entry.atRest = rest.memory;
        entry.atRestSmaps = rest.smaps;
        // The kept bodies' slabs and their occupancy (src/qsa/kept-body-store.ts), where the build reports them.
        entry.atRestKeptBodies = (await rig.sut.call<{ keptBodies?: object }>('stats')).keptBodies;
        if (level === n && lateS > 0) entry.atRestLate = { lateS, ...(await restThenSample(rig, lateS, result.baseline, level)) };
      }
      const shown = entry.atRest ?? entry.justEstablished;
      say(`     RSS ${shown.rssBytesPerSub} B/sub, heap ${shown.heapBytesPerSub} B/sub${entry.atRest ? ' (at rest)' : ''}; forced full GC ${shown.forcedGcMs.toFixed(0)} ms`);
      const late = entry.atRestLate;
      if (late !== undefined) {
        say(`     ${late.lateS} s later: RSS ${late.memory.rssBytesPerSub} B/sub, heap ${late.memory.heapBytesPerSub} B/sub; SUT at ${(late.idleCoreShare * 100).toFixed(2)} % of its core meanwhile`);
      }
      const kept = entry.atRestKeptBodies as { bodies?: number; compacted?: number; sweep?: { compactAfterMs: number; ticks: number; totalUs: number; longestUs: number } } | undefined;
      if (kept?.sweep !== undefined && kept.sweep.compactAfterMs > 0) {
        say(
          `     kept bodies ${kept.compacted ?? 0} of ${kept.bodies ?? 0} compacted (after ${kept.sweep.compactAfterMs} ms); sweep so far ${kept.sweep.ticks} ticks, ` +
            `${(kept.sweep.totalUs / 1000).toFixed(1)} ms in all, longest tick ${kept.sweep.longestUs.toFixed(0)} µs`,
        );
      }
      result.levels.push(entry);
      await puaStep;
      from = level;
    }
    if (o.memoryLevers === true && settleS > 0) result.levers = await measureLevers(rig, n, result.baseline);
    if (o.heapSnapshotDir !== undefined) {
      mkdirSync(o.heapSnapshotDir, { recursive: true });
      const file = join(o.heapSnapshotDir, `w0-${n}-${Date.now()}.heapsnapshot`);
      result.heapSnapshot = await rig.sut.call<string>('heapSnapshot', { path: file }, 600_000);
      say(`  heap snapshot: ${result.heapSnapshot}`);
    }
    result.total.perSecond = (result.total.established * 1000) / Math.max(1, result.total.elapsedMs);
    result.total.cpuUsPerEstablishment = result.total.established > 0 ? cpuUs / result.total.established : 0;
    result.sim = await rig.simStats();
    for (const [seqFrom, seqTo] of sutSeqRanges) {
      const loss = await rig.lossIn(seqFrom, seqTo);
      result.establishmentLoss.lost += loss.lost;
      result.establishmentLoss.duplicated += loss.duplicated;
      result.establishmentLoss.mustDeliver += loss.mustDeliver;
    }
    const st = await rig.sut.call<{ gc: { max: number; largest?: GcPause } }>('stats');
    result.gcMaxPauseMs = st.gc.max;
    // In a burst: as that burst's window saw it (its time from the burst's start); else as the whole run saw it.
    const inBurst = result.levels.find((l) => l.establish.gcMaxPauseMs === st.gc.max && l.establish.gcLargest !== undefined);
    if (inBurst?.establish.gcLargest !== undefined) result.gcLargest = { ...inBurst.establish.gcLargest, step: inBurst.n };
    else if (st.gc.largest !== undefined) result.gcLargest = st.gc.largest;
  } finally {
    await pua?.stop();
    await rig.stop();
  }
  return result;
}

/** Kamailio pua taken to the same steps as the SUT, driven through pua_rpc; memory from core.shmmem. */
class PuaSession {
  private readonly out: PuaResult;
  private readonly peer: KamailioPeer | undefined;
  private base = { realUsed: 0, used: 0 };

  constructor(
    private readonly rig: Rig,
    o: BenchOptions,
    private readonly top: number,
  ) {
    const port = ports(o).pua;
    this.out = { port, processes: 0, baselineRealUsed: 0, levels: [] };
    if (!kamailioAvailable()) this.out.error = 'kamailio not installed';
    else this.peer = new KamailioPeer('pua', port);
  }

  /** Starts pua on the SUT's core; the result fills in as the steps are measured. */
  async start(): Promise<PuaResult> {
    const k = this.peer;
    if (k === undefined) return this.out;
    try {
      // Room for the steady state (≈0.9 KB/sub) and the tm transactions of a burst (≈10 KB each).
      await k.start(SUT_CORE, Math.max(256, Math.min(8192, Math.ceil((this.top * 2500) / 2 ** 20) + 256)));
      this.out.processes = k.processCount();
      await sleep(500);
      this.base = k.shmmem();
      this.out.baselineRealUsed = this.base.realUsed;
      say(`  Kamailio pua (pid ${k.pid}, ${this.out.processes} processes) on udp 127.0.0.1:${this.out.port}, beside the SUT`);
    } catch (e) {
      this.fail(e);
    }
    return this.out;
  }

  /** Takes pua from `from` to `level` subscriptions, as the SUT's step just did (while the SUT rests). */
  async level(from: number, level: number): Promise<void> {
    const k = this.peer;
    if (k === undefined || this.out.error !== undefined) return;
    try {
      const rig = this.rig;
      // The SUT's last answers to its step's NOTIFYs are counted before pua's begin.
      await sleep(1000);
      const before = k.shmmem();
      const okBefore = (await rig.simStats()).notifyResponses['200'] ?? 0;
      const sut0 = await rig.sut.call<NodeJS.CpuUsage>('cpu');
      const cpu0 = k.cpuUs();
      const t0 = monoMs();
      const simPort = rig.simPort;
      const port = this.out.port;
      const lines = function* () {
        for (let i = from; i < level; i++) yield `pua.subscribe sip:user${i}@127.0.0.1:${simPort} sip:w${i}@127.0.0.1:${port} presence 3600`;
      };
      await k.rpcSubscribe(lines());
      // Established = the simulator answered the SUBSCRIBE and pua answered the first NOTIFY (the idle
      // SUT is sent nothing meanwhile, so every new 200 to a NOTIFY is pua's).
      const want = level - from;
      let done = 0;
      const deadline = monoMs() + Math.max(60_000, want * 2);
      for (;;) {
        const s = await rig.simStats();
        done = (s.notifyResponses['200'] ?? 0) - okBefore;
        if (done >= want || monoMs() > deadline) break;
        await sleep(20);
      }
      const elapsedMs = monoMs() - t0;
      const cpuUs = k.cpuUs() - cpu0;
      const sutCpuUs = cpuUsBetween(sut0, await rig.sut.call<NodeJS.CpuUsage>('cpu'));
      // tm keeps each finished transaction for its wait timer (5 s) before freeing it.
      await sleep(6000);
      const after = k.shmmem();
      const entry: PuaLevel = {
        n: level,
        sutCoreShareDuring: sutCpuUs / 1000 / Math.max(1, elapsedMs),
        established: done,
        rpcElapsedMs: elapsedMs,
        perSecond: (done * 1000) / Math.max(1, elapsedMs),
        cpuUsPerEstablishment: done > 0 ? cpuUs / done : 0,
        shmRealUsedBytesPerSub: Math.round((after.realUsed - this.base.realUsed) / level),
        shmUsedBytesPerSub: Math.round((after.used - this.base.used) / level),
        shmPeakBytesPerSub: Math.round((after.maxUsed - before.realUsed) / Math.max(1, want)),
      };
      say(
        `  pua ${level}: ${done}/${want} in ${(elapsedMs / 1000).toFixed(1)} s (${Math.round(entry.perSecond)}/s, ${entry.cpuUsPerEstablishment.toFixed(0)} µs CPU each; ` +
          `the resting SUT at ${((entry.sutCoreShareDuring ?? 0) * 100).toFixed(1)} % of the core); shm real_used ${entry.shmRealUsedBytesPerSub} B/sub`,
      );
      this.out.levels.push(entry);
    } catch (e) {
      this.fail(e);
    }
  }

  async stop(): Promise<void> {
    await this.peer?.stop();
  }

  private fail(e: unknown): void {
    this.out.error = e instanceof Error ? e.message : String(e);
  }
}

const GC_KINDS: Record<number, string> = { 1: 'scavenge', 2: 'minor mark-compact', 4: 'mark-compact', 8: 'start of incremental marking', 16: 'weak callbacks' };
const GC_FLAGS: Array<[number, string]> = [
  [4, 'forced'],
  [16, 'all available garbage'],
  [64, 'idle'],
];
/**
 * V8's callback flags 8 (synchronous phantom callbacks) and 32 (collect all external memory) together are
 * the GC that external memory pressure asks for; 32 alone is the one V8's memory reducer starts once the
 * allocation rate falls (a compacting GC that reduces memory: docs/establishment.md §11).
 */
function originOf(flags: number): string | undefined {
  if ((flags & 40) === 40) return 'external memory';
  if ((flags & 32) !== 0) return 'memory reducer';
  if ((flags & 8) !== 0) return 'synchronous phantom callbacks';
  return undefined;
}

/** "mark-compact, in the 50k step, 3.2 s into it": what a GC pause was, for the run's text. */
export function describeGcPause(p: GcPause & { step?: number }): string {
  const origin = originOf(p.flags);
  const flags = [...(origin !== undefined ? [origin] : []), ...GC_FLAGS.filter(([bit]) => (p.flags & bit) !== 0).map(([, name]) => name)];
  const kind = (GC_KINDS[p.kind] ?? `kind ${p.kind}`) + (flags.length > 0 ? ` (${flags.join(', ')})` : '');
  return p.step !== undefined ? `${kind}, in the ${p.step / 1000}k step, ${(p.atMs / 1000).toFixed(1)} s into it` : `${kind}, outside the bursts`;
}
