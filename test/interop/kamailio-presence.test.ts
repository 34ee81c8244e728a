/**
 * The B2BUA against a real presence server: Kamailio 5.6 (peers/kamailio/kamailio-presence.cfg,
 * started by scripts/with-peers.sh). Publications are made with SIPp (peers/sipp/publish-once.xml).
 */
import { presenceOf } from '../../src/presence/index.js';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPresenceB2B, type PresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import { kamailioAddress, kamailioLogPath, restartKamailio, sippPublish } from '../support/peers.js';
import { basicOf, nextStatus, statusUntil } from '../support/status-helpers.js';
import { readFile } from 'node:fs/promises';

describe('presence-b2b against Kamailio', () => {
  let b2b: PresenceB2B;
  let proxy: string;

  before(async () => {
    const k = kamailioAddress();
    proxy = `sip:${k.host}:${k.port}`;
    b2b = await createPresenceB2B({
      listen: [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      presenceOutboundProxy: proxy,
      defaultExpiration: 600,
    });
  });

  after(async () => {
    await b2b?.close(2000);
  });

  it('PUBLISH open → active with open; PUBLISH closed → closed; unsubscribe → terminated NOTIFY answered, nothing after', async () => {
    await sippPublish({ user: 'alice', basic: 'open', note: 'Online', expires: 120 });
    const queue = b2b.qsa.createQueue();
    const handle = b2b.qsa.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', queue });
    const open = await statusUntil(queue, (m) => m.state === 'active' && basicOf(m) === 'open', 5000, 'active+open');
    assert.equal(open.match.record, 'sip:alice@example.com');
    assert.equal(presenceOf(open.match)?.entity, 'sip:alice@example.com');

    await sippPublish({ user: 'alice', basic: 'closed', note: 'Away', expires: 120 });
    await statusUntil(queue, (m) => m.state === 'active' && presenceOf(m)?.tuples.some((t) => t.basic === 'closed') === true, 5000, 'active+closed');

    const dialog = b2b.engine.dialogOf(handle.id);
    assert.ok(dialog?.callId, 'the dialog is visible while active');
    b2b.qsa.unsubscribe(handle);
    // The terminated NOTIFY is answered (Kamailio logs every answer it gets to a NOTIFY) and the record goes away.
    const deadline = Date.now() + 5000;
    while (b2b.engine.list().some((d) => d.callId === dialog.callId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(b2b.engine.list().some((d) => d.callId === dialog.callId), false, 'dialog destroyed after the terminated NOTIFY');
    const log = await readFile(kamailioLogPath(), 'utf8');
    assert.match(log, /NOTIFY reply[^\n]*200[^\n]*/, 'Kamailio saw 200 answers to its NOTIFYs');
    assert.equal(queue.poll(), undefined, 'nothing reaches the queue after unsubscribe');
  });

  it('a record unknown to Kamailio is reported as terminated/noresource, final (no retry)', async () => {
    const queue = b2b.qsa.createQueue();
    const handle = b2b.qsa.subscribe({ record: 'sip:nosuchuser@example.com', subscriber: 'sip:bob@example.com', queue });
    const m = await nextStatus(queue, 5000, 'the 404 report');
    assert.equal(m.state, 'terminated');
    assert.equal(m.reason, 'noresource');
    assert.equal(m.error?.code, 'B2B_ERR_SUBSCRIBE_FAILED');
    assert.equal(m.retryAfter, undefined);
    assert.equal(b2b.engine.dialogOf(handle.id)?.state, 'final');
    b2b.qsa.unsubscribe(handle);
  });

  it('a foreign domain is reported as rejected', async () => {
    const queue = b2b.qsa.createQueue();
    const handle = b2b.qsa.subscribe({ record: 'sip:alice@other.example.org', subscriber: 'sip:bob@example.com', queue });
    const m = await nextStatus(queue, 5000, 'the 403 report');
    assert.equal(m.state, 'rejected');
    b2b.qsa.unsubscribe(handle);
  });

  it('recovers after Kamailio restarts under a live subscription', async () => {
    const local = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      presenceOutboundProxy: proxy,
      // Short dialogs so that the refresh after the restart comes within the test's bound.
      defaultExpiration: 6,
      resubscribeDelta: 3,
      minResubscribeTime: 1,
      refreshJitter: 0,
    });
    try {
      await sippPublish({ user: 'dave', basic: 'open', note: 'before restart', expires: 300 });
      const queue = local.qsa.createQueue();
      local.qsa.subscribe({ record: 'sip:dave@example.com', subscriber: 'sip:bob@example.com', queue });
      await statusUntil(queue, (m) => m.state === 'active' && basicOf(m) === 'open', 5000, 'active+open before the restart');
      const before = local.engine.list()[0]!.callId;
      await restartKamailio();
      // Kamailio forgot both the publication and the subscription: publish again, then the refresh
      // gets 481 (or an error) and the engine makes a new subscription that sees the new state.
      await sippPublish({ user: 'dave', basic: 'open', note: 'after restart', expires: 300 });
      const m = await statusUntil(
        queue,
        (s) => s.state === 'active' && presenceOf(s)?.tuples.some((t) => t.notes.some((n) => n.text === 'after restart')) === true,
        15000,
        'the state published after the restart',
      );
      assert.equal(basicOf(m.match), 'open');
      assert.notEqual(local.engine.list()[0]!.callId, before, 'a new dialog was made');
    } finally {
      await local.close(2000);
    }
  });
});
