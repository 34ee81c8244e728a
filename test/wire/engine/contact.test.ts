/**
 * Our Contact names the transport the SUBSCRIBE actually travels on, as its
 * Via does (RFC 3261 §8.1.1.8, §18.1.1): the UA writes both for the transport
 * it chose, after RFC 3263 resolution and after the switch to TCP above 1300
 * octets, so that the server's NOTIFYs come back where we listen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topVia } from '../../../src/sip/codec/index.js';
import type { ReceivedRequest } from '../../support/scripted-peer.js';
import { type Harness, accept, expectSubscribe, header, startHarness, takeMessage } from './harness.js';

/** Via transport and port, and the Contact, of a SUBSCRIBE we sent. */
function ours(sub: ReceivedRequest): { via: string; contact: string | undefined } {
  const via = topVia(sub.message);
  return { via: `${via.transport} ${via.host}:${via.port}`, contact: header(sub, 'Contact') };
}

function tcpExpectation(h: Harness): { via: string; contact: string } {
  const port = h.portOf('tcp');
  return { via: `TCP 127.0.0.1:${port}`, contact: `<sip:b2b@127.0.0.1:${port};transport=tcp>` };
}

test('a record reached over TCP (;transport=tcp): Via and Contact name TCP and our TCP port, initial SUBSCRIBE and refresh', async () => {
  const h = await startHarness({}, 1, { transports: ['udp', 'tcp'], peerTransport: 'tcp' });
  try {
    const record = h.peer.uri('alice');
    assert.match(record, /;transport=tcp$/);
    h.subscribe(record);
    const sub = await expectSubscribe(h.peer);
    assert.deepEqual(ours(sub), tcpExpectation(h));
    await accept(h.peer, sub);
    // The NOTIFY comes back on the connection the SUBSCRIBE opened.
    await h.peer.sendNotify(sub.from, { ...h.peer.notifyOptionsFor(sub, 'srv1'), cseq: 1 });
    assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'active');
    h.clock.advance(570_000);
    const refresh = await expectSubscribe(h.peer);
    assert.equal(header(refresh, 'CSeq'), '2 SUBSCRIBE');
    assert.deepEqual(ours(refresh), tcpExpectation(h));
  } finally {
    await h.close();
  }
});

test('a SUBSCRIBE over 1300 octets to a UDP target moves to TCP, and its Contact moves with the Via', async () => {
  const h = await startHarness({ additionalPresenceHeaders: `X-Padding: ${'p'.repeat(1300)}` }, 1, { transports: ['udp', 'tcp'], peerTransport: 'tcp' });
  try {
    // No transport parameter: RFC 3263 gives UDP, not explicitly, so the size decides (RFC 3261 §18.1.1).
    h.subscribe(`sip:alice@127.0.0.1:${h.peer.address.port}`);
    const sub = await expectSubscribe(h.peer);
    assert.ok(sub.raw.length > 1300, `${sub.raw.length} octets`);
    assert.deepEqual(ours(sub), tcpExpectation(h));
  } finally {
    await h.close();
  }
});
