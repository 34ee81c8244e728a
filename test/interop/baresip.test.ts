/**
 * The B2BUA against baresip 1.0, a UA that answers SUBSCRIBE itself and never
 * PUBLISHes (the seed's Windows Messenger case): its `<basic>?</basic>` before a
 * status is set, and its 423 (Min-Expires 600) on short refreshes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPresenceB2B, type PresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import { baresipAddress, baresipCommand } from '../support/peers.js';
import { basicOf, statusUntil } from '../support/status-helpers.js';

describe('presence-b2b against baresip', () => {
  let b2b: PresenceB2B;
  let record: string;

  before(async () => {
    const b = baresipAddress();
    record = `sip:carol@${b.host}:${b.port}`;
    b2b = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      // Short enough that the first refresh comes within the test: baresip answers it 423.
      defaultExpiration: 4,
      resubscribeDelta: 2,
      minResubscribeTime: 1,
      refreshJitter: 0,
    });
  });

  after(async () => {
    await b2b?.close(2000);
  });

  it('reads baresip’s PIDF, including <basic>?</basic>, then open and closed, and survives its 423 on refresh', async () => {
    await baresipCommand('presence_offline').catch(() => undefined);
    const queue = b2b.qsa.createQueue();
    const handle = b2b.qsa.subscribe({ record, subscriber: 'sip:bob@example.com', queue });
    const first = await statusUntil(queue, (m) => m.state === 'active', 5000, 'the first NOTIFY');
    // Whatever baresip says first, the body is kept raw and the message says whether it was valid.
    assert.ok(first.match.body && first.match.body.length > 0, 'the raw body is kept');
    if (first.match.error) assert.equal(first.match.error.code, 'PIDF_ERR_INVALID');

    await baresipCommand('presence_online');
    await statusUntil(queue, (m) => m.state === 'active' && basicOf(m) === 'open', 5000, 'open from baresip');

    // Let the refresh happen: baresip answers Expires below 600 with 423 Min-Expires: 600;
    // the engine re-SUBSCRIBEs at once in the same dialog with Expires: 600.
    const dialogBefore = b2b.engine.dialogOf(handle.id);
    const deadline = Date.now() + 8000;
    while (b2b.engine.stats.responses['4xx'] === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(b2b.engine.stats.responses['4xx'] >= 1, 'baresip answered a refresh with 423');
    while ((b2b.engine.dialogOf(handle.id)?.expiresIn ?? 0) < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const dialogAfter = b2b.engine.dialogOf(handle.id);
    assert.equal(dialogAfter?.state, 'active');
    assert.equal(dialogAfter?.callId, dialogBefore?.callId, 'the same dialog, refreshed with Min-Expires');
    assert.ok((dialogAfter?.expiresIn ?? 0) > 500, `granted ${dialogAfter?.expiresIn}s after the 423`);

    await baresipCommand('presence_offline');
    await statusUntil(queue, (m) => m.state === 'active' && basicOf(m) === 'closed', 5000, 'closed from baresip');
    b2b.qsa.unsubscribe(handle);
  });
});
