/**
 * NOTIFY flood (docs/hostile-input.md, "Floods"): the presence-server
 * simulator (its own process, core 0) sends in-dialog NOTIFYs over UDP at
 * `rate` for `duration` to a B2BUA running in THIS process (core 1) with load
 * shedding on, as the daemon runs it. Measured: what was offered and sent, the
 * answers (200 / 503), the simulator's retransmissions and timeouts, what we
 * shed, memory before, during (sampled every second) and after (Timer J
 * later, after GC), the queue (coalescing), and the recovery: once the flood
 * stops, shedding ends, every dialog is still active at both ends, and one
 * NOTIFY per dialog reaches the queue.
 *
 *   npm run bench:flood -- [--rate R | --capacity C] [--duration S] [--n N] [--t1 MS]
 *                          [--backlog-limit OCTETS|auto] [--retry-after S] [--consumer stalled|draining]
 *                          [--blasters K [--capacity-rates R1,R2,… [--capacity-step S]]]
 *                          [--port-base P] [--out FILE]
 *
 * `--capacity C` floods at 10·C; measure C on the machine first (bench/README.md, "Floods").
 * test/bench/flood-shedding.test.ts runs a short flood through runFlood() and
 * asserts the mechanism (503s, coalescing, recovery), not speed.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { type PresenceB2B, type PresenceB2BOptions, createPresenceB2B } from '../src/b2b/create-presence-b2b.js';
import type { StatusMessage } from '../src/qsa/index.js';
import { ChildRpc, canPin } from './harness/child-rpc.js';
import { startGenerator } from './harness/generator-process.js';
import { decodeStampId } from './load/pidf-body.js';
import type { BlastDialog, RateResult, SimStats } from './load/presence-server-sim.js';
import type { BlastResult } from './load/notify-blaster.js';
import { readFileSync } from 'node:fs';

export interface FloodOptions {
  /** NOTIFYs per second offered. */
  rate: number;
  durationMs: number;
  /** Dialogs the NOTIFYs are spread over (round robin). */
  n: number;
  /** Simulator on portBase, the B2BUA on portBase + 2. */
  portBase: number;
  /** sip.overload.backlog_limit (`auto`: half the UDP receive buffer, the daemon's default). */
  backlogLimitBytes: number | 'auto';
  /** sip.overload.retry_after. */
  retryAfterSeconds: number;
  /** RFC 3261 T1 of the B2BUA (Timer J = 64·T1: how long answered NOTIFYs are remembered). */
  t1Ms: number;
  /** Named-queue capacity (the queue coalesces per subscription beyond it); default 2·n. */
  queueCapacity?: number;
  /**
   * The consumer stops taking messages while the flood lasts (an SSE client
   * that cannot keep up), so that the queue fills and must coalesce; default
   * true. False: it drains as fast as it can.
   */
  stallConsumer?: boolean;
  /**
   * NOTIFY generator processes (bench/load/notify-blaster.ts: pre-serialized
   * datagrams, no retransmission) instead of the simulator's own NOTIFYs
   * (0, the default: the simulator, which retransmits like a real server but
   * tops out near 5-30k/s). Pinned to core 0 with the simulator.
   */
  blasters?: number;
  /** UDP sockets per generator process (bench/load/notify-blaster.ts says why several); default 64. */
  blasterSockets?: number;
  /**
   * Before the flood, find the rate the B2BUA fully handles in this set-up:
   * blaster steps of `capacityStepMs` at these rates (consumer draining),
   * stopping at the first that sheds or leaves NOTIFYs unanswered; the flood
   * then goes at `floodFactor` (default 10) times the last that passed.
   */
  capacityRates?: number[];
  capacityStepMs?: number;
  floodFactor?: number;
  /** Pin this process to core 1 and the simulator to core 0 when taskset exists (default true; a test says false). */
  pin?: boolean;
  /**
   * Blocks this process (the B2BUA's event loop) once for this long, `durationMs / 4` into the
   * flood, as a machine too slow for the rate would (default 0: never). A test of the shedding
   * MECHANISM sets it: without it, whether the backlog passes its limit depends on how fast the
   * machine is against the rate (CI's flood test once saw 5,000/s handled with no backlog at all).
   */
  stallMs?: number;
  /** Progress lines (stderr by default). */
  say?: (line: string) => void;
  /** More options of the B2BUA (e.g. `hosts` for subscriptions elsewhere than the simulator). */
  b2bOptions?: Partial<PresenceB2BOptions>;
  /** Runs with the B2BUA up, before the flood (e.g. real Kamailio subscriptions). */
  beforeFlood?: (b2b: PresenceB2B) => Promise<void>;
  /** Runs after the recovery check, before the B2BUA closes. */
  afterFlood?: (b2b: PresenceB2B) => Promise<void>;
}

