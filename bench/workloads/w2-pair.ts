/**
 * W2-pair (issue 11's last lead: more than one core): the W2 ramp over UDP with
 * two SUT processes, each on its own port with its own half of the N dialogs,
 * as two cluster nodes or two daemons behind one presence server would split
 * them. The simulator sends round robin over every live dialog, so each process
 * gets half the offered rate. No process is pinned: on this two-core machine the
 * two SUTs and the simulator share both cores as the scheduler decides, so what
 * this shows is how far the offered rate goes with a second process beside the
 * first, not a second core of its own (docs/latency-tail.md, "Two processes").
 *
 * A step passes as a W2 step does, judged on both processes together: p99 under
 * 5 ms in each of them (the larger of the two p99s bounds the p99 of all the
 * step's NOTIFYs: at most 1 % of each side lies above it), nothing lost or
 * duplicated, every NOTIFY answered 200 without timeouts, at most 0.1 %
 * retransmissions, and the offered rate sent.
 */
import type { ChildRpc } from '../harness/child-rpc.js';
import { type Rig, waitConsumersQuiet } from '../harness/rig.js';
import type { RateResult, SimStats } from '../load/presence-server-sim.js';
import type { CpuWindow, EstablishResult } from '../sut/sut-process.js';
import { cpuUsBetween } from '../support/cpu-usage.js';
import { type BenchOptions, ports, say, sleep, startRig } from './common.js';
import { serviceLevelFailures, settleAndWarmUp } from './w2-ramp.js';

export interface PairStep {
  rate: number;
  achievedRate: number;
  sent: number;
  lost: number;
  duplicated: number;
  non2xx: number;
  timeouts: number;
  retransmissions: number;
  /** Each SUT's window (CPU, latency, GC) in the order of `ports`. */
  suts: CpuWindow[];
  /** Both SUTs' CPU per NOTIFY sent. */
  cpuUsPerNotify: number;
  /** Each SUT's share of one core over the step. */
  sutCoreShares: number[];
  /** The simulator's share of one core over the step. */
  loadCoreShare: number;
  /** The larger of the two p99s (ms). */
  p99Ms: number;
  pass: boolean;
  failures: string[];
}

export interface W2PairResult {
  n: number;
  stepS: number;
  /** The SUTs' SIP ports. */
  ports: number[];
  establish: EstablishResult[];
  steps: PairStep[];
  knee?: { rate: number; p99Ms: number; cpuUsPerNotify: number; sutCoreShares: number[]; loadCoreShare: number };
  stoppedBecause: string;
}

const DEFAULT_RATES = [10_000, 15_000, 20_000, 25_000, 30_000];
/** One step: the simulator at `rate` over both SUTs' dialogs, then each side's counts. */
async function pairWindow(rig: Rig, suts: ChildRpc[], rate: number, durationMs: number): Promise<PairStep> {
  const s0 = await rig.simStats();
  const load0 = await rig.sim.call<NodeJS.CpuUsage>('cpu');
  await Promise.all(suts.map((s) => s.call('beginWindow')));
  const r = await rig.sim.call<RateResult>('rate', { rate, durationMs }, durationMs + 120_000);
  await rig.sim.call('drain', { boundMs: 40_000 }, 50_000);
  await waitConsumersQuiet(suts, 200, 20_000);
  const windows = await Promise.all(suts.map((s) => s.call<CpuWindow>('endWindow')));
  const load1 = await rig.sim.call<NodeJS.CpuUsage>('cpu');
  const s1: SimStats = await rig.simStats();
  const { lost, duplicated } = await rig.lossIn(r.seqFrom, r.seqTo, suts);
  let non2xx = 0;
  for (const [code, k] of Object.entries(s1.notifyResponses)) if (code !== '200') non2xx += k - (s0.notifyResponses[code] ?? 0);
  const elapsedMs = Math.max(1, r.elapsedMs);
  const cpuUs = windows.reduce((acc, w) => acc + w.cpuUs, 0);
  const step: PairStep = {
    rate,
    achievedRate: r.achievedRate,
    sent: r.sent,
    lost,
    duplicated,
    non2xx,
    timeouts: s1.notifyTimeouts - s0.notifyTimeouts,
    retransmissions: s1.notifyRetransmissions - s0.notifyRetransmissions,
    suts: windows,
    cpuUsPerNotify: r.sent > 0 ? cpuUs / r.sent : 0,
    sutCoreShares: windows.map((w) => w.cpuUs / 1000 / elapsedMs),
    loadCoreShare: cpuUsBetween(load0, load1) / 1000 / elapsedMs,
    p99Ms: Math.max(...windows.map((w) => w.latency.p99Ms)),
    pass: false,
    failures: [],
  };
  step.failures = serviceLevelFailures(step, rate);
  step.pass = step.failures.length === 0;
  return step;
}

