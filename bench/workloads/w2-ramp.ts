/**
 * W2 rate ramp (docs/benchmark-method.md §3): N dialogs (10k), the simulator sends
 * in-dialog NOTIFYs at stepped rates until the service level breaks (one step
 * with losses, timeouts, non-200 answers, a saturated SUT or a generator that
 * cannot keep up; a step that fails on latency alone ends the ramp only past
 * TARGET_RATE and the second time in a row, so the target step is always
 * measured). Before the first step the SUT settles: the ramp measures NOTIFYs
 * in steady state, not the establishment's garbage collection (W0 measures
 * that). The knee
 * is the highest step held with p99 NOTIFY-to-queue latency under 5 ms,
 * nothing lost or duplicated, every NOTIFY answered 200 without timeouts,
 * at most 0.1 % retransmissions, and the offered rate actually sent.
 * Kamailio's stateless sink (notify-sink.cfg, one worker, core 1) gets each
 * rate from the same generator right after the SUT's step at that rate, for
 * CPU µs per NOTIFY ratios: the two figures of a ratio are seconds apart, not
 * minutes, because this machine's speed drifts within minutes
 * (docs/benchmark-method.md §5 item 2).
 */
import { KamailioPeer, kamailioAvailable } from '../harness/kamailio.js';
import type { ChildRpc } from '../harness/child-rpc.js';
import { type NotifyWindow, type Rig, SUT_CORE, waitConsumersQuiet } from '../harness/rig.js';
import type { EstablishResult } from '../sut/sut-process.js';
import type { RateResult, SimPacing, SimStats } from '../load/presence-server-sim.js';
import { type BenchOptions, ports, say, sleep, startRig } from './common.js';
import { cpuUsBetween } from '../support/cpu-usage.js';

export const SLO_P99_MS = 5;

export interface RampStep extends NotifyWindow {
  rate: number;
  pass: boolean;
  failures: string[];
}

export interface SinkStep {
  rate: number;
  sent: number;
  achievedRate: number;
  answered200: number;
  cpuUsPerNotify: number;
  coreShare: number;
  /** The idle SUT's share of the shared core in the last second before the step. */
  sutCoreShareBefore: number;
  /** The idle SUT's share of the shared core during the step (its Timer J expiring the earlier steps' transactions). */
  sutCoreShareDuring: number;
}

/** One SUT step and the sink's step right after it, at the same rate. */
export interface RatioPair {
  sutCpuUsPerNotify: number;
  sinkCpuUsPerNotify: number;
  ratio: number;
  /** The SUT step's NOTIFY-to-queue p99, for the record: the service level is judged on the ramp's step. */
  sutP99Ms: number;
}

export interface W2Result {
  n: number;
  transport: string;
  stepS: number;
  /** Unmeasured seconds at the first rate after the establishment, before the first step. */
  warmUpS: number;
  /** How the simulator paced its NOTIFYs (`--pacing`; load/presence-server-sim.ts, SimPacing). */
  pacing: SimPacing;
  establish: EstablishResult;
  steps: RampStep[];
  knee?: { rate: number; achievedRate: number; cpuUsPerNotify: number; p99Ms: number; sutCoreShare: number };
  /** Why the ramp stopped: the first failing step's reasons, or 'top of the ramp'. */
  stoppedBecause: string;
  /** True when the generator, not the SUT, could not reach the offered rate at the failing step. */
  generatorLimited: boolean;
  gcMaxPauseMs: number;
  /** Time from the end of the establishment to the first step, waiting for the SUT to settle. */
  settleMs: number;
  /** The SUT's share of its core in the last second of the settle. */
  settledCoreShare: number;
  sink?: { port: number; processes: number; steps: SinkStep[]; error?: string };
  /**
   * At TARGET_RATE, the SUT's step and the sink's step repeated in alternation (the ramp's own pair
   * first): the ratio issue 11 judges is their median, as this machine's speed drifts within tens of
   * seconds (docs/benchmark-method.md §5 item 2). Only CPU is compared; the knee is the ramp's step.
   */
  ratioPairs?: { rate: number; pairs: RatioPair[]; medianRatio: number };
  /** The SUT's kept-body store at the end (slabs, compacted bodies, and its compaction sweep's own figures), where the build reports them. */
  keptBodies?: object;
}

