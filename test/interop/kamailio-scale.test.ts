/**
 * 1,000 internal subscriptions against Kamailio all reach `active`, and 1,000
 * PUBLISH changes each arrive exactly once in the right queue.
 */
import { presenceOf } from '../../src/presence/index.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPresenceB2B, type PresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import type { StatusMessage, StatusQueue } from '../../src/qsa/index.js';
import { buildPidf } from '../../src/presence/index.js';
import { createRequest } from '../../src/sip/codec/index.js';
import { kamailioAddress } from '../support/peers.js';

const N = 1000;
const QUEUES = 10;

describe('presence-b2b at 1,000 subscriptions against Kamailio', () => {
  let b2b: PresenceB2B;
  let proxy: string;

  before(async () => {
    const k = kamailioAddress();
    proxy = `sip:${k.host}:${k.port}`;
    b2b = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      presenceOutboundProxy: proxy,
    });
  });

  after(async () => {
    await b2b?.close(5000);
  });

  function publish(user: string, note: string): Promise<number> {
    const body = buildPidf({ entity: `sip:${user}@example.com`, tuples: [{ id: `t-${user}`, basic: 'open', note }] });
    const request = createRequest({
      method: 'PUBLISH',
      uri: `sip:${user}@example.com`,
      headers: [
        ['From', `<sip:${user}@example.com>;tag=p${user}`],
        ['To', `<sip:${user}@example.com>`],
        ['Call-ID', `pub-${user}-${note}`],
        ['CSeq', '1 PUBLISH'],
        ['Event', 'presence'],
        ['Expires', '300'],
        ['Content-Type', 'application/pidf+xml'],
      ],
      body,
    });
    return new Promise((resolve) => {
      b2b.ua.sendRequest(request, { onFinal: (response) => resolve(response.status) }, { outboundProxy: proxy });
    });
  }

  async function drainUntil(queues: StatusQueue[], done: () => boolean, timeoutMs: number, onMessage: (q: number, m: StatusMessage) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline) {
      let any = false;
      queues.forEach((q, i) => {
        for (let m = q.poll(); m !== undefined; m = q.poll()) {
          any = true;
          onMessage(i, m);
        }
      });
      if (!any) await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('all subscriptions reach active and every change arrives exactly once in its own queue', async () => {
    const queues = Array.from({ length: QUEUES }, () => b2b.qsa.createQueue({ capacity: 100_000 }));
    const queueOf = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const record = `sip:user${i}@example.com`;
      queueOf.set(record, i % QUEUES);
      b2b.qsa.subscribe({ record, subscriber: `sip:watcher${i}@example.com`, queue: queues[i % QUEUES]! });
    }
    const active = new Set<string>();
    await drainUntil(queues, () => active.size === N, 20000, (q, m) => {
      assert.equal(queueOf.get(m.record), q, `status for ${m.record} reached queue ${q}`);
      if (m.state === 'active') active.add(m.record);
    });
    assert.equal(active.size, N, `${active.size} of ${N} subscriptions active`);

    const statuses = await Promise.all(Array.from({ length: N }, (_, i) => publish(`user${i}`, `change-${i}`)));
    assert.equal(statuses.filter((s) => s === 200).length, N, 'every PUBLISH accepted');

    const seen = new Map<string, number>();
    await drainUntil(queues, () => seen.size === N, 40000, (q, m) => {
      assert.equal(queueOf.get(m.record), q, `status for ${m.record} reached queue ${q}`);
      for (const t of presenceOf(m)?.tuples ?? []) {
        for (const n of t.notes) {
          if (n.text.startsWith('change-')) {
            assert.equal(n.text, `change-${m.record.slice(8, m.record.indexOf('@'))}`, 'the change of this record');
            seen.set(n.text, (seen.get(n.text) ?? 0) + 1);
          }
        }
      }
    });
    // Let anything late arrive, then check there was no duplicate.
    await drainUntil(queues, () => false, 300, (_q, m) => {
      for (const t of presenceOf(m)?.tuples ?? []) for (const n of t.notes) if (n.text.startsWith('change-')) seen.set(n.text, (seen.get(n.text) ?? 0) + 1);
    });
    if (seen.size !== N) {
      const missing = Array.from({ length: N }, (_, i) => `change-${i}`).filter((c) => !seen.has(c));
      const dialogs = b2b.engine.list().filter((d) => missing.some((c) => d.record === `sip:user${c.slice(7)}@example.com`));
      console.log('missing changes', missing.slice(0, 20), 'their dialogs', JSON.stringify(dialogs.map((d) => ({ record: d.record, state: d.state, last: d.lastStatus?.state, expiresIn: d.expiresIn }))).slice(0, 2000));
      console.log('engine', JSON.stringify(b2b.engine.stats), 'transport', JSON.stringify(b2b.transport.stats), 'ua', JSON.stringify(b2b.ua.stats()));
    }
    assert.equal(seen.size, N, `${seen.size} of ${N} changes arrived`);
    const duplicated = [...seen.entries()].filter(([, c]) => c !== 1);
    assert.deepEqual(duplicated, [], 'no change arrived twice');
  });
});