export interface MemoryFigures {
  rssBytes: number;
  heapUsedBytes: number;
}

export interface FloodReport {
  options: Omit<FloodOptions, 'say' | 'beforeFlood' | 'afterFlood' | 'b2bOptions' | 'pin'>;
  machine: { loadAverage: number[]; pinned: boolean };
  flood: {
    offeredRate: number;
    achievedRate: number;
    sent: number;
    /** The simulator's final answers by status code (200, 503, …). */
    responses: Record<string, number>;
    retransmissions: number;
    timeouts: number;
    /** Requests this B2BUA answered 503 unprocessed. */
    shed: number;
    /** NOTIFYs this B2BUA handled (answered by the engine). */
    handled: number;
    overloadPeriods: number;
    maxBacklogBytes: number;
    /** The limit in force (`auto` resolved). */
    backlogLimitBytes: number;
    maxServerTransactions: number;
    maxQueueDepth: number;
    coalesced: number;
    dropped: number;
    loopDelayMaxMs: number;
  };
  /** With blasters: the generator processes, the capacity steps, and what the kernel counted for UDP. */
  generator?: {
    processes: number;
    perProcess: Array<{ sent: number; achievedRate: number; cpuUs: number }>;
    capacitySteps: CapacityStep[];
    measuredCapacity: number | undefined;
    /** /proc/net/snmp Udp counters over the flood (all sockets of the host). */
    kernelUdp: Record<string, number>;
  };
  memory: { before: MemoryFigures; maxDuring: MemoryFigures; after: MemoryFigures; samples: Array<MemoryFigures & { atMs: number; shedding: boolean; backlog: number }> };
  recovery: {
    /** ms from the end of the flood until the simulator had every NOTIFY answered or timed out. */
    drainMs: number;
    /** ms from the end of the flood until shedding was off. */
    sheddingOffMs: number;
    /** In-dialog refreshes the engine sent after the overload (PresenceEngine.overloadEnded), and ms from the end of the flood until they were answered. */
    refreshedAfterOverload: number;
    /**
     * Confirming refreshes (docs/behaviour.md §3.7) sent after the last overload period ended: a dialog that sent
     * one is skipped by the refresh after the overload, which its SUBSCRIBE already did the work of.
     */
    confirmingAfterOverload: number;
    refreshedMs: number;
    dialogsActive: number;
    simLiveDialogs: number;
    /** Dialogs whose NOTIFY of the round after the flood reached the queue. */
    deliveredAfter: number;
    /** The simulator's final answers to that round, by status code. */
    answersAfter: Record<string, number>;
    subscriptionsLost: number;
  };
}

/** One step of the capacity search. */
export interface CapacityStep {
  rate: number;
  sent: number;
  achievedRate: number;
  answered200: number;
  shed: number;
  handled: number;
  passed: boolean;
}

/** The Udp line of /proc/net/snmp as numbers (empty off Linux). */
function kernelUdpCounters(): Record<string, number> {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = (lines[0] ?? '').split(/\s+/).slice(1);
    const values = (lines[1] ?? '').split(/\s+/).slice(1).map(Number);
    const out: Record<string, number> = {};
    names.forEach((n, i) => {
      out[n] = values[i] ?? 0;
    });
    return out;
  } catch {
    return {};
  }
}