/**
 * W2's generator pacing unless `--pacing` says otherwise: `spin`. The simulator has its load core to
 * itself, and sleeping between 1 ms ticks it made the SUT pay for waking it: on loopback the SUT's
 * answer runs the simulator's receive path and wake-up on the SUT's core, and under this machine's
 * hypervisor, waking an idle virtual CPU is an interrupt that exits to the host. At 15,000-25,000/s
 * the SUT fell into stretches of 100-600 ms in which it sent about one such wake-up per answer and
 * handled half the NOTIFYs per ms of its core, with its core as fast as ever (docs/latency-tail.md,
 * "Episodes of half speed, and the generator's pacing"). A presence server on another machine is
 * never woken by our answers, and sends each NOTIFY when it has one, not in 1 ms bursts.
 */
export const W2_PACING: SimPacing = 'spin';

export function w2Pacing(o: BenchOptions): SimPacing {
  return o.simPacing ?? W2_PACING;
}

/** Issue 11's target step: a ramp always goes at least this far unless a step fails hard. */
export const TARGET_RATE = 10_000;

/** The settle after the establishment ends once the SUT used less than this share of its core for 2 s in a row. */
const SETTLED_CORE_SHARE = 0.05;
/** Bound on the settle; what it took is in the result (`settleMs`). */
const SETTLE_BOUND_MS = 30_000;
/** Bound on the wait for an idle SUT before each sink step. */
const SINK_SETTLE_BOUND_MS = 15_000;
/** Seconds of unmeasured NOTIFYs at the first rate after the settle (`--warm-up S`; smoke runs have none). */
const WARM_UP_S = 2;

/** SUT and sink steps at TARGET_RATE, in alternation, the ramp's pair included (`--ratio-pairs K`). */
const DEFAULT_RATIO_PAIRS = 3;

/** The pair of median ratio (the lower of the two middle ones for an even count): a measured pair, not a blend. */
export function medianPair(pairs: RatioPair[]): RatioPair | undefined {
  const sorted = [...pairs].sort((a, b) => a.ratio - b.ratio);
  return sorted[(sorted.length - 1) >> 1];
}

const DEFAULT_RATES = [1000, 2000, 5000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000, 60_000, 80_000];

/** What a step's service level is judged on (one SUT's window, or W2-pair's two together). */
export interface StepCounts {
  p99Ms: number;
  lost: number;
  duplicated: number;
  non2xx: number;
  timeouts: number;
  retransmissions: number;
  sent: number;
  achievedRate: number;
}

function judge(w: NotifyWindow, rate: number): string[] {
  return serviceLevelFailures({ ...w, p99Ms: w.sut.latency.p99Ms }, rate);
}

/** Why a step at `rate` misses the service level (empty: it holds). */
export function serviceLevelFailures(w: StepCounts, rate: number): string[] {
  const f: string[] = [];
  if (w.p99Ms >= SLO_P99_MS) f.push(`p99 ${w.p99Ms} ms`);
  if (w.lost > 0) f.push(`${w.lost} lost`);
  if (w.duplicated > 0) f.push(`${w.duplicated} duplicated`);
  if (w.non2xx > 0) f.push(`${w.non2xx} non-200`);
  if (w.timeouts > 0) f.push(`${w.timeouts} timeouts`);
  if (w.retransmissions > w.sent * 0.001) f.push(`${w.retransmissions} retransmissions`);
  if (w.achievedRate < rate * 0.97) f.push(`sent only ${Math.round(w.achievedRate)}/s`);
  return f;
}

/**
 * Waits until the SUT's CPU over the last second falls below SETTLED_CORE_SHARE `quietSecondsNeeded`
 * times in a row (after the establishment: the concurrent marking, sweeping and JIT work left by the
 * burst that made N dialogs; after an overloaded step: its backlog), at most `boundMs`.
 */
function settleSut(rig: Rig, boundMs: number, quietSecondsNeeded = 2): Promise<{ settleMs: number; coreShare: number }> {
  return settleSuts([rig.sut], boundMs, quietSecondsNeeded);
}

