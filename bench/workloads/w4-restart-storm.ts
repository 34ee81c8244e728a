/**
 * W4 restart storm (docs/benchmark-method.md §3): with N subscriptions active, the
 * presence server restarts: it ends every subscription with
 * `Subscription-State: terminated;reason=deactivated` within `spread` and
 * forgets them. RFC 6665 §4.1.3 lets the subscriber re-subscribe at once, so
 * the SUT sends N new SUBSCRIBEs in a herd. Measured: time until all N are
 * `active` again, SUT CPU for the whole recovery, failures and timeouts.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monoMs, type Rig } from '../harness/rig.js';
import type { SimStats } from '../load/presence-server-sim.js';
import type { CpuWindow, EstablishResult } from '../sut/sut-process.js';
import { type BenchOptions, say, sleep, startRig } from './common.js';
import { DEFAULT_ENGINE_SETTINGS } from '../../src/subscription/engine-options.js';

export interface W4Result {
  n: number;
  transport: string;
  spreadMs: number;
  establish: EstablishResult;
  /** With `--heap-snapshot`: the SUT's heap snapshot, taken HEAP_SNAPSHOT_INTO_RECOVERY_MS into the recovery. */
  heapSnapshot?: string;
  /** With `--survivor-profile`: what outlived a scavenge over the recovery (bench/survivor-summary.ts). */
  survivorProfile?: string;
  recovery: {
    reestablished: number;
    /** ms from the first deactivating NOTIFY until the last subscription was active again; -1 if not all were within `boundMs`. */
    timeToAllActiveMs: number;
    boundMs: number;
    newSubscribes: number;
    subscribeRetransmissions: number;
    notifyTimeouts: number;
    notifyRetransmissions: number;
    cpuUs: number;
    cpuUsPerReestablishment: number;
    sut: CpuWindow;
  };
}

export async function runW4(o: BenchOptions): Promise<W4Result> {
  const n = o.n ?? (o.smoke ? 500 : 100_000);
  const spreadMs = o.spreadMs ?? 1000;
  say(`W4 restart storm: N=${n}, ${o.transport}, every dialog deactivated within ${spreadMs} ms`);
  // The product's default max_subscribe_rate: pacing the re-SUBSCRIBE storm is what W4 is about.
  const rig = await startRig(o, n, { settings: { maxSubscribeRate: DEFAULT_ENGINE_SETTINGS.maxSubscribeRate } });
  try {
    const establish = await rig.establish(0, n, o.window, Math.max(60_000, n * 2));
    say(`  established ${establish.established}/${n} in ${(establish.elapsedMs / 1000).toFixed(1)} s`);
    // RFC 6665 guard in the engine: no new SUBSCRIBE sooner than 2 s after the last one.
    await sleep(2500);
    const s0 = await rig.simStats();
    await rig.sut.call('newEpoch');
    await rig.sut.call('beginWindow');
    const t0 = monoMs();
    await rig.sim.call('rate', { rate: n, durationMs: spreadMs, once: true, state: 'terminated;reason=deactivated', forget: true }, spreadMs + 120_000);
    const boundMs = Math.max(60_000, n * 2);
    // Diagnostic only (it stops the SUT for seconds): what the old generation holds while the
    // re-SUBSCRIBEs are paced, when W4's largest mark-compacts come (docs/latency-tail.md).
    const snapshot = o.heapSnapshotDir === undefined ? undefined : snapshotLater(rig, o.heapSnapshotDir, n, t0);
    if (o.survivorProfileDir !== undefined) await rig.sut.call('startSurvivorSampling');
    const w = await rig.sut.call<{ active: number; elapsedMsSinceEpoch: number; lastActiveAtMs: number }>('waitActive', { from: 0, to: n, timeoutMs: boundMs }, boundMs + 30_000);
    const sut = await rig.sut.call<CpuWindow>('endWindow');
    let survivorProfile: string | undefined;
    if (o.survivorProfileDir !== undefined) {
      mkdirSync(o.survivorProfileDir, { recursive: true });
      const path = join(o.survivorProfileDir, `w4-${n}-${Date.now()}.survivors.heapprofile`);
      survivorProfile = await rig.sut.call<string>('stopSurvivorSampling', { path }, 120_000);
      say(`  survivor profile: ${survivorProfile}`);
    }
    await rig.sim.call('drain', { boundMs: 10_000 }, 20_000);
    const s1: SimStats = await rig.simStats();
    // Same CLOCK_MONOTONIC in both processes: the SUT's timestamps compare with ours.
    const timeToAll = w.active >= n ? w.lastActiveAtMs - t0 : -1;
    const recovery = {
      reestablished: w.active,
      timeToAllActiveMs: timeToAll,
      boundMs,
      newSubscribes: s1.initialSubscribes - s0.initialSubscribes,
      subscribeRetransmissions: s1.subscribeRetransmissions - s0.subscribeRetransmissions,
      notifyTimeouts: s1.notifyTimeouts - s0.notifyTimeouts,
      notifyRetransmissions: s1.notifyRetransmissions - s0.notifyRetransmissions,
      cpuUs: sut.cpuUs,
      cpuUsPerReestablishment: w.active > 0 ? sut.cpuUs / w.active : 0,
      sut,
    };
    say(
      `  recovery: ${w.active}/${n} active again ${timeToAll >= 0 ? `after ${(timeToAll / 1000).toFixed(1)} s` : `(not all within ${boundMs / 1000} s)`}; ${recovery.newSubscribes} new SUBSCRIBEs, ` +
        `${recovery.subscribeRetransmissions} SUBSCRIBE retransmissions; ${recovery.cpuUsPerReestablishment.toFixed(0)} µs CPU each; GC max ${sut.gcMaxPauseMs.toFixed(1)} ms`,
    );
    const heapSnapshot = snapshot === undefined ? undefined : await snapshot;
    if (heapSnapshot !== undefined) say(`  heap snapshot: ${heapSnapshot}`);
    return { n, transport: o.transport, spreadMs, establish, recovery, ...(heapSnapshot === undefined ? {} : { heapSnapshot }), ...(survivorProfile === undefined ? {} : { survivorProfile }) };
  } finally {
    await rig.stop();
  }
}

const HEAP_SNAPSHOT_INTO_RECOVERY_MS = 40_000;

async function snapshotLater(rig: Rig, dir: string, n: number, t0: number): Promise<string> {
  await sleep(Math.max(0, t0 + HEAP_SNAPSHOT_INTO_RECOVERY_MS - monoMs()));
  mkdirSync(dir, { recursive: true });
  return rig.sut.call<string>('heapSnapshot', { path: join(dir, `w4-${n}-${Date.now()}.heapsnapshot`) }, 600_000);
}