function counterDelta(from: Record<string, number>, to: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(to)) out[k] = v - (from[k] ?? 0);
  return out;
}

function addCounts(into: Record<string, number>, more: Record<string, number>): void {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function memoryNow(): MemoryFigures {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed };
}

/** `gc()`: the global one under --expose-gc, else one made for this measurement (node --test passes no flags). */
function collector(): (() => void) | undefined {
  const global = (globalThis as { gc?: () => void }).gc;
  if (typeof global === 'function') return global;
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    // Not allowed: the figures are then taken without a forced collection.
    return undefined;
  }
}

/** RSS and heap after a forced collection (for figures "after"; shared with test/interop/kamailio-flood.test.ts). */
export async function memoryAfterGc(): Promise<MemoryFigures> {
  const gc = collector();
  if (typeof gc === 'function') {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return memoryNow();
}

async function until(check: () => boolean | Promise<boolean>, boundMs: number, stepMs = 50): Promise<boolean> {
  const end = nowMs() + boundMs;
  for (;;) {
    if (await check()) return true;
    if (nowMs() > end) return false;
    await sleep(stepMs);
  }
}

export async function runFlood(o: FloodOptions): Promise<FloodReport> {
  const say = o.say ?? ((line: string) => process.stderr.write(`[flood] ${line}\n`));
  const pinned = o.pin !== false && canPin();
  if (pinned) {
    try {
      // This process is the SUT: core 1, the simulator core 0 (as bench/harness/rig.ts).
      execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
    } catch {
      // Not allowed here: run unpinned.
    }
  }
  const sim = startGenerator({ core: pinned ? 0 : undefined, port: o.portBase, transports: 'udp' });
  let b2b: PresenceB2B | undefined;
  /** The engine's refreshes after an overload, and its confirming refreshes, counted when the last overload period ended. */
  let refreshesAtLastEnd = 0;
  let confirmingAtLastEnd = 0;
  let closeQueue: (() => void) | undefined;
  const blasters: ChildRpc[] = [];
  const loop = monitorEventLoopDelay({ resolution: 20 });
  try {
    const info = await sim.call<{ port: number }>('info', {}, 20_000);
    b2b = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: o.portBase + 2 }],
      // The daemon's default pacing of new SUBSCRIBEs (1000/s): the set-up is not the flood under test.
      maxSubscribeRate: 1000,
      timers: { t1: o.t1Ms },
      overload: { backlogLimitBytes: o.backlogLimitBytes, retryAfterSeconds: o.retryAfterSeconds },
      ...o.b2bOptions,
      onTransportDiagnostic: (event) => {
        if (event.kind === 'overload-ended') {
          refreshesAtLastEnd = b2b?.engine.stats.refreshesAfterOverload ?? 0;
          confirmingAtLastEnd = b2b?.engine.stats.confirmingRefreshes ?? 0;
        }
        if (event.kind === 'overload-started' || event.kind === 'overload-ended') say(event.detail);
      },
    });
    const engine = b2b.engine;
    const capacity = queueCapacityOf(o);
    const queue = b2b.qsa.createQueue({ capacity });
    closeQueue = () => queue.close();
    // The consumer, as the daemon's: drains the queue as fast as it can; per dialog, the last NOTIFY seen.
    const lastSeq = new Float64Array(o.n).fill(-1);
    const active = new Uint8Array(o.n);
    let consuming = true;
    let stalled = false;
    const consume = async (): Promise<void> => {
      while (consuming) {
        if (stalled) {
          await sleep(20);
          continue;
        }
        const first = await queue.take();
        if (first === undefined) return;
        for (let m: StatusMessage | undefined = first; m !== undefined; m = stalled ? undefined : queue.poll()) {
          const i = m.subscription.data as number;
          if (m.state === 'active') active[i] = 1;
          const tuple = (m.document as { tuples?: ReadonlyArray<{ id: string }> } | undefined)?.tuples?.[0];
          const stamp = tuple === undefined ? undefined : decodeStampId(tuple.id);
          if (stamp !== undefined && stamp.seq > (lastSeq[i] ?? -1)) lastSeq[i] = stamp.seq;
        }
      }
    };
    const consumer = consume();

    say(`subscribing ${o.n} dialogs to the simulator on 127.0.0.1:${info.port}`);
    for (let i = 0; i < o.n; i++) {
      b2b.qsa.subscribe({ record: `sip:user${i}@127.0.0.1:${info.port}`, subscriber: `sip:w${i}@b2b.bench`, queue, data: i });
      // At most 64 being set up at once: on a busy machine a wider window let the initial
      // NOTIFYs pile up past the limit, and a shed initial NOTIFY costs its dialog Timer N.
      if (i % 64 === 63) await until(() => active.reduce((a, b) => a + b, 0) > i - 64, 60_000, 5);
    }
    const allActive = () => active.every((a) => a === 1);
    if (!(await until(allActive, 120_000))) throw new Error(`only ${active.reduce((a, b) => a + b, 0)} of ${o.n} dialogs became active`);
    if (o.beforeFlood !== undefined) await o.beforeFlood(b2b);

    // ---- the generator processes, and the capacity they measure first
    const blasterCount = o.blasters ?? 0;
    const capacitySteps: CapacityStep[] = [];
    let floodRate = o.rate;
    let measuredCapacity: number | undefined;
    const blasterAnswers = async (): Promise<Record<string, number>> => {
      const all: Record<string, number> = {};
      for (const b of blasters) addCounts(all, await b.call<Record<string, number>>('responses'));
      return all;
    };
    const blast = async (rate: number, durationMs: number): Promise<BlastResult[]> =>
      Promise.all(blasters.map((b) => b.call<BlastResult>('blast', { rate: rate / blasters.length, durationMs }, durationMs + 30_000)));
    if (blasterCount > 0) {
      const dialogs = await sim.call<BlastDialog[]>('exportDialogs');
      const script = new URL('./load/notify-blaster.js', import.meta.url).pathname;
      for (let k = 0; k < blasterCount; k++) {
        const b = new ChildRpc(`notify-blaster-${k}`, script, pinned ? { core: 0 } : {});
        blasters.push(b);
        await b.call('setup', { dialogs, index: k, count: blasterCount, host: '127.0.0.1', sockets: o.blasterSockets ?? 64 }, 20_000);
      }
      say(`${blasterCount} NOTIFY generator process(es) on ${dialogs.length} dialogs`);
      const steps = [...(o.capacityRates ?? [])];
      let retried = false;
      for (let at = 0; at < steps.length; at++) {
        const stepRate = steps[at]!;
        const stepMs = o.capacityStepMs ?? 5000;
        const a0 = await blasterAnswers();
        const shedFrom = b2b.transport.stats.requestsShed;
        const handledFrom = b2b.ua.stats().serverTransactionsCreated;
        const results = await blast(stepRate, stepMs);
        await sleep(1500);
        const a1 = counterDelta(a0, await blasterAnswers());
        const sent = results.reduce((x, r) => x + r.sent, 0);
        const step: CapacityStep = {
          rate: stepRate,
          sent,
          achievedRate: Math.round(results.reduce((x, r) => x + r.achievedRate, 0)),
          answered200: a1['200'] ?? 0,
          shed: b2b.transport.stats.requestsShed - shedFrom,
          handled: b2b.ua.stats().serverTransactionsCreated - handledFrom,
          passed: false,
        };
        // Fully handled: nothing shed, every NOTIFY answered 200, and the generator kept the rate.
        step.passed = step.shed === 0 && step.answered200 >= sent && step.achievedRate >= 0.97 * stepRate;
        capacitySteps.push(step);
        say(`capacity step ${stepRate}/s: sent ${sent} at ${step.achievedRate}/s, 200 ${step.answered200}, shed ${step.shed}, handled ${step.handled}: ${step.passed ? 'handled' : 'NOT handled'}`);
        // Only the generator fell short (starved of its core by other work): that step once more.
        if (!step.passed && !retried && step.shed === 0 && step.answered200 >= sent) {
          retried = true;
          at--;
          continue;
        }
        if (!step.passed) break;
        measuredCapacity = stepRate;
        await until(() => !b2b!.transport.shedding, 10_000);
      }
      if (measuredCapacity !== undefined) floodRate = (o.floodFactor ?? 10) * measuredCapacity;
      // Timer J of the capacity steps' transactions (64·T1), so the flood starts from rest.
      if (capacitySteps.length > 0) await sleep(64 * o.t1Ms + 500);
    }
    await sleep(500);
    const before = await memoryAfterGc();
    const ua0 = b2b.ua.stats();
    const shed0 = b2b.transport.stats.requestsShed;
    const refreshes0 = engine.stats.refreshesAfterOverload;
    const sim0 = await sim.call<SimStats>('stats');
    const blastAnswers0 = await blasterAnswers();
    const udp0 = kernelUdpCounters();
    say(`before: RSS ${(before.rssBytes / 2 ** 20).toFixed(1)} MiB, heap ${(before.heapUsedBytes / 2 ** 20).toFixed(1)} MiB; flooding at ${floodRate}/s for ${o.durationMs / 1000} s`);

    // ---- the flood, sampled every second
    const samples: FloodReport['memory']['samples'] = [];
    let maxBacklog = 0;
    let maxServerTransactions = 0;
    let maxQueueDepth = 0;
    let overloadPeriods = 0;
    let wasShedding = false;
    const t0 = nowMs();
    const transport = b2b.transport;
    const sampleNow = (): void => {
      const m = memoryNow();
      samples.push({ ...m, atMs: Math.round(nowMs() - t0), shedding: transport.shedding, backlog: transport.receiveBacklog });
      maxBacklog = Math.max(maxBacklog, transport.receiveBacklog);
      maxServerTransactions = Math.max(maxServerTransactions, b2b?.ua.stats().activeServerTransactions ?? 0);
      maxQueueDepth = Math.max(maxQueueDepth, queue.depth);
      if (transport.shedding && !wasShedding) overloadPeriods++;
      wasShedding = transport.shedding;
    };
    // Shedding periods can be shorter than a second: counted from the transitions themselves.
    const fine = setInterval(() => {
      if (transport.shedding && !wasShedding) overloadPeriods++;
      wasShedding = transport.shedding;
      maxQueueDepth = Math.max(maxQueueDepth, queue.depth);
    }, 50);
    const sampler = setInterval(sampleNow, 1000);
    loop.enable();
    const queueBefore = queue.stats;
    stalled = o.stallConsumer !== false;
    let rate: RateResult;
    let blasted: BlastResult[] = [];
    if (blasters.length > 0) {
      blasted = await blast(floodRate, o.durationMs);
      const sent = blasted.reduce((x, r) => x + r.sent, 0);
      const elapsedMs = Math.max(...blasted.map((r) => r.elapsedMs));
      rate = { offeredRate: floodRate, sent, seqFrom: 0, seqTo: 0, elapsedMs, achievedRate: (sent * 1000) / elapsedMs };
      // The simulator's own NOTIFYs after the flood go above every blasted CSeq.
      await sim.call('raiseCSeq', { cseq: Math.max(...blasted.map((r) => r.maxCSeq)) + 1 });
    } else {
      const stall =
        (o.stallMs ?? 0) > 0
          ? setTimeout(() => {
              // Synchronous on purpose: nothing of this process runs meanwhile, the datagrams wait in the kernel.
              const until = nowMs() + o.stallMs!;
              while (nowMs() < until) {}
            }, o.durationMs / 4)
          : undefined;
      rate = await sim.call<RateResult>('rate', { rate: o.rate, durationMs: o.durationMs, bounded: true }, o.durationMs + 30_000);
      clearTimeout(stall);
    }
    const floodEnd = nowMs();
    sampleNow();
    stalled = false;
    say(`flood over: ${rate.sent} sent at ${Math.round(rate.achievedRate)}/s; ${transport.stats.requestsShed - shed0} shed so far`);

    // ---- recovery: every NOTIFY answered or given up, shedding off
    await sim.call('drain', { boundMs: 60_000 }, 70_000);
    const drainMs = nowMs() - floodEnd;
    // Shedding off is not enough: datagrams of the flood may still wait in the kernel's receive
    // buffer (the guard samples the backlog only while messages come in), and reading them can
    // start a second overload period after "flood over". The round after the flood starts once
    // shedding is off and nothing more has been shed for a whole second.
    let shedSeen = transport.stats.requestsShed;
    let quietSinceMs = nowMs();
    await until(() => {
      const shedNow = transport.stats.requestsShed;
      if (transport.shedding || shedNow !== shedSeen) {
        shedSeen = shedNow;
        quietSinceMs = nowMs();
        return false;
      }
      return nowMs() - quietSinceMs >= 1000;
    }, 30_000);
    const sheddingOffMs = quietSinceMs - floodEnd;
    // After an overload period the engine refreshes every dialog (T2 + 1 s after its end,
    // PresenceEngine.overloadEnded); the round below starts once the refreshes that followed the
    // last period are done, with their NOTIFYs.
    if (overloadPeriods > 0) {
      // A dialog whose confirming refresh went out since the end is skipped by the overload's refresh (it did the same work).
      const refreshedSinceEnd = (): number => engine.stats.refreshesAfterOverload - refreshesAtLastEnd + (engine.stats.confirmingRefreshes - confirmingAtLastEnd);
      await until(() => refreshedSinceEnd() >= o.n && (engine.countByState().active ?? 0) === o.n, 8 * o.t1Ms + 30_000);
      await sim.call('drain', { boundMs: 30_000 }, 40_000);
    }
    const refreshedAfter = engine.stats.refreshesAfterOverload - refreshes0;
    const refreshedMs = nowMs() - floodEnd;
    clearInterval(sampler);
    clearInterval(fine);
    loop.disable();
    const sim1 = await sim.call<SimStats>('stats');
    const ua1 = b2b.ua.stats();
    const queueAfter = queue.stats;
    const udp1 = kernelUdpCounters();
    const blastAnswers1 = await blasterAnswers();

    // One NOTIFY per dialog, spread over two seconds: each must reach the queue.
    const once = await sim.call<RateResult>('rate', { rate: o.n, durationMs: 2000, once: true }, 60_000);
    await sim.call('drain', { boundMs: 30_000 }, 40_000);
    await until(() => lastSeqReached(lastSeq, once.seqFrom) === o.n, 10_000);
    const deliveredAfter = lastSeqReached(lastSeq, once.seqFrom);
    const counts = engine.countByState();
    const simAfter = await sim.call<SimStats>('stats');
    const answersAfter = responseDelta(sim1, simAfter);
    if (o.afterFlood !== undefined) await o.afterFlood(b2b);

    // Memory once Timer J has let every answered NOTIFY go.
    await sleep(64 * o.t1Ms + 1500);
    const after = await memoryAfterGc();
    const maxDuring = samples.reduce<MemoryFigures>(
      (m, s) => ({ rssBytes: Math.max(m.rssBytes, s.rssBytes), heapUsedBytes: Math.max(m.heapUsedBytes, s.heapUsedBytes) }),
      { rssBytes: 0, heapUsedBytes: 0 },
    );
    const responses = blasters.length > 0 ? counterDelta(blastAnswers0, blastAnswers1) : responseDelta(sim0, sim1);
    consuming = false;
    queue.close();
    await consumer;
    const report: FloodReport = {
      options: {
        rate: floodRate,
        durationMs: o.durationMs,
        n: o.n,
        portBase: o.portBase,
        backlogLimitBytes: o.backlogLimitBytes,
        retryAfterSeconds: o.retryAfterSeconds,
        t1Ms: o.t1Ms,
        queueCapacity: capacity,
        stallConsumer: o.stallConsumer !== false,
      },
      machine: { loadAverage: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100), pinned },
      flood: {
        offeredRate: rate.offeredRate,
        achievedRate: Math.round(rate.achievedRate),
        sent: rate.sent,
        responses,
        retransmissions: sim1.notifyRetransmissions - sim0.notifyRetransmissions,
        timeouts: sim1.notifyTimeouts - sim0.notifyTimeouts,
        shed: transport.stats.requestsShed - shed0,
        handled: ua1.serverTransactionsCreated - ua0.serverTransactionsCreated,
        overloadPeriods,
        maxBacklogBytes: maxBacklog,
        backlogLimitBytes: transport.overloadLimit,
        maxServerTransactions,
        maxQueueDepth,
        coalesced: queueAfter.coalesced - queueBefore.coalesced,
        dropped: queueAfter.dropped - queueBefore.dropped,
        loopDelayMaxMs: Math.round(loop.max / 1e6),
      },
      ...(blasters.length > 0
        ? {
            generator: {
              processes: blasters.length,
              perProcess: blasted.map((r) => ({ sent: r.sent, achievedRate: Math.round(r.achievedRate), cpuUs: r.cpuUs })),
              capacitySteps,
              measuredCapacity,
              kernelUdp: counterDelta(udp0, udp1),
            },
          }
        : {}),
      memory: { before, maxDuring, after, samples },
      recovery: {
        drainMs: Math.round(drainMs),
        sheddingOffMs: Math.round(sheddingOffMs),
        refreshedAfterOverload: refreshedAfter,
        confirmingAfterOverload: engine.stats.confirmingRefreshes - confirmingAtLastEnd,
        refreshedMs: Math.round(refreshedMs),
        dialogsActive: counts.active ?? 0,
        simLiveDialogs: simAfter.liveDialogs,
        deliveredAfter,
        answersAfter,
        subscriptionsLost: o.n - Math.min(counts.active ?? 0, simAfter.liveDialogs, deliveredAfter),
      },
    };
    return report;
  } finally {
    loop.disable();
    closeQueue?.();
    await b2b?.close(2000);
    for (const b of blasters) await b.stop(5000);
    await sim.stop(5000);
  }
}