/** settleSut for several SUT processes: each of them that quiet (`coreShare`: the busiest one's). */
export async function settleSuts(suts: readonly ChildRpc[], boundMs: number, quietSecondsNeeded = 2): Promise<{ settleMs: number; coreShare: number }> {
  const t0 = performance.now();
  let quietSeconds = 0;
  let coreShare = 1;
  let last = await Promise.all(suts.map((s) => s.call<NodeJS.CpuUsage>('cpu')));
  let lastAt = performance.now();
  while (performance.now() - t0 < boundMs && quietSeconds < quietSecondsNeeded) {
    await sleep(1000);
    const now = await Promise.all(suts.map((s) => s.call<NodeJS.CpuUsage>('cpu')));
    const at = performance.now();
    coreShare = Math.max(...now.map((c, i) => cpuUsBetween(last[i]!, c) / 1000 / Math.max(1, at - lastAt)));
    quietSeconds = coreShare < SETTLED_CORE_SHARE ? quietSeconds + 1 : 0;
    last = now;
    lastAt = at;
  }
  return { settleMs: Math.round(performance.now() - t0), coreShare };
}

/**
 * After the establishment: waits for the SUTs to settle (settleSuts), then sends unmeasured NOTIFYs at
 * the first rate for `--warm-up` seconds (WARM_UP_S; none in the smoke run). The settle lets the
 * establishment's GC work end, but V8's helper threads (on the SUT's core) still compile for the
 * in-dialog NOTIFY load when it starts; 2 s of it take that out of the first step (docs/latency-tail.md,
 * "Over TCP, at 5,000/s"). W2 and W2-pair both start their ramp so.
 */
export async function settleAndWarmUp(
  rig: Rig,
  suts: readonly ChildRpc[],
  o: BenchOptions,
  rates: readonly number[],
): Promise<{ settle: { settleMs: number; coreShare: number }; warmUpS: number }> {
  const settle = await settleSuts(suts, o.smoke ? 500 : SETTLE_BOUND_MS);
  say(`  settled in ${(settle.settleMs / 1000).toFixed(1)} s (SUT${suts.length > 1 ? 's' : ''} at ${(settle.coreShare * 100).toFixed(1)} % of ${suts.length > 1 ? 'a' : 'its'} core${suts.length > 1 ? ' at most' : ''})`);
  const warmUpS = o.warmUpS ?? (o.smoke ? 0 : WARM_UP_S);
  if (warmUpS > 0 && rates.length > 0) {
    await rig.sim.call<RateResult>('rate', { rate: rates[0], durationMs: warmUpS * 1000 }, warmUpS * 1000 + 120_000);
    await rig.sim.call('drain', { boundMs: 40_000 }, 50_000);
    await waitConsumersQuiet(suts, 200, 20_000);
  }
  return { settle, warmUpS };
}

/** The fields of the SUT's kept-body sweep figures W2 prints (src/qsa/kept-body-store.ts, KeptBodySweepStats). */
interface SweepFigures {
  compactAfterMs: number;
  passes: number;
  ticks: number;
  totalUs: number;
  longestUs: number;
  compactedBySweep: number;
}

