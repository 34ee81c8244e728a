/**
 * One benchmark rig: the presence-server simulator on core 0 and the SUT on
 * core 1, each its own process, both on 127.0.0.1. Helpers here turn their
 * raw counters into the figures of one measurement window.
 */
import { mkdirSync } from 'node:fs';
import type { GeneratorTimeline, RateResult, SimPacing, SimStats } from '../load/presence-server-sim.js';
import type { CpuWindow, EstablishResult, MemorySample, SutStartArgs } from '../sut/sut-process.js';
import { ChildRpc } from './child-rpc.js';
import { startGenerator } from './generator-process.js';
import { DEFAULT_HELPER_THREADS_NICE, DEFAULT_HELPER_THREADS_NICE_AFTER_S } from '../../src/util/helper-thread-priority.js';
import { cpuUsBetween } from '../support/cpu-usage.js';

export const LOAD_CORE = 0;
export const SUT_CORE = 1;

export interface RigOptions {
  transport: 'udp' | 'tcp';
  simPort: number;
  sutPort: number;
  /** Largest user index + 1. */
  capacity: number;
  /** Longest Expires the simulator grants. */
  maxExpires?: number;
  settings?: Record<string, number | boolean | string>;
  /** Run the SUT under `node --cpu-prof` writing into this directory. */
  cpuProfDir?: string;
  /** Extra node flags for the SUT. */
  sutNodeArgs?: string[];
  /** SQLite store file of the SUT (dialogs persisted and resumed). */
  storePath?: string;
  /** Split NOTIFY latency at the SUT's socket read (stage-probe.ts). */
  stages?: boolean;
  /** Run the SUT with `--single-threaded-gc` (see spawnSut). */
  sutSingleThreadedGc?: boolean;
  /** Run the simulator with its steady GC flags on its core (default true; harness/generator-process.ts). */
  simSteadyGc?: boolean;
  /** Extra node flags for the simulator. */
  simNodeArgs?: string[];
  /** How the simulator paces its rate runs (default `ticks`; load/presence-server-sim.ts, SimPacing). */
  simPacing?: SimPacing;
  /** Nice value of the SUT's threads but the main one, as the daemon sets it (default: the daemon's default). */
  helperThreadsNice?: number;
  /** Seconds after its start before the SUT lowers them, once its main thread is quiet (the daemon's helper_threads_nice_after_s). */
  helperThreadsNiceAfterS?: number;
  /** The SUT's kept_body_compaction_ms (default: the product's). */
  keptBodyCompactionMs?: number;
  /**
   * Pin the simulator to core 0 and the SUT to core 1 (default true). W2-pair leaves every process
   * unpinned: two SUT processes and the simulator share the two cores as the scheduler sees fit.
   */
  pinned?: boolean;
}

/** Outcome of one NOTIFY window as counted by both ends. */
export interface NotifyWindow {
  offeredRate: number;
  achievedRate: number;
  sent: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** NOTIFYs the SUT answered with something other than 200. */
  non2xx: number;
  /** Final responses to the window's NOTIFYs by status code. */
  responses: Record<string, number>;
  retransmissions: number;
  timeouts: number;
  sut: CpuWindow;
  cpuUsPerNotify: number;
  /** SUT CPU as a share of one core over the window. */
  sutCoreShare: number;
  loadCpuUsPerNotify: number;
  /** ms from the first NOTIFY sent to the last status message consumed. */
  drainMs: number;
  /** With `--stages`: the generator in 10 ms buckets, to line up with the SUT's (`sut.fine`). */
  generator?: GeneratorTimeline;
}