function responseDelta(from: SimStats, to: SimStats): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [code, k] of Object.entries(to.notifyResponses)) {
    const d = k - (from.notifyResponses[code] ?? 0);
    if (d > 0) delta[code] = d;
  }
  return delta;
}

function queueCapacityOf(o: FloodOptions): number {
  return o.queueCapacity ?? 2 * o.n;
}

function lastSeqReached(lastSeq: Float64Array, from: number): number {
  let n = 0;
  for (const s of lastSeq) if (s >= from) n++;
  return n;
}

/** One paragraph of figures, for the terminal and the closing notes. */
export function describeFlood(r: FloodReport): string {
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const f = r.flood;
  return [
    `offered ${f.offeredRate}/s for ${r.options.durationMs / 1000} s over ${r.options.n} dialogs; sent ${f.sent} at ${f.achievedRate}/s (load average ${r.machine.loadAverage.join(' ')}, pinned ${r.machine.pinned})`,
    `answers ${JSON.stringify(f.responses)}, simulator retransmissions ${f.retransmissions}, timeouts ${f.timeouts}; we handled ${f.handled}, shed ${f.shed} (503) in ${f.overloadPeriods} overload periods; backlog max ${mib(f.maxBacklogBytes)} (limit ${mib(f.backlogLimitBytes)})`,
    `server transactions max ${f.maxServerTransactions}; queue depth max ${f.maxQueueDepth} (capacity ${r.options.queueCapacity}, consumer ${r.options.stallConsumer === true ? 'stalled during the flood' : 'draining'}), coalesced ${f.coalesced}, dropped ${f.dropped}; loop delay max ${f.loopDelayMaxMs} ms`,
    `memory: before RSS ${mib(r.memory.before.rssBytes)} heap ${mib(r.memory.before.heapUsedBytes)}; during max RSS ${mib(r.memory.maxDuring.rssBytes)} heap ${mib(r.memory.maxDuring.heapUsedBytes)}; after (Timer J, GC) RSS ${mib(r.memory.after.rssBytes)} heap ${mib(r.memory.after.heapUsedBytes)}`,
    ...(r.generator === undefined
      ? []
      : [
          `generator: ${r.generator.processes} process(es) ${JSON.stringify(r.generator.perProcess)}; capacity steps ${r.generator.capacitySteps.map((c) => `${c.rate}/s ${c.passed ? 'ok' : `failed (sent ${c.sent} at ${c.achievedRate}/s, 200 ${c.answered200}, shed ${c.shed})`}`).join(', ')}; measured capacity ${r.generator.measuredCapacity ?? '-'}/s`,
          `kernel UDP over the flood: ${['InDatagrams', 'OutDatagrams', 'RcvbufErrors', 'SndbufErrors', 'InErrors'].map((k) => `${k} ${r.generator?.kernelUdp[k] ?? '-'}`).join(', ')}`,
        ]),
    `recovery: drained ${r.recovery.drainMs} ms and shedding off ${r.recovery.sheddingOffMs} ms after the flood; ${r.recovery.refreshedAfterOverload} dialogs refreshed after the overload and ${r.recovery.confirmingAfterOverload} by a confirming refresh since its end (done ${r.recovery.refreshedMs} ms after the flood); ${r.recovery.dialogsActive} dialogs active here, ${r.recovery.simLiveDialogs} at the server; the NOTIFY after (answers ${JSON.stringify(r.recovery.answersAfter)}) reached ${r.recovery.deliveredAfter}/${r.options.n} queues; subscriptions lost ${r.recovery.subscriptionsLost}`,
  ].join('\n');
}