export async function runW2(o: BenchOptions): Promise<W2Result> {
  const n = o.n ?? (o.smoke ? 500 : 10_000);
  const stepS = o.stepS ?? (o.smoke ? 1.5 : 10);
  const rates = o.rates ?? (o.smoke ? [500, 1000, 2000] : DEFAULT_RATES);
  const pacing = w2Pacing(o);
  say(`W2 ramp: N=${n}, ${o.transport}, ${stepS} s steps, rates ${rates.join(', ')}, generator pacing ${pacing}`);
  const rig = await startRig(o, n, { simPacing: pacing });
  let result: W2Result | undefined;
  let sink: OpenSink | undefined;
  try {
    const establish = await rig.establish(0, n, o.window, 120_000);
    const { settle, warmUpS } = await settleAndWarmUp(rig, [rig.sut], o, rates);
    // Kamailio idles on the SUT's core beside the idle SUT until the first step (its timer processes
    // wake a few times a second); each sink step runs while the SUT idles in turn.
    if (o.kamailio && !o.smoke && o.transport === 'udp') sink = await openSink(rig, o);
    const steps: RampStep[] = [];
    let ratioPairs: W2Result['ratioPairs'];
    let stoppedBecause = 'top of the ramp';
    let generatorLimited = false;
    let consecutiveFailures = 0;
    for (const rate of rates) {
      const w = await rig.notifyWindow({ rate, durationMs: stepS * 1000 });
      const failures = judge(w, rate);
      const step: RampStep = { rate, ...w, pass: failures.length === 0, failures };
      steps.push(step);
      say(
        `  ${rate}/s: sent ${Math.round(w.achievedRate)}/s, SUT ${(w.sutCoreShare * 100).toFixed(0)} % core, ${w.cpuUsPerNotify.toFixed(1)} µs/NOTIFY, ` +
          `p50/p99/max ${w.sut.latency.p50Ms}/${w.sut.latency.p99Ms}/${w.sut.latency.maxMs} ms, lost ${w.lost}, dup ${w.duplicated}, retrans ${w.retransmissions}` +
          (failures.length > 0 ? `  FAIL: ${failures.join(', ')}` : ''),
      );
      const th = w.sut.threads;
      const sg = w.sut.stages;
      if (th !== undefined || sg !== undefined) {
        say(
          '    ' +
            (sg !== undefined
              ? `send→socket read p50/p99/max ${sg.sendToRead.p50Ms}/${sg.sendToRead.p99Ms}/${sg.sendToRead.maxMs} ms; ` +
                `socket read→dequeue ${sg.readToDequeue.p50Ms}/${sg.readToDequeue.p99Ms}/${sg.readToDequeue.maxMs} ms; ` +
                (sg.readAhead !== undefined ? `messages read after it before its dequeue p50/p99/max ${sg.readAhead.p50}/${sg.readAhead.p99}/${sg.readAhead.max} (mean ${sg.readAhead.mean}); ` : '')
              : '') +
            // /proc/self/io counts read()/write() type calls only: over UDP the socket's recvmsg/sendmsg
            // are not in it (docs/latency-tail.md, "Between the socket and the NOTIFY path"), so say nothing.
            (w.sut.syscalls !== undefined && w.sent > 0 && o.transport !== 'udp'
              ? `SUT read/write system calls per NOTIFY ${(w.sut.syscalls.reads / w.sent).toFixed(3)}/${(w.sut.syscalls.writes / w.sent).toFixed(3)}; `
              : '') +
            (th !== undefined ? `SUT main thread ran ${th.mainRunMs} ms, waited for the CPU ${th.mainWaitMs} ms; its other threads ran ${th.otherRunMs} ms` : ''),
        );
      }
      const c = w.sut.counters;
      if (c !== undefined && w.sent > 0) {
        const per = (x: number): string => (x / w.sent).toFixed(3);
        say(
          `    per NOTIFY sent: read ${per(c.received)}, sent ${per(c.sent)}, answered again from Timer J ${per(c.retransmissionsAnswered)}, ` +
            `new server transactions ${per(c.serverTransactions)}, SUBSCRIBEs ${per(c.subscribesSent)}, shed ${per(c.requestsShed)}, dropped at the socket ${per(c.udpDrops)}; ` +
            `scavenges per 1,000 ${((c.scavenges * 1000) / w.sent).toFixed(2)}, mark-compacts ${c.markCompacts} (${c.markCompactsFlag64} with GC flag 64)`,
        );
      }
      const tl = w.sut.timeline;
      if (o.stages && tl !== undefined) {
        say(
          `    per second: NOTIFYs ≥ 5 ms [${tl.slow.join(' ')}]; max ms [${tl.maxMs.join(' ')}]; GC ms [${tl.gcMs.join(' ')}]; ` +
            `main thread ran ms [${tl.mainRunMs.join(' ')}], waited [${tl.mainWaitMs.join(' ')}]; other threads ran ms [${tl.otherRunMs.join(' ')}]`,
        );
      }
      // The sink at the same rate, seconds after the SUT's step.
      if (sink !== undefined) {
        const sinkStep = await measureSinkAfterSut(rig, sink, rate, stepS, true);
        if (rate === TARGET_RATE && sinkStep !== undefined) {
          const pairs: RatioPair[] = [pairOf(w, sinkStep)];
          for (let i = 1; i < (o.ratioPairs ?? DEFAULT_RATIO_PAIRS); i++) {
            await sleep(300);
            const again = await rig.notifyWindow({ rate, durationMs: stepS * 1000 });
            const againSink = await measureSinkAfterSut(rig, sink, rate, stepS, false);
            if (againSink === undefined) break;
            pairs.push(pairOf(again, againSink));
            say(`  ${rate}/s again: SUT ${again.cpuUsPerNotify.toFixed(1)} µs/NOTIFY (p99 ${again.sut.latency.p99Ms} ms), sink ${againSink.cpuUsPerNotify.toFixed(1)}`);
          }
          ratioPairs = { rate, pairs, medianRatio: medianPair(pairs)?.ratio ?? 0 };
          say(`  ${rate}/s: ratios ${pairs.map((x) => x.ratio.toFixed(2)).join(', ')}, median ${ratioPairs.medianRatio.toFixed(2)}`);
        }
      }
      if (failures.length > 0) {
        stoppedBecause = `${rate}/s: ${failures.join(', ')}`;
        generatorLimited = w.achievedRate < rate * 0.97 && w.sutCoreShare < 0.9;
        consecutiveFailures++;
        // Latency alone does not end the ramp before the target step: the service level is judged
        // there, and a step below it failing on a GC pause must not hide it. Past it, two latency failures
        // in a row end the ramp; any loss, timeout, non-200, a saturated SUT or generator always does.
        const hard = w.lost > 0 || w.timeouts > 0 || w.non2xx > 0 || generatorLimited || w.sutCoreShare >= 0.95;
        if (hard || (rate >= TARGET_RATE && consecutiveFailures >= 2)) break;
      } else {
        consecutiveFailures = 0;
        stoppedBecause = 'top of the ramp';
      }
      // Let retransmission and Timer J state from this step fade a little.
      await sleep(300);
    }
    const passed = steps.filter((s) => s.pass);
    const best = passed.reduce<RampStep | undefined>((a, b) => (a === undefined || b.rate > a.rate ? b : a), undefined);
    const st = await rig.sut.call<{ gc: { max: number }; keptBodies?: { compacted?: number; sweep?: SweepFigures } }>('stats');
    const sweep = st.keptBodies?.sweep;
    if (sweep !== undefined) {
      // What the SUT runs with (proof that --sut-kept-body-compaction-ms reached it) and what its sweep cost.
      say(
        `  SUT kept-body compaction: ${sweep.compactAfterMs} ms; ${st.keptBodies?.compacted ?? 0} bodies compacted now; sweep ${sweep.passes} passes, ` +
          `${sweep.ticks} ticks, ${(sweep.totalUs / 1000).toFixed(1)} ms in all, longest tick ${sweep.longestUs.toFixed(0)} µs, ${sweep.compactedBySweep} compacted by it`,
      );
    }
    result = {
      ...(st.keptBodies !== undefined ? { keptBodies: st.keptBodies } : {}),
      n,
      transport: o.transport,
      stepS,
      warmUpS,
      pacing,
      establish,
      steps,
      stoppedBecause,
      generatorLimited,
      gcMaxPauseMs: st.gc.max,
      settleMs: settle.settleMs,
      settledCoreShare: settle.coreShare,
      ...(best !== undefined
        ? { knee: { rate: best.rate, achievedRate: best.achievedRate, cpuUsPerNotify: best.cpuUsPerNotify, p99Ms: best.sut.latency.p99Ms, sutCoreShare: best.sutCoreShare } }
        : {}),
    };
    if (ratioPairs !== undefined) result.ratioPairs = ratioPairs;
    if (sink !== undefined) {
      result.sink = await sink.close();
      sink = undefined;
    }
  } finally {
    // Kamailio by its pid whatever happened; then the SUT and the generator.
    if (sink !== undefined) await sink.close();
    await rig.stop();
  }
  if (result === undefined) throw new Error('W2 produced no result');
  return result;
}