export const monoMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export class Rig {
  readonly sim: ChildRpc;
  sut: ChildRpc;
  readonly opts: RigOptions;
  simPort = 0;

  private constructor(opts: RigOptions, sim: ChildRpc, sut: ChildRpc) {
    this.opts = opts;
    this.sim = sim;
    this.sut = sut;
  }

  static async start(opts: RigOptions): Promise<Rig> {
    const sim = startGenerator({
      core: opts.pinned === false ? undefined : LOAD_CORE,
      port: opts.simPort,
      transports: 'udp,tcp',
      ...(opts.maxExpires !== undefined ? { maxExpires: opts.maxExpires } : {}),
      ...(opts.simSteadyGc !== undefined ? { steadyGc: opts.simSteadyGc } : {}),
      ...(opts.simNodeArgs !== undefined ? { nodeArgs: opts.simNodeArgs } : {}),
      ...(opts.simPacing !== undefined ? { pacing: opts.simPacing } : {}),
    });
    const sut = Rig.spawnSut(opts);
    const rig = new Rig(opts, sim, sut);
    try {
      const info = await sim.call<{ port: number }>('info', {}, 20_000);
      rig.simPort = info.port;
      await sut.call('start', rig.sutArgs(opts.settings ?? {}), 30_000);
    } catch (e) {
      await rig.stop();
      throw e;
    }
    return rig;
  }

  private static spawnSut(opts: RigOptions): ChildRpc {
    const sutScript = new URL('../sut/sut-process.js', import.meta.url).pathname;
    // Pinned to one core, V8's concurrent marking and parallel scavenging run on the SUT's own core:
    // during a major GC its helper threads took most of that core from the main thread and NOTIFYs
    // waited in the socket buffer (docs/latency-tail.md). `--single-threaded-gc` does the GC on the
    // main thread in incremental steps instead: the daemon's default on one core (single_threaded_gc:
    // auto, src/util/single-threaded-gc.ts), so run.ts sets it unless --sut-no-single-threaded-gc.
    const gc = opts.sutSingleThreadedGc === true ? ['--single-threaded-gc'] : [];
    const nodeArgs = ['--expose-gc', ...gc, ...(opts.sutNodeArgs ?? [])];
    if (opts.cpuProfDir !== undefined) {
      mkdirSync(opts.cpuProfDir, { recursive: true });
      nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
    }
    return new ChildRpc('sut', sutScript, { ...(opts.pinned === false ? {} : { core: SUT_CORE }), nodeArgs });
  }

  /**
   * Another SUT process on `port`, started with this rig's options and settings, speaking to the same
   * simulator (W2-pair). The caller stops it.
   */
  async startAnotherSut(port: number): Promise<ChildRpc> {
    const sut = Rig.spawnSut({ ...this.opts, sutPort: port });
    try {
      await sut.call('start', { ...this.sutArgs(this.opts.settings ?? {}), port }, 30_000);
    } catch (e) {
      await sut.stop(5000);
      throw e;
    }
    return sut;
  }

  private sutArgs(settings: Record<string, number | boolean | string>): SutStartArgs {
    return {
      port: this.opts.sutPort,
      simPort: this.simPort,
      transport: this.opts.transport,
      capacity: this.opts.capacity,
      settings,
      helperThreadsNice: this.opts.helperThreadsNice ?? DEFAULT_HELPER_THREADS_NICE,
      helperThreadsNiceAfterS: this.opts.helperThreadsNiceAfterS ?? DEFAULT_HELPER_THREADS_NICE_AFTER_S,
      ...(this.opts.storePath !== undefined ? { storePath: this.opts.storePath } : {}),
      ...(this.opts.stages === true ? { stages: true } : {}),
      ...(this.opts.keptBodyCompactionMs !== undefined ? { keptBodyCompactionMs: this.opts.keptBodyCompactionMs } : {}),
    };
  }

  /**
   * The SUT crashes (SIGKILL) and a new one starts on the same port and store with `settings`, recording
   * the send time of each SUBSCRIBE (the resume benchmark).
   */
  async crashAndRestartSut(settings: Record<string, number | boolean | string>): Promise<void> {
    await this.sut.kill();
    this.sut = Rig.spawnSut(this.opts);
    await this.sut.call('start', { ...this.sutArgs(settings), recordSends: true }, 60_000);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.sut.stop(15_000), this.sim.stop(5000)]);
  }

  establish(from: number, to: number, window: number, timeoutMs: number, epoch = false): Promise<EstablishResult> {
    return this.sut.call<EstablishResult>('establish', { from, to, window, timeoutMs, epoch }, timeoutMs + 30_000);
  }

  memory(): Promise<MemorySample> {
    return this.sut.call<MemorySample>('memory', {}, 60_000);
  }

  simStats(): Promise<SimStats> {
    return this.sim.call<SimStats>('stats');
  }

  /**
   * Lost = NOTIFYs the SUT had to deliver (expected 1) never seen; duplicated = seen more than once.
   * With several SUTs (W2-pair), a NOTIFY went to one of them: their counts are added.
   */
  async lossIn(seqFrom: number, seqTo: number, suts: readonly ChildRpc[] = [this.sut]): Promise<{ lost: number; duplicated: number; delivered: number; mustDeliver: number }> {
    const expected = await this.sim.call<Uint8Array>('expected', { from: seqFrom, to: seqTo });
    const seen = await Promise.all(suts.map((sut) => sut.call<Uint8Array>('seen', { from: seqFrom, to: seqTo })));
    let lost = 0;
    let duplicated = 0;
    let delivered = 0;
    let mustDeliver = 0;
    for (let i = 0; i < expected.length; i++) {
      let s = 0;
      for (const one of seen) s += one[i] ?? 0;
      if (s > 0) delivered++;
      if (s > 1) duplicated += s - 1;
      if (expected[i] === 1) {
        mustDeliver++;
        if (s === 0) lost++;
      }
    }
    return { lost, duplicated, delivered, mustDeliver };
  }

  /**
   * One NOTIFY window: the simulator sends at `rate` for `durationMs` (or once
   * per dialog with `once`), then waits until every NOTIFY is answered, and the
   * SUT reports CPU, latency, loop delay and GC for the window.
   */
  async notifyWindow(args: { rate: number; durationMs: number; once?: boolean; state?: string; forget?: boolean; drainBoundMs?: number }): Promise<NotifyWindow> {
    const s0 = await this.simStats();
    const load0 = await this.sim.call<NodeJS.CpuUsage>('cpu');
    await this.sut.call('beginWindow');
    const t0 = monoMs();
    const r = await this.sim.call<RateResult>('rate', this.opts.stages === true ? { ...args, timeline: true } : args, args.durationMs + 120_000);
    await this.sim.call('drain', { boundMs: args.drainBoundMs ?? 40_000 }, (args.drainBoundMs ?? 40_000) + 10_000);
    // Let the last status messages reach the consumer (they follow the 200 in the same turn, but be safe).
    await this.waitConsumerQuiet(200, 20_000);
    const w = await this.sut.call<CpuWindow>('endWindow');
    const load1 = await this.sim.call<NodeJS.CpuUsage>('cpu');
    const s1 = await this.simStats();
    const sutStats = await this.sut.call<{ lastMessageAtMs: number }>('stats');
    const loss = await this.lossIn(r.seqFrom, r.seqTo);
    const non2xx = Object.entries(s1.notifyResponses).reduce((acc, [code, n]) => (code === '200' ? acc : acc + n - (s0.notifyResponses[code] ?? 0)), 0);
    const responses: Record<string, number> = {};
    for (const [code, k] of Object.entries(s1.notifyResponses)) {
      const d = k - (s0.notifyResponses[code] ?? 0);
      if (d > 0) responses[code] = d;
    }
    const loadCpu = cpuUsBetween(load0, load1);
    return {
      offeredRate: r.offeredRate,
      achievedRate: r.achievedRate,
      sent: r.sent,
      delivered: loss.delivered,
      lost: loss.lost,
      duplicated: loss.duplicated,
      non2xx,
      responses,
      retransmissions: s1.notifyRetransmissions - s0.notifyRetransmissions,
      timeouts: s1.notifyTimeouts - s0.notifyTimeouts,
      sut: w,
      cpuUsPerNotify: r.sent > 0 ? w.cpuUs / r.sent : 0,
      sutCoreShare: w.cpuUs / 1000 / Math.max(1, r.elapsedMs),
      loadCpuUsPerNotify: r.sent > 0 ? loadCpu / r.sent : 0,
      drainMs: Math.max(0, sutStats.lastMessageAtMs - t0),
      ...(r.timeline !== undefined ? { generator: r.timeline } : {}),
    };
  }

  /** Waits until the consumer has seen no message for `quietMs` (bounded). */
  waitConsumerQuiet(quietMs: number, boundMs: number): Promise<void> {
    return waitConsumersQuiet([this.sut], quietMs, boundMs);
  }
}

/** Waits until the consumers of these SUTs have seen no message for `quietMs` (bounded). */
export async function waitConsumersQuiet(suts: readonly ChildRpc[], quietMs: number, boundMs: number): Promise<void> {
  const t0 = monoMs();
  for (;;) {
    const stats = await Promise.all(suts.map((s) => s.call<{ lastMessageAtMs: number }>('stats')));
    const last = Math.max(...stats.map((x) => x.lastMessageAtMs));
    const now = monoMs();
    if (now - last >= quietMs || now - t0 > boundMs) return;
    await new Promise((r) => setTimeout(r, Math.max(20, quietMs - (now - last))));
  }
}
