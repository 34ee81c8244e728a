/**
 * W3 churn (docs/benchmark-method.md §3): N subscriptions held with a short granted
 * Expires (60 s, so refreshes run all the time: RFC 6665 §4.1.2.1), while the
 * internal client unsubscribes the oldest and subscribes new ones at `c`/s.
 * Measured: SUT CPU and GC while churning, refresh rate, losses, and whether
 * memory returns to where it was once the churn stops (leak check: heap and
 * RSS with the same N live, after a forced GC, before and after; with
 * `--heap-snapshot`, a SUT heap snapshot at both points).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { monoMs } from '../harness/rig.js';
import type { SmapsSummary } from '../sut/smaps-summary.js';
import type { CpuWindow, EstablishResult, MemorySample } from '../sut/sut-process.js';
import { type BenchOptions, say, sleep, startRig } from './common.js';

export interface W3Result {
  n: number;
  transport: string;
  grantedExpiresS: number;
  churnPerSecond: number;
  durationS: number;
  settleS: number;
  establish: EstablishResult;
  churn: {
    subscribed: number;
    unsubscribed: number;
    refreshes: number;
    refreshesPerSecond: number;
    unsubscribesSeenByServer: number;
    newEstablished: number;
    sut: CpuWindow;
    sutCoreShare: number;
    /** SUT CPU per SIP-level operation (new + removed + refreshed subscription). */
    cpuUsPerOperation: number;
    lost: number;
    /**
     * What explains `lost` (docs/benchmark-method.md §3, W3): statuses QSA purged from the queue when
     * the application unsubscribed before taking them (src/qsa/qsa-broker.ts unsubscribe), statuses
     * coalesced with a newer one of the same subscription, and NOTIFYs answered 481 because the
     * subscription had already been ended, and NOTIFYs answered 200 after the application's unsubscribe
     * (a refresh's NOTIFY that crossed it: EngineStats.notifiesAfterUnsubscribe). Counts, not per NOTIFY:
     * `lost` minus their sum is what nothing in the design explains (≤ 0 means all of it is explained).
     */
    purgedByUnsubscribe: number;
    coalesced: number;
    notify481: number;
    /** Absent from a SUT built before the engine counted them. */
    afterUnsubscribe?: number;
    duplicated: number;
    subscribe481: number;
    notifyTimeouts: number;
    /** Datagrams the kernel dropped at the SUT's UDP receive buffer over the churn and its drain (Linux; udp-drops.ts). */
    sutUdpDrops?: number;
  };
  /**
   * The SUT engine's counters over the churn and its drain (EngineStats, after − before): among them the
   * confirming refreshes (docs/behaviour.md §3.7), NOTIFYs accepted, rejected and unmatched, status messages.
   */
  engineDuringChurn: Record<string, number>;
  /** The broker's kept-body store (slabs, bodies, moves) at the two memory samples; absent in a build without one. */
  keptBodies?: { before: unknown; after: unknown };
  /** Engine dialogs and broker subscriptions at the two memory samples (N live at both when nothing lingers). */
  held?: { before: { dialogs: number; subscriptions: number }; after: { dialogs: number; subscriptions: number } };
  /** Where the SUT's RSS lies at the two memory samples (Linux: glibc arenas, V8 spaces, other mappings). */
  smaps?: { before: SmapsSummary | undefined; after: SmapsSummary | undefined };
  before: MemorySample;
  after: MemorySample;
  heapGrowthBytes: number;
  rssGrowthBytes: number;
  heapGrowthBytesPerChurned: number;
}