/**
 * The sink at `rate`, seconds after the SUT's step, once the generator has ended its transactions with
 * the SUT and the SUT is idle: an overloaded step leaves a backlog of seconds, and the sink must not
 * share its core with it.
 */
async function measureSinkAfterSut(rig: Rig, sink: OpenSink, rate: number, stepS: number, record: boolean): Promise<SinkStep | undefined> {
  await rig.sim.call('drain', { boundMs: 40_000 }, 50_000);
  const quiet = await settleSut(rig, SINK_SETTLE_BOUND_MS, 1);
  return sink.measure(rate, stepS, quiet.coreShare, record);
}

function pairOf(sut: NotifyWindow, sink: SinkStep): RatioPair {
  return {
    sutCpuUsPerNotify: sut.cpuUsPerNotify,
    sinkCpuUsPerNotify: sink.cpuUsPerNotify,
    ratio: sink.cpuUsPerNotify > 0 ? sut.cpuUsPerNotify / sink.cpuUsPerNotify : 0,
    sutP99Ms: sut.sut.latency.p99Ms,
  };
}

/** Kamailio's stateless sink, fed by the same generator one step at a time. */
interface OpenSink {
  /**
   * One step at `rate` for `stepS` seconds, kept in the result's `steps` when `record` (one row per
   * rate); failures are kept in the result's `error`, never thrown.
   */
  measure(rate: number, stepS: number, sutCoreShareBefore: number, record: boolean): Promise<SinkStep | undefined>;
  /** Stops Kamailio (by its pid) and gives the steps measured. */
  close(): Promise<NonNullable<W2Result['sink']>>;
}

