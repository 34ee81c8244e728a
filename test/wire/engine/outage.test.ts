/**
 * A presence server outage under 1,000 live subscriptions (issue 9): the
 * server stops answering for three minutes of injected time, then comes
 * back. Every subscription recovers; while it is down the SUBSCRIBEs stay
 * within the backoff schedule (each attempt waits Timer F, 64·T1, then
 * on_error_retry_time × 2^(n−1) capped by max_error_retry_time, −20 % at
 * worst), and no two attempts of one subscription come closer than that.
 * Real loopback UDP (a LoopbackPresenceServer), engine time from a
 * ManualClock advanced in 100 ms steps.
 */
import assert from 'node:assert/strict';
import { subscribe as subscribeChannel, unsubscribe as unsubscribeChannel } from 'node:diagnostics_channel';
import { test } from 'node:test';
import { type PresenceB2B, createPresenceB2B } from '../../../src/b2b/create-presence-b2b.js';
import type { QsaSubscriptionHandle } from '../../../src/qsa/index.js';
import { ENGINE_CHANNEL_STATE, type EngineStateEvent } from '../../../src/subscription/engine-diagnostics.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { LoopbackPresenceServer } from '../../support/loopback-presence-server.js';

const SUBSCRIPTIONS = 1000;
const T1 = 500;
const TIMER_F_MS = 64 * T1;
const ON_ERROR_RETRY_TIME = 10;
const MAX_ERROR_RETRY_TIME = 60;
const STEP_MS = 100;
const OUTAGE_START_MS = 250_000;
const OUTAGE_MS = 180_000;
const OUTAGE_END_MS = OUTAGE_START_MS + OUTAGE_MS;

/** The shortest wait between a failed attempt (the k-th failure in a row) and the next one. */
function minimumGapMs(k: number): number {
  return TIMER_F_MS + 0.8 * Math.min(ON_ERROR_RETRY_TIME * 2 ** (k - 1), MAX_ERROR_RETRY_TIME) * 1000;
}

/** The most attempts one subscription can make within the outage, every wait at its shortest. */
function maxAttemptsInOutage(): number {
  let count = 0;
  for (let at = 0, k = 1; at < OUTAGE_MS; at += minimumGapMs(k), k++) count++;
  return count;
}