// ------------------------------------------------------------------ command line

function backlogLimitOption(text: string | undefined): number | 'auto' {
  return text === undefined || text === 'auto' ? 'auto' : Number(text);
}

function option(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const capacity = option(argv, '--capacity');
  const rate = Number(option(argv, '--rate') ?? (capacity !== undefined ? 10 * Number(capacity) : 10_000));
  const report = await runFlood({
    rate,
    durationMs: Number(option(argv, '--duration') ?? 30) * 1000,
    n: Number(option(argv, '--n') ?? 1000),
    portBase: Number(option(argv, '--port-base') ?? 5190),
    backlogLimitBytes: backlogLimitOption(option(argv, '--backlog-limit')),
    retryAfterSeconds: Number(option(argv, '--retry-after') ?? 5),
    t1Ms: Number(option(argv, '--t1') ?? 500),
    stallConsumer: option(argv, '--consumer') !== 'draining',
    blasters: Number(option(argv, '--blasters') ?? 0),
    blasterSockets: Number(option(argv, '--blaster-sockets') ?? 64),
    ...(option(argv, '--capacity-rates') !== undefined ? { capacityRates: option(argv, '--capacity-rates')!.split(',').map(Number) } : {}),
    capacityStepMs: Number(option(argv, '--capacity-step') ?? 5) * 1000,
  });
  console.log(describeFlood(report));
  const out = option(argv, '--out');
  if (out !== undefined) writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.exitCode = report.recovery.subscriptionsLost === 0 ? 0 : 1;
}

if (process.argv[1]?.endsWith('flood.js')) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
