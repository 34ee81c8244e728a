/**
 * A restart with stored dialogs, on the wire (issue 10): a first B2BUA holds
 * 300 subscriptions against a loopback presence server and leaves
 * (`close(…, 'leave')`: the snapshots are written, nothing is sent); a second
 * one on the same store, on another port, gets 290 of them again:
 * - those the server still holds resume in-dialog: same Call-ID, CSeq
 *   RESUME_CSEQ_MARGIN above the stored one, the new Contact (target refresh:
 *   the server's NOTIFYs reach the new port);
 * - those it forgot answer 481 and get a new dialog;
 * - the 10 nobody claims are unSUBSCRIBEd after resume_grace;
 * - all of it leaves at max_subscribe_rate at most in any second, and every
 *   subscriber gets its current state from the NOTIFY that answers.
 * Real loopback UDP; engine time from a ManualClock advanced in 50 ms steps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PresenceB2B, createPresenceB2B } from '../../../src/b2b/create-presence-b2b.js';
import type { QsaSubscriptionHandle, StatusQueue } from '../../../src/qsa/index.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { RESUME_CSEQ_MARGIN } from '../../../src/store/resume-cseq.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { LoopbackPresenceServer } from '../../support/loopback-presence-server.js';

const N = 300;
const FORGOTTEN = 30;
const UNCLAIMED = 10;
const RATE = 100;
const STEP_MS = 50;
const GRACE_S = 20;

/**
 * The most arrivals within any second. The server stamps a datagram with the
 * clock time at the end of the step it was sent in (the sender's time is up
 * to a step earlier), so windows of 1000 − STEP_MS ms of stamps hold only
 * sends less than a second apart.
 */
function maxPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 1000 - STEP_MS) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