export async function runW3(o: BenchOptions): Promise<W3Result> {
  const n = o.n ?? (o.smoke ? 1000 : 50_000);
  const grant = o.expires ?? 60;
  const rate = o.churnRate ?? (o.smoke ? 50 : 500);
  const durationS = o.durationS ?? (o.smoke ? 3 : 60);
  const settleS = o.settleS ?? (o.smoke ? 0 : 35);
  const capacity = n + Math.ceil(rate * durationS * 1.2) + 100;
  say(`W3 churn: N=${n}, ${o.transport}, Expires ${grant} s, churn ${rate}/s for ${durationS} s, settle ${settleS} s`);
  const rig = await startRig(o, capacity, { maxExpires: grant });
  try {
    const establish = await rig.establish(0, n, o.window, Math.max(60_000, n * 2));
    say(`  established ${establish.established}/${n} in ${(establish.elapsedMs / 1000).toFixed(1)} s`);
    if (settleS > 0) await sleep(settleS * 1000);
    const before = await rig.memory();
    const smapsBefore = await rig.sut.call<SmapsSummary | undefined>('smaps');
    const snapshots: string[] = [];
    const snapshot = async (label: string) => {
      if (o.heapSnapshotDir === undefined) return;
      mkdirSync(o.heapSnapshotDir, { recursive: true });
      const file = join(o.heapSnapshotDir, `w3-${label}-${Date.now()}.heapsnapshot`);
      snapshots.push(await rig.sut.call<string>('heapSnapshot', { path: file }, 600_000));
    };
    await snapshot('before');
    const s0 = await rig.simStats();
    const q0 = await queueCounters(rig);
    const e0 = await sutCounters(rig);
    await rig.sut.call('beginWindow');
    const t0 = monoMs();
    const c = await rig.sut.call<{ subscribed: number; unsubscribed: number; newTo: number; oldestTo: number }>(
      'churn',
      { rate, durationMs: durationS * 1000, oldestFrom: 0, newFrom: n },
      durationS * 1000 + 60_000,
    );
    const elapsedMs = monoMs() - t0;
    const sut = await rig.sut.call<CpuWindow>('endWindow');
    const s1 = await rig.simStats();
    const newly = await rig.sut.call<{ active: number }>('waitActive', { from: n, to: c.newTo, timeoutMs: 20_000 }, 40_000);
    await rig.sim.call('drain', { boundMs: 35_000 }, 45_000);
    const loss = await rig.lossIn(s0.nextSeq, s1.nextSeq);
    const q1 = await queueCounters(rig);
    const e1 = await sutCounters(rig);
    const s2 = await rig.simStats();
    if (settleS > 0) await sleep(settleS * 1000);
    const after = await rig.memory();
    const eAfter = await sutCounters(rig);
    const keptAfter = eAfter.keptBodies;
    const smapsAfter = await rig.sut.call<SmapsSummary | undefined>('smaps');
    await snapshot('after');
    if (snapshots.length > 0) say(`  heap snapshots: ${snapshots.join(' ')} (compare with dist/bench/heap-summary.js)`);
    const refreshes = s1.refreshes - s0.refreshes;
    const ops = c.subscribed + c.unsubscribed + refreshes;
    const result: W3Result = {
      n,
      transport: o.transport,
      grantedExpiresS: grant,
      churnPerSecond: rate,
      durationS,
      settleS,
      establish,
      churn: {
        subscribed: c.subscribed,
        unsubscribed: c.unsubscribed,
        refreshes,
        refreshesPerSecond: (refreshes * 1000) / Math.max(1, elapsedMs),
        unsubscribesSeenByServer: s1.unsubscribes - s0.unsubscribes,
        newEstablished: newly.active,
        sut,
        sutCoreShare: sut.cpuUs / 1000 / Math.max(1, sut.elapsedMs),
        cpuUsPerOperation: ops > 0 ? sut.cpuUs / ops : 0,
        lost: loss.lost,
        purgedByUnsubscribe: q1.purged - q0.purged,
        coalesced: q1.coalesced - q0.coalesced,
        notify481: (s2.notifyResponses['481'] ?? 0) - (s0.notifyResponses['481'] ?? 0),
        ...(typeof e1.engine.notifiesAfterUnsubscribe === 'number' && typeof e0.engine.notifiesAfterUnsubscribe === 'number'
          ? { afterUnsubscribe: e1.engine.notifiesAfterUnsubscribe - e0.engine.notifiesAfterUnsubscribe }
          : {}),
        duplicated: loss.duplicated,
        subscribe481: s1.subscribe481 - s0.subscribe481,
        notifyTimeouts: s1.notifyTimeouts - s0.notifyTimeouts,
        ...(typeof e1.udpDrops === 'number' && typeof e0.udpDrops === 'number' ? { sutUdpDrops: e1.udpDrops - e0.udpDrops } : {}),
      },
      engineDuringChurn: counterDelta(e0.engine, e1.engine),
      ...(e0.keptBodies !== undefined ? { keptBodies: { before: e0.keptBodies, after: keptAfter } } : {}),
      smaps: { before: smapsBefore, after: smapsAfter },
      held: { before: { dialogs: e0.dialogs, subscriptions: e0.subscriptions }, after: { dialogs: eAfter.dialogs, subscriptions: eAfter.subscriptions } },
      before,
      after,
      heapGrowthBytes: after.heapUsed - before.heapUsed,
      rssGrowthBytes: after.rss - before.rss,
      heapGrowthBytesPerChurned: c.subscribed > 0 ? (after.heapUsed - before.heapUsed) / c.subscribed : 0,
    };
    say(
      `  churned ${c.subscribed} in / ${c.unsubscribed} out, ${refreshes} refreshes (${result.churn.refreshesPerSecond.toFixed(0)}/s); SUT ${(result.churn.sutCoreShare * 100).toFixed(0)} % core, ` +
        `${result.churn.cpuUsPerOperation.toFixed(0)} µs/op; GC max ${sut.gcMaxPauseMs.toFixed(1)} ms; lost ${loss.lost} (purged by the application's unsubscribe ${result.churn.purgedByUnsubscribe}, coalesced ${result.churn.coalesced}, answered 481 ${result.churn.notify481}, answered after the unsubscribe ${result.churn.afterUnsubscribe ?? '-'}), dup ${loss.duplicated}; confirming refreshes ${result.engineDuringChurn.confirmingRefreshes ?? '-'}; heap ${(result.heapGrowthBytes / 1e6).toFixed(1)} MB after vs before`,
    );
    return result;
  } finally {
    await rig.stop();
  }
}

/** The SUT's engine counters (EngineStats) and kept-body store figures, as its 'stats' op gives them. */
interface SutCounters {
  engine: Record<string, unknown>;
  keptBodies?: unknown;
  udpDrops?: number;
  dialogs: number;
  subscriptions: number;
}

async function sutCounters(rig: Awaited<ReturnType<typeof startRig>>): Promise<SutCounters> {
  return rig.sut.call<SutCounters>('stats');
}

/** after − before for every numeric counter (nested ones such as `responses` flattened as `responses.2xx`). */
function counterDelta(before: Record<string, unknown>, after: Record<string, unknown>, prefix = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const was = before[key];
    if (typeof value === 'number') out[prefix + key] = value - (typeof was === 'number' ? was : 0);
    else if (value !== null && typeof value === 'object') Object.assign(out, counterDelta((was ?? {}) as Record<string, unknown>, value as Record<string, unknown>, `${prefix}${key}.`));
  }
  return out;
}

/** The SUT queue's purged and coalesced counters (src/qsa/status-queue.ts StatusQueueStats). */
async function queueCounters(rig: Awaited<ReturnType<typeof startRig>>): Promise<{ purged: number; coalesced: number }> {
  const s = await rig.sut.call<{ queue: { purged: number; coalesced: number } }>('stats');
  return { purged: s.queue.purged, coalesced: s.queue.coalesced };
}