test('1,000 subscriptions, a 3-minute outage: all recover, the SUBSCRIBEs stay within the backoff schedule', async (t) => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const server = await LoopbackPresenceServer.start(clock, { maxExpires: 300 });
  let b2b: PresenceB2B | undefined;
  const attempts = new Map<string, number[]>();
  const onState = (message: unknown) => {
    const event = message as EngineStateEvent;
    if (event.to !== 'subscribing' && event.to !== 'refreshing') return;
    const list = attempts.get(event.dialog) ?? [];
    list.push(clock.now());
    attempts.set(event.dialog, list);
  };
  subscribeChannel(ENGINE_CHANNEL_STATE, onState);
  try {
    b2b = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      clock,
      scheduler,
      random: new SeededRandom(9),
      defaultExpiration: 300,
      resubscribeDelta: 30,
      refreshJitter: 5,
      onErrorRetryTime: ON_ERROR_RETRY_TIME,
      maxErrorRetryTime: MAX_ERROR_RETRY_TIME,
      maxSubscribeRate: 200,
      timers: { t1: T1 },
    });
    const engine = b2b.engine;
    const stats = b2b.transport.stats;
    const queue = b2b.qsa.createQueue({ capacity: 4 * SUBSCRIPTIONS });
    let unsettled = 0;
    const step = async () => {
      clock.advance(STEP_MS);
      // Let the datagrams of this step arrive: both sides' counters balance (bounded; a lost datagram only costs turns).
      for (let turn = 0; turn < 200; turn++) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stats.sent === server.received && stats.received === server.sent) return;
      }
      unsettled++;
    };
    const handles: QsaSubscriptionHandle[] = [];
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      handles.push(b2b.qsa.subscribe({ record: server.record(`u${i}`), subscriber: 'sip:watcher@example.com', queue }));
    }
    const allActive = () => handles.every((h) => engine.dialogOf(h.id)?.state === 'active' && h.lastStatus?.state === 'active');
    while (!allActive() && clock.now() < 30_000) await step();
    assert.ok(allActive(), 'all active before the outage');
    const establishedAt = clock.now();
    while (clock.now() < OUTAGE_START_MS) {
      await step();
      for (let m = queue.poll(); m !== undefined; m = queue.poll());
    }
    server.down = true;
    const sentBefore = engine.stats.subscribesSent;
    while (clock.now() < OUTAGE_END_MS) {
      await step();
      for (let m = queue.poll(); m !== undefined; m = queue.poll());
    }
    server.down = false;
    const duringOutage = engine.stats.subscribesSent - sentBefore;
    const arrivedDuringOutage = server.subscribes.filter((s) => s.dropped).length;
    const recoveryDeadline = OUTAGE_END_MS + TIMER_F_MS + 1.2 * MAX_ERROR_RETRY_TIME * 1000 + 30_000;
    while (!allActive() && clock.now() < recoveryDeadline) {
      await step();
      for (let m = queue.poll(); m !== undefined; m = queue.poll());
    }
    const recoveredAt = clock.now();

    const perSubscription = maxAttemptsInOutage();
    t.diagnostic(
      `outage of ${OUTAGE_MS / 1000} s under ${SUBSCRIPTIONS} subscriptions: ${duringOutage} SUBSCRIBEs sent while the server was down ` +
        `(${arrivedDuringOutage} arrived), schedule bound ${perSubscription} per subscription = ${perSubscription * SUBSCRIPTIONS}; ` +
        `all active again ${(recoveredAt - OUTAGE_END_MS) / 1000} s after the server came back (established in ${establishedAt / 1000} s; ` +
        `${unsettled} steps did not settle)`,
    );
    assert.ok(allActive(), `all recover: ${handles.filter((h) => engine.dialogOf(h.id)?.state !== 'active').length} not active`);
    assert.ok(duringOutage >= SUBSCRIPTIONS, 'every subscription noticed the outage (its refresh fell in it)');
    assert.ok(duringOutage <= perSubscription * SUBSCRIPTIONS, `${duringOutage} SUBSCRIBEs > ${perSubscription * SUBSCRIPTIONS}`);
    assert.ok(arrivedDuringOutage <= duringOutage);

    // Per subscription: within the outage, at most the schedule's count, and each gap after a failed attempt at least its minimum.
    let checkedGaps = 0;
    for (const [dialog, times] of attempts) {
      const inOutage = times.filter((at) => at >= OUTAGE_START_MS && at < OUTAGE_END_MS);
      assert.ok(inOutage.length <= perSubscription, `${dialog}: ${inOutage.length} attempts during the outage`);
      for (let k = 1; k < inOutage.length + 1; k++) {
        const failed = inOutage[k - 1]!;
        const next = times[times.indexOf(failed) + 1];
        if (next === undefined) continue;
        assert.ok(next - failed >= minimumGapMs(k) - STEP_MS, `${dialog}: attempt ${k + 1} ${next - failed} ms after attempt ${k}, minimum ${minimumGapMs(k)}`);
        checkedGaps++;
      }
    }
    assert.ok(checkedGaps >= SUBSCRIPTIONS, `${checkedGaps} gaps checked`);
    // After the outage the backoff starts over: a success reset every count.
    for (const h of handles) assert.equal(h.lastStatus?.state, 'active');
  } finally {
    unsubscribeChannel(ENGINE_CHANNEL_STATE, onState);
    if (b2b !== undefined) {
      const closing = b2b.close(1000);
      clock.advance(1000);
      await closing;
    }
    scheduler.close();
    await server.close();
  }
});