export async function runW2Pair(o: BenchOptions): Promise<W2PairResult> {
  const n = o.n ?? (o.smoke ? 500 : 10_000);
  const half = Math.floor(n / 2);
  const stepS = o.stepS ?? (o.smoke ? 1.5 : 10);
  const rates = o.rates ?? (o.smoke ? [500, 1000] : DEFAULT_RATES);
  const p = ports(o);
  // The second SUT on base+6: base+4 and base+5 are Kamailio's (the sink and pua) in the standard set.
  const sutPorts = [p.sut, o.portBase + 6];
  say(`W2-pair: N=${n} over two SUT processes (udp ${sutPorts.join(' and ')}), nothing pinned, ${stepS} s steps, rates ${rates.join(', ')}`);
  const rig = await startRig({ ...o, transport: 'udp' }, n, { pinned: false });
  let second: ChildRpc | undefined;
  try {
    second = await rig.startAnotherSut(sutPorts[1]!);
    const suts = [rig.sut, second];
    const establish = await Promise.all([
      rig.establish(0, half, o.window, 120_000),
      second.call<EstablishResult>('establish', { from: half, to: n, window: o.window, timeoutMs: 120_000, epoch: false }, 150_000),
    ]);
    say(`  established ${establish.map((e) => `${e.established}/${e.requested}`).join(' and ')}`);
    // Settled and warmed up as W2 is (both SUTs here).
    await settleAndWarmUp(rig, suts, o, rates);
    const steps: PairStep[] = [];
    let stoppedBecause = 'top of the ramp';
    for (const rate of rates) {
      const s = await pairWindow(rig, suts, rate, stepS * 1000);
      steps.push(s);
      say(
        `  ${rate}/s: sent ${Math.round(s.achievedRate)}/s, SUTs ${s.sutCoreShares.map((x) => `${(x * 100).toFixed(0)} %`).join(' + ')} of a core, ` +
          `simulator ${(s.loadCoreShare * 100).toFixed(0)} %, ${s.cpuUsPerNotify.toFixed(1)} µs/NOTIFY (both), ` +
          `p50 ${s.suts.map((w) => w.latency.p50Ms).join('/')} p99 ${s.suts.map((w) => w.latency.p99Ms).join('/')} max ${s.suts.map((w) => w.latency.maxMs).join('/')} ms, ` +
          `lost ${s.lost}, dup ${s.duplicated}, retrans ${s.retransmissions}` +
          (s.pass ? '' : `  FAIL: ${s.failures.join(', ')}`),
      );
      // Whether a tail is time off the CPU: three busy processes on two cores wait for each other.
      const waits = s.suts.map((w) => (w.threads === undefined ? '-' : `${w.threads.mainWaitMs} ms`));
      say(`    SUT main threads runnable but off a core: ${waits.join(' and ')}; GC max ${s.suts.map((w) => w.gcMaxPauseMs.toFixed(1)).join('/')} ms`);
      if (!s.pass) {
        stoppedBecause = `${rate}/s: ${s.failures.join(', ')}`;
        if (s.lost > 0 || s.timeouts > 0 || s.achievedRate < rate * 0.97) break;
      }
      await sleep(300);
    }
    const best = steps.filter((s) => s.pass).reduce<PairStep | undefined>((a, b) => (a === undefined || b.rate > a.rate ? b : a), undefined);
    return {
      n,
      stepS,
      ports: sutPorts,
      establish,
      steps,
      stoppedBecause,
      ...(best !== undefined
        ? { knee: { rate: best.rate, p99Ms: best.p99Ms, cpuUsPerNotify: best.cpuUsPerNotify, sutCoreShares: best.sutCoreShares, loadCoreShare: best.loadCoreShare } }
        : {}),
    };
  } finally {
    await second?.stop(15_000);
    await rig.stop();
  }
}
