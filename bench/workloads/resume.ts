/**
 * Resume (issue 10): a restart of presence-b2b itself with N stored dialogs.
 * The SUT (SQLite store) establishes N subscriptions with the simulator,
 * waits until the snapshot writer has stored them (it is at most a second
 * behind), and is killed with SIGKILL. A new SUT starts on the same store and
 * SIP port with the product's default max_subscribe_rate and subscribes the
 * same N again (what a daemon restoring its API subscriptions, or a library
 * application, does): each finds its stored dialog and resumes it with an
 * in-dialog refresh. Measured: all N active again, how many resumed
 * in-dialog (the simulator counts refreshes and 481s, the SUT its restart
 * stats), the most SUBSCRIBEs the simulator received in any sliding second
 * (never above the limit), and the time from the crash, and from the new
 * process's first subscription, until the last one was active.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_ENGINE_SETTINGS } from '../../src/subscription/engine-options.js';
import type { RestartStats } from '../../src/subscription/presence-engine.js';
import { monoMs } from '../harness/rig.js';
import type { EstablishResult } from '../sut/sut-process.js';
import { type BenchOptions, say, sleep, startRig } from './common.js';

export interface ResumeResult {
  n: number;
  transport: string;
  maxSubscribeRate: number;
  establish: EstablishResult;
  restart: {
    /** All N active again. */
    active: number;
    /** ms from the SIGKILL until the last subscription was active again (new process start and store load included). */
    fromCrashMs: number;
    /** ms from the new process's first subscription until the last one was active again. */
    fromSubscribeMs: number;
    /** The new process's start: spawn, store open (quick_check) and load. */
    startMs: number;
    /** The engine's restart stats in the new process. */
    stats: RestartStats;
    /** What the simulator received during the restart. */
    subscribes: number;
    inDialogRefreshes: number;
    newDialogs: number;
    subscribe481: number;
    subscribeRetransmissions: number;
    /** SUBSCRIBEs the new process sent, and the most in any sliding second of their send times. */
    subscribesSent: number;
    maxSentInAnySecond: number;
    /**
     * The same at the simulator, by arrival time: on a loaded machine datagrams that waited in the
     * socket are read (and timed) together, so this can exceed what was sent in any second.
     */
    maxReceivedInAnySecond: number;
    /** maxSentInAnySecond ≤ max_subscribe_rate. */
    withinLimit: boolean;
    cpuUsPerResume: number;
  };
}

export async function runResume(o: BenchOptions): Promise<ResumeResult> {
  const n = o.n ?? (o.smoke ? 500 : 20_000);
  const limit = DEFAULT_ENGINE_SETTINGS.maxSubscribeRate;
  const dir = mkdtempSync(join(tmpdir(), 'pb2b-bench-resume-'));
  say(`resume: N=${n}, ${o.transport}, SQLite store; SIGKILL, then a restart at max_subscribe_rate ${limit}/s`);
  // The first run establishes unpaced (capacity, not the subject here).
  const rig = await startRig(o, n, { storePath: join(dir, 'bench.db'), settings: { maxSubscribeRate: 0 } });
  try {
    const establish = await rig.establish(0, n, o.window, Math.max(60_000, n * 3));
    say(`  established ${establish.established}/${n} in ${(establish.elapsedMs / 1000).toFixed(1)} s`);
    // The snapshot writer is at most a second behind: let it store the last ones.
    await sleep(2500);
    await rig.sim.call('recordSubscribes');
    const s0 = await rig.simStats();
    const crashAt = monoMs();
    await rig.crashAndRestartSut({ maxSubscribeRate: limit });
    const startMs = monoMs() - crashAt;
    // Generous: on a loaded machine the resumes time out and fall back to new dialogs, which takes longer.
    const boundMs = Math.max(120_000, (n / Math.max(1, limit)) * 1000 * 6);
    const again = await rig.establish(0, n, n, boundMs, true);
    // The consumer's time of the last subscription becoming active (same CLOCK_MONOTONIC as ours).
    const lastActive = (await rig.sut.call<{ lastActiveAtMs: number }>('waitActive', { from: 0, to: n, timeoutMs: 0 })).lastActiveAtMs;
    const sutStats = await rig.sut.call<{ restart: RestartStats }>('stats');
    await rig.sim.call('drain', { boundMs: 10_000 }, 20_000);
    const s1 = await rig.simStats();
    const rate = await rig.sim.call<{ count: number; maxInAnySecond: number; spanMs: number }>('subscribeRate');
    const sent = await rig.sut.call<{ count: number; maxInAnySecond: number }>('sendRate');
    const restart = {
      active: again.established,
      fromCrashMs: again.established >= n ? lastActive - crashAt : -1,
      fromSubscribeMs: again.established >= n ? again.elapsedMs : -1,
      startMs,
      stats: sutStats.restart,
      subscribes: rate.count,
      inDialogRefreshes: s1.refreshes - s0.refreshes,
      newDialogs: s1.initialSubscribes - s0.initialSubscribes,
      subscribe481: s1.subscribe481 - s0.subscribe481,
      subscribeRetransmissions: s1.subscribeRetransmissions - s0.subscribeRetransmissions,
      subscribesSent: sent.count,
      maxSentInAnySecond: sent.maxInAnySecond,
      maxReceivedInAnySecond: rate.maxInAnySecond,
      withinLimit: sent.maxInAnySecond <= limit,
      cpuUsPerResume: again.established > 0 ? again.cpuUs / again.established : 0,
    };
    const r = restart.stats;
    say(
      `  restart: ${restart.active}/${n} active again ${restart.fromCrashMs >= 0 ? `${(restart.fromCrashMs / 1000).toFixed(1)} s after the SIGKILL (start ${(startMs / 1000).toFixed(1)} s)` : '(NOT all)'}; ` +
        `${r.resumed} resumed in-dialog, ${r.fallbacks} fell back, ${r.expired} expired, ${r.stored} stored; ` +
        `${restart.subscribes} SUBSCRIBEs (${restart.inDialogRefreshes} in-dialog, ${restart.newDialogs} new, ${restart.subscribe481} answered 481), ` +
        `at most ${restart.maxSentInAnySecond} sent in any second (limit ${limit}; ${restart.maxReceivedInAnySecond} by arrival time); ${restart.cpuUsPerResume.toFixed(0)} µs CPU each`,
    );
    return { n, transport: o.transport, maxSubscribeRate: limit, establish, restart };
  } finally {
    await rig.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
