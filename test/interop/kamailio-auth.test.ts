/**
 * Digest authentication of SUBSCRIBE (RFC 3261 §22, RFC 2617 qop=auth) against
 * Kamailio's auth profile (users bob/secret and alice/alicepw, realm example.com,
 * min_expires 60 → 423).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPresenceB2B, type PresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import { kamailioAuthAddress } from '../support/peers.js';
import { statusUntil } from '../support/status-helpers.js';

describe('presence-b2b against Kamailio with digest authentication', () => {
  let b2b: PresenceB2B;

  before(async () => {
    const k = kamailioAuthAddress();
    b2b = await createPresenceB2B({
      listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
      presenceOutboundProxy: `sip:${k.host}:${k.port}`,
      // Below the server's min_expires (60): the first answer after the challenge is a 423.
      defaultExpiration: 30,
      credentials: (subscriber, realm) =>
        subscriber === 'sip:bob@example.com' && realm === 'example.com' ? { username: 'bob', password: 'secret' } : undefined,
    });
  });

  after(async () => {
    await b2b?.close(2000);
  });

  it('answers the 401 with the subscriber’s credentials and the 423 with Min-Expires, then gets active', async () => {
    const queue = b2b.qsa.createQueue();
    const handle = b2b.qsa.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', queue });
    await statusUntil(queue, (m) => m.state === 'active', 5000, 'active after authentication');
    assert.ok(b2b.engine.stats.responses['4xx'] >= 2, 'a 401 and a 423 were answered');
    assert.ok((b2b.engine.dialogOf(handle.id)?.expiresIn ?? 0) >= 55, 'granted at least Min-Expires');
    b2b.qsa.unsubscribe(handle);
  });

  it('a subscriber without credentials is told it was rejected (unauthorized)', async () => {
    const queue = b2b.qsa.createQueue();
    const handle = b2b.qsa.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:eve@example.com', queue });
    const m = await statusUntil(queue, (s) => s.state === 'rejected', 5000, 'rejected');
    assert.equal(m.match.reason, 'unauthorized');
    assert.equal(m.match.error?.code, 'B2B_ERR_AUTH_FAILED');
    b2b.qsa.unsubscribe(handle);
  });
});