test('restart: 300 stored dialogs, 260 resumed in-dialog, 30 forgotten by the server renewed, 10 unclaimed unSUBSCRIBEd; paced', async (t) => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const server = await LoopbackPresenceServer.start(clock);
  const store = new MemorySubscriptionStore();
  const opened: PresenceB2B[] = [];
  const start = async (): Promise<PresenceB2B> => {
    const b2b = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      clock,
      scheduler,
      random: new SeededRandom(opened.length + 1),
      store,
      defaultExpiration: 600,
      maxSubscribeRate: RATE,
      resumeGrace: GRACE_S,
      timers: { t1: 500 },
    });
    opened.push(b2b);
    return b2b;
  };
  const step = async (b2b: PresenceB2B) => {
    clock.advance(STEP_MS);
    const stats = b2b.transport.stats;
    for (let turn = 0; turn < 200; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stats.sent === server.received && stats.received === server.sent) return;
    }
  };
  const drain = (queue: StatusQueue) => {
    for (let m = queue.poll(); m !== undefined; m = queue.poll());
  };
  const record = (i: number) => server.record(`u${i}`);
  try {
    // ---- first run: N subscriptions, active, stored
    const first = await start();
    const q1 = first.qsa.createQueue({ capacity: 4 * N });
    const h1: QsaSubscriptionHandle[] = [];
    for (let i = 0; i < N; i++) h1.push(first.qsa.subscribe({ record: record(i), subscriber: 'sip:watcher@example.com', queue: q1 }));
    const active1 = () => h1.every((h) => first.engine.dialogOf(h.id)?.state === 'active' && h.lastStatus?.state === 'active');
    while (!active1() && clock.now() < 30_000) {
      await step(first);
      drain(q1);
    }
    assert.ok(active1(), 'all active in the first run');
    const firstCallIds = new Map(h1.map((h, i) => [i, first.engine.dialogOf(h.id)?.callId ?? '']));
    await step(first);
    server.received = 0;
    server.sent = 0;
    await first.close(1000, 'leave');
    const stored = (await store.load()).dialogs;
    assert.equal(stored.length, N, 'every dialog stored; leave deletes nothing');
    assert.equal(server.subscribes.filter((s) => s.expires === 0).length, 0, 'leave sends nothing');

    // The server forgets some (a restart of its own would forget all).
    for (let i = 0; i < FORGOTTEN; i++) server.forget(firstCallIds.get(i)!);
    const arrivedBefore = server.subscribes.length;
    const restartAt = clock.now();

    // ---- second run, another port: N − UNCLAIMED subscriptions come back
    const second = await start();
    assert.notEqual(second.transport.listening()[0]!.port, first.transport.listening()[0]!.port);
    const q2 = second.qsa.createQueue({ capacity: 4 * N });
    const h2: QsaSubscriptionHandle[] = [];
    for (let i = 0; i < N - UNCLAIMED; i++) h2.push(second.qsa.subscribe({ record: record(i), subscriber: 'sip:watcher@example.com', queue: q2 }));
    assert.equal(second.engine.restartStats.claimed, N - UNCLAIMED);
    const active2 = () => h2.every((h) => second.engine.dialogOf(h.id)?.state === 'active' && h.lastStatus?.state === 'active');
    while (!active2() && clock.now() < restartAt + 30_000) {
      await step(second);
      drain(q2);
    }
    const activeAfterMs = clock.now() - restartAt;
    assert.ok(active2(), `all active again: ${h2.filter((h) => second.engine.dialogOf(h.id)?.state !== 'active').length} not`);
    while (clock.now() < restartAt + GRACE_S * 1000 + 2000) {
      await step(second);
      drain(q2);
    }
    const arrived = server.subscribes.slice(arrivedBefore);
    const ourPort = second.transport.listening()[0]!.port;
    const resumes = arrived.filter((s) => s.inDialog && s.expires > 0);
    const fresh = arrived.filter((s) => !s.inDialog);
    const unsubs = arrived.filter((s) => s.inDialog && s.expires === 0);
    const rs = second.engine.restartStats;
    t.diagnostic(
      `restart: ${rs.claimed} claimed, ${rs.resumed} resumed in-dialog, ${rs.fallbacks} fell back, ${rs.unclaimedUnsubscribed} unclaimed unSUBSCRIBEd; ` +
        `all active ${activeAfterMs} ms after the start; ${maxPerSecond(arrived.map((s) => s.at))} SUBSCRIBEs in the busiest second (limit ${RATE})`,
    );
    assert.equal(rs.resumed, N - UNCLAIMED - FORGOTTEN);
    assert.equal(rs.fallbacks, FORGOTTEN);
    assert.equal(rs.unclaimedUnsubscribed, UNCLAIMED);
    assert.equal(resumes.length, N - UNCLAIMED);
    assert.equal(resumes.filter((s) => s.status === 481).length, FORGOTTEN);
    assert.equal(fresh.length, FORGOTTEN, 'a new dialog for each one the server forgot, none for the others');
    assert.equal(unsubs.length, UNCLAIMED);
    for (const s of [...resumes, ...unsubs]) {
      const before = stored.find((d) => d.callId === s.callId);
      assert.ok(before !== undefined, 'in a stored dialog');
      assert.equal(s.cseq, before.localCSeq + RESUME_CSEQ_MARGIN, 'CSeq above the margin');
      assert.equal(s.contact, `sip:b2b@127.0.0.1:${ourPort}`, 'our new Contact: a target refresh');
    }
    assert.ok(maxPerSecond(arrived.map((s) => s.at)) <= RATE, 'never above max_subscribe_rate in any second');
    // The NOTIFYs answering the resumes reached the new port: the statuses above prove it; the store follows.
    const finalStore = (await store.load()).dialogs;
    assert.equal(finalStore.length, N - UNCLAIMED, 'the unclaimed ones deleted');
    for (let i = 0; i < N - UNCLAIMED; i++) {
      const callId = second.engine.dialogOf(h2[i]!.id)?.callId;
      assert.equal(finalStore.filter((d) => d.callId === callId).length, 1);
      if (i >= FORGOTTEN) assert.equal(callId, firstCallIds.get(i), 'resumed: the same dialog');
      else assert.notEqual(callId, firstCallIds.get(i), 'renewed: a new dialog');
    }
  } finally {
    for (const b2b of opened) {
      const closing = b2b.close(1000);
      clock.advance(1000);
      await closing;
    }
    scheduler.close();
    await server.close();
  }
});