/** Starts Kamailio's notify-sink.cfg on the SUT's core with 10,000 dialogs of its own at the generator. */
async function openSink(rig: Rig, o: BenchOptions): Promise<OpenSink> {
  const port = ports(o).sink;
  const out: NonNullable<W2Result['sink']> = { port, processes: 0, steps: [] };
  const closed: OpenSink = { measure: async () => undefined, close: async () => out };
  if (!kamailioAvailable()) {
    out.error = 'kamailio not installed';
    return closed;
  }
  const k = new KamailioPeer('notify-sink', port);
  try {
    await k.start(SUT_CORE, 64);
    out.processes = k.processCount();
    say(`  Kamailio notify-sink (pid ${k.pid}, ${out.processes} processes) on udp 127.0.0.1:${port}`);
    await rig.sim.call('addFakeDialogs', { count: 10_000, host: '127.0.0.1', port, transport: 'udp' });
  } catch (e) {
    out.error = e instanceof Error ? e.message : String(e);
    await k.stop();
    return closed;
  }
  return {
    async measure(rate: number, stepS: number, sutCoreShareBefore: number, record: boolean): Promise<SinkStep | undefined> {
      if (out.error !== undefined) return undefined;
      try {
        const s0 = await rig.sim.call<SimStats>('stats');
        const sut0 = await rig.sut.call<NodeJS.CpuUsage>('cpu');
        const c0 = k.cpuUs();
        const r = await rig.sim.call<RateResult>('rate', { rate, durationMs: stepS * 1000, set: 'fake', state: 'active;expires=3600' }, stepS * 1000 + 60_000);
        await rig.sim.call('drain', { boundMs: 40_000 }, 50_000);
        const cpu = k.cpuUs() - c0;
        const sut1 = await rig.sut.call<NodeJS.CpuUsage>('cpu');
        const sutCpuUs = cpuUsBetween(sut0, sut1);
        const s1 = await rig.sim.call<SimStats>('stats');
        const ok = (s1.notifyResponses['200'] ?? 0) - (s0.notifyResponses['200'] ?? 0);
        const step: SinkStep = {
          rate,
          sent: r.sent,
          achievedRate: r.achievedRate,
          answered200: ok,
          cpuUsPerNotify: r.sent > 0 ? cpu / r.sent : 0,
          coreShare: cpu / 1000 / Math.max(1, r.elapsedMs),
          sutCoreShareBefore,
          sutCoreShareDuring: sutCpuUs / 1000 / Math.max(1, r.elapsedMs),
        };
        say(
          `  sink ${rate}/s: ${step.cpuUsPerNotify.toFixed(1)} µs/NOTIFY, ${(step.coreShare * 100).toFixed(0)} % core, ${ok}/${r.sent} answered 200 ` +
            `(the idle SUT at ${(sutCoreShareBefore * 100).toFixed(1)} % of the core before it, ${(step.sutCoreShareDuring * 100).toFixed(1)} % during it)`,
        );
        if (record) out.steps.push(step);
        await sleep(300);
        return step;
      } catch (e) {
        out.error = e instanceof Error ? e.message : String(e);
        return undefined;
      }
    },
    async close(): Promise<NonNullable<W2Result['sink']>> {
      try {
        await rig.sim.call('clearFakeDialogs');
      } catch {
        // the generator is stopped with the rig anyway
      }
      await k.stop();
      return out;
    },
  };
}
