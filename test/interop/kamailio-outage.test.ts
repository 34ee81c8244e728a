/**
 * A real presence server outage (issue 9): Kamailio (peers/kamailio/kamailio-presence.cfg,
 * subscriptions in memory) is stopped for 60 s under 200 live subscriptions,
 * then started again with its state empty. Every subscription becomes
 * active again through the backoff, and a PUBLISH made after the restart
 * reaches all 200. Short timers keep it bounded: T1 100 ms (Timer F 6.4 s),
 * on_error_retry_time 2 s, max_error_retry_time 10 s, 40 s grants refreshed
 * after 25–30 s, so that every refresh falls in the outage. Real time: about
 * 80 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPresenceB2B, type PresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import { presenceOf } from '../../src/presence/index.js';
import type { QsaSubscriptionHandle, StatusMessage } from '../../src/qsa/index.js';
import { kamailioAddress, sippPublish, startKamailio, stopKamailio } from '../support/peers.js';

const N = 200;
const OUTAGE_MS = 60_000;
const RECORD = 'sip:eve@example.com';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function noteOf(m: StatusMessage | undefined): string | undefined {
  return m === undefined ? undefined : presenceOf(m)?.tuples[0]?.notes[0]?.text;
}

describe('presence-b2b through a 60 s Kamailio outage', () => {
  let b2b: PresenceB2B;

  before(async () => {
    const k = kamailioAddress();
    b2b = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      presenceOutboundProxy: `sip:${k.host}:${k.port}`,
      defaultExpiration: 40,
      resubscribeDelta: 10,
      refreshJitter: 5,
      onErrorRetryTime: 2,
      maxErrorRetryTime: 10,
      timers: { t1: 100 },
    });
  });

  after(async () => {
    await b2b?.close(5000);
  });

  it('200 subscriptions: all active again after the restart, and a PUBLISH made then reaches every one', async () => {
    const queue = b2b.qsa.createQueue({ capacity: 100_000 });
    const drain = () => {
      for (let m = queue.poll(); m !== undefined; m = queue.poll());
    };
    /** Polls (draining the queue) until `done()` or `timeoutMs`. */
    const until = async (done: () => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!done() && Date.now() < deadline) {
        drain();
        await sleep(50);
      }
      drain();
      return done();
    };
    await sippPublish({ user: 'eve', basic: 'open', note: 'before the outage', expires: 600 });
    const handles: QsaSubscriptionHandle[] = [];
    for (let i = 0; i < N; i++) handles.push(b2b.qsa.subscribe({ record: RECORD, subscriber: `sip:watcher${i}@example.com`, queue }));
    const notActive = () => handles.filter((h) => b2b.engine.dialogOf(h.id)?.state !== 'active' || h.lastStatus?.state !== 'active');
    assert.ok(await until(() => notActive().length === 0, 15_000), `${notActive().length} not active before the outage`);
    assert.ok(await until(() => handles.every((h) => noteOf(h.lastStatus) === 'before the outage'), 10_000), 'the first publication reached every one');

    const sentBefore = b2b.engine.stats.subscribesSent;
    const failuresBefore = b2b.engine.stats.failures;
    let stopped = true;
    await stopKamailio();
    try {
      await until(() => false, OUTAGE_MS);
      const duringOutage = b2b.engine.stats.subscribesSent - sentBefore;
      const failures = b2b.engine.stats.failures - failuresBefore;
      assert.ok(failures >= N, `every subscription noticed the outage (${failures} failures)`);
      await startKamailio();
      stopped = false;
      const restartedAt = Date.now();
      assert.ok(await until(() => notActive().length === 0, 40_000), `${notActive().length} of ${N} not active again`);
      const recoveredIn = Date.now() - restartedAt;
      const recovery = b2b.engine.stats.subscribesSent - sentBefore - duringOutage;

      await sippPublish({ user: 'eve', basic: 'closed', note: 'after the restart', expires: 600 });
      const missing = () => handles.filter((h) => noteOf(h.lastStatus) !== 'after the restart');
      assert.ok(await until(() => missing().length === 0, 15_000), `${missing().length} of ${N} did not get the publication made after the restart`);
      console.log(
        `Kamailio outage: ${N} subscriptions, ${OUTAGE_MS / 1000} s down: ${duringOutage} SUBSCRIBEs sent while it was down ` +
          `(${failures} failures reported), ${recovery} more until all were active again ${(recoveredIn / 1000).toFixed(1)} s after the restart`,
      );
      // Each subscription's attempts while down are bounded by the schedule: Timer F 6.4 s + 2·2^(n−1) s (−20 %), capped at 10 s.
      let bound = 0;
      for (let at = 0, n = 1; at < OUTAGE_MS; at += 6400 + 0.8 * Math.min(2000 * 2 ** (n - 1), 10_000), n++) bound++;
      assert.ok(duringOutage <= N * bound, `${duringOutage} SUBSCRIBEs during the outage > ${N} × ${bound}`);
    } finally {
      if (stopped) await startKamailio();
    }
  });
});
