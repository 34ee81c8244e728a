/**
 * A network that loses datagrams, between the B2BUA and the real Kamailio
 * (docs/hostile-input.md, "Networks that lose"): through a seeded userspace
 * relay dropping 5 %, then 20 %, of the datagrams in both directions, 200
 * subscriptions all become active and every published change reaches its
 * queue. The retransmissions on each side are printed (test diagnostics).
 *
 * What recovers what: our SUBSCRIBEs and Kamailio's NOTIFYs are retransmitted
 * over UDP (RFC 3261 §17.1.2.2; Kamailio's NOTIFY transaction gives up after
 * its fr_timer, 5 s here, and then drops the subscription, as its
 * timeout_rm_subs says); a subscription Kamailio dropped is found by our next
 * refresh (481, RFC 6665 §4.1.2.2) and made again, so the grant is short here
 * (30 s: a refresh every 15 s or so). Bounded: 75 s per level at most.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createPresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import { presenceOf } from '../../src/presence/index.js';
import type { StatusMessage } from '../../src/qsa/index.js';
import { startLossyUdpRelay } from '../support/lossy-udp-relay.js';
import { kamailioAddress, sippPublish } from '../support/peers.js';

const SUBSCRIPTIONS = 200;
const PRESENTITIES = 20;
const LEVEL_BOUND_MS = 75_000;

function noteOf(m: StatusMessage): string | undefined {
  for (const tuple of presenceOf(m)?.tuples ?? []) for (const note of tuple.notes) return note.text;
  return undefined;
}

async function runLevel(t: TestContext, lossRate: number, seed: number, firstUser: number): Promise<void> {
  const started = Date.now();
  const deadline = started + LEVEL_BOUND_MS;
  const relay = await startLossyUdpRelay({ server: kamailioAddress(), lossRate, seed });
  const b2b = await createPresenceB2B({
    listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
    presenceOutboundProxy: `sip:${relay.clientSide.host}:${relay.clientSide.port}`,
    defaultExpiration: 30,
    resubscribeDelta: 10,
    minResubscribeTime: 5,
    refreshJitter: 2,
    onErrorRetryTime: 2,
    maxErrorRetryTime: 8,
  });
  try {
    const users = Array.from({ length: PRESENTITIES }, (_, i) => `user${firstUser + i}`);
    // The state before: published straight to Kamailio (the loss is between the B2BUA and Kamailio).
    for (const user of users) await sippPublish({ user, basic: 'open', note: 'before', expires: 300 });

    const queue = b2b.qsa.createQueue({ capacity: 10_000 });
    // Subscriber → the last note it saw, and whether it ever was active.
    const lastNote = new Map<string, string | undefined>();
    const active = new Set<string>();
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const subscriber = `sip:watcher${firstUser * 10 + i}@example.com`;
      lastNote.set(subscriber, undefined);
      b2b.qsa.subscribe({ record: `sip:${users[i % PRESENTITIES]}@example.com`, subscriber, queue });
    }
    const drain = (): void => {
      for (let m = queue.poll(); m !== undefined; m = queue.poll()) {
        if (m.state !== 'active') continue;
        active.add(m.subscriber);
        const note = noteOf(m);
        if (note !== undefined) lastNote.set(m.subscriber, note);
      }
    };
    const waitFor = async (done: () => boolean, what: string): Promise<void> => {
      for (;;) {
        drain();
        if (done()) return;
        if (Date.now() > deadline) assert.fail(`${lossRate * 100} % loss: ${what} not within ${LEVEL_BOUND_MS} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await waitFor(() => active.size === SUBSCRIPTIONS, `all ${SUBSCRIPTIONS} active (${active.size})`);
    const activeAfterMs = Date.now() - started;

    for (const user of users) await sippPublish({ user, basic: 'closed', note: 'changed', expires: 300 });
    const changed = () => [...lastNote.values()].filter((n) => n === 'changed').length;
    await waitFor(() => changed() === SUBSCRIPTIONS, `the change in every queue (${changed()}/${SUBSCRIPTIONS})`);

    const ua = b2b.ua.stats();
    t.diagnostic(
      `${lossRate * 100} % loss (seed ${seed}): ${SUBSCRIPTIONS} active after ${(activeAfterMs / 1000).toFixed(1)} s, ` +
        `every change queued after ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `relay → Kamailio ${relay.toServer.received} datagrams, ${relay.toServer.dropped} dropped, ${relay.toServer.retransmissions} retransmissions; ` +
        `Kamailio → B2BUA ${relay.toClient.received}, ${relay.toClient.dropped} dropped, ${relay.toClient.retransmissions} retransmissions; ` +
        `B2BUA: ${ua.requestRetransmissions} requests retransmitted (Timer E), ${ua.responseRetransmissions} responses resent to retransmitted NOTIFYs, ` +
        `${ua.timeouts} Timer F timeouts, ${b2b.engine.stats.subscribesSent} SUBSCRIBEs sent, ${b2b.engine.stats.failures} failures retried`,
    );
    assert.ok(relay.toServer.dropped > 0 && relay.toClient.dropped > 0, 'datagrams were lost both ways');
  } finally {
    await b2b.close(3000);
    await relay.close();
  }
}

describe('presence-b2b through a lossy network to Kamailio', () => {
  it('5 % loss both ways: 200 subscriptions active, every change queued', async (t) => {
    await runLevel(t, 0.05, 5, 9100);
  });

  it('20 % loss both ways: 200 subscriptions active, every change queued', async (t) => {
    await runLevel(t, 0.2, 20, 9200);
  });
});
