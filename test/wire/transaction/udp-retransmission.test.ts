import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequest, parseSipMessage, topVia } from '../../../src/sip/codec/index.js';
import type { SipResponse } from '../../../src/sip/codec/message.js';
import { SipTransportLayer } from '../../../src/sip/transport/transport-layer.js';
import { SipUserAgentCore } from '../../../src/sip/ua/user-agent-core.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { FakeResolver } from '../../unit/transaction/helpers.js';
import { DatagramPeer } from './datagram-peer.js';

const T1 = 500;
const T4 = 5000;

async function setup() {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const random = new SeededRandom(11);
  const transport = new SipTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], random });
  await transport.start();
  const ua = new SipUserAgentCore({ transport, resolver: new FakeResolver({}), scheduler, random });
  const peer = await DatagramPeer.bind();
  const ourPort = transport.listening()[0]!.port;
  return { clock, scheduler, transport, ua, peer, ourPort };
}

function subscribe() {
  return createRequest({
    method: 'SUBSCRIBE',
    uri: 'sip:bob@127.0.0.1',
    headers: [
      ['From', '<sip:alice@example.org>;tag=a1'],
      ['To', '<sip:bob@example.com>'],
      ['Call-ID', 'wire-1@example.org'],
      ['CSeq', '1 SUBSCRIBE'],
      ['Event', 'presence'],
      ['Expires', '600'],
    ],
  });
}

/** The text of a 200 the peer sends back for a request it received (Via copied as is). */
function okFor(requestBytes: Buffer): string {
  const request = parseSipMessage(requestBytes);
  const h = (name: string) => request.headers.get(name) ?? '';
  return `SIP/2.0 200 OK\r\nVia: ${h('via')}\r\nFrom: ${h('from')}\r\nTo: ${h('to')};tag=peer\r\nCall-ID: ${h('call-id')}\r\nCSeq: ${h('cseq')}\r\nExpires: 600\r\nContent-Length: 0\r\n\r\n`;
}

test('UDP over 127.0.0.1: retransmissions at T1, 2·T1, 4·T1, then T2, identical bytes, one local 408 at 64·T1', async () => {
  const { clock, transport, ua, peer, ourPort } = await setup();
  try {
    const finals: Array<{ status: number; local: boolean; at: number }> = [];
    ua.sendRequest(subscribe(), { onFinal: (r, local) => finals.push({ status: r.status, local, at: clock.now() }) }, { endpoint: { transport: 'udp', host: '127.0.0.1', port: peer.port } });
    await peer.waitFor(1);
    const schedule = [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500];
    let expected = 1;
    for (const at of schedule) {
      clock.advance(at - clock.now() - 1);
      assert.equal(transport.stats.sent, expected, `nothing sent before ${at} ms`);
      clock.advance(1);
      expected++;
      assert.equal(transport.stats.sent, expected, `retransmission at ${at} ms`);
      await peer.waitFor(expected);
    }
    clock.advance(64 * T1 - clock.now());
    assert.deepEqual(finals, [{ status: 408, local: true, at: 64 * T1 }]);
    clock.advance(100 * T1);
    assert.equal(transport.stats.sent, 11);
    assert.equal(finals.length, 1);
    const first = peer.received[0]!;
    for (const datagram of peer.received) {
      assert.deepEqual(datagram.data, first.data, 'retransmission bytes equal the first send');
      assert.equal(datagram.port, ourPort, 'sent from our listening socket');
    }
    const via = topVia(parseSipMessage(first.data));
    assert.equal(via.transport, 'UDP');
    assert.equal(via.host, '127.0.0.1');
    assert.equal(via.port, ourPort);
    assert.equal(via.rport, true);
    assert.match(via.branch ?? '', /^z9hG4bK/);
  } finally {
    await ua.close();
    await peer.close();
  }
});

test('UDP over 127.0.0.1: a 200 stops the retransmissions; its retransmission is absorbed; Timer K ends the transaction', async () => {
  const { clock, transport, ua, peer } = await setup();
  try {
    let resolveFinal: (response: SipResponse) => void = () => {};
    const final = new Promise<SipResponse>((resolve) => {
      resolveFinal = resolve;
    });
    let finals = 0;
    ua.sendRequest(
      subscribe(),
      {
        onFinal: (response) => {
          finals++;
          resolveFinal(response);
        },
      },
      { endpoint: { transport: 'udp', host: '127.0.0.1', port: peer.port } },
    );
    await peer.waitFor(1);
    clock.advance(T1);
    await peer.waitFor(2);
    const ok = okFor(peer.received[0]!.data);
    await peer.send(ok, transport.listening()[0]!.port);
    const response = await final;
    assert.equal(response.status, 200);
    await peer.send(ok, transport.listening()[0]!.port);
    // Wait until the transport has handed the second copy up.
    for (let i = 0; i < 100 && ua.stats().retransmittedResponsesAbsorbed < 1; i++) await new Promise((r) => setImmediate(r));
    assert.equal(ua.stats().retransmittedResponsesAbsorbed, 1);
    assert.equal(finals, 1);
    clock.advance(64 * T1);
    assert.equal(transport.stats.sent, 2, 'no retransmission after the final');
    assert.equal(ua.stats().activeClientTransactions, 0);
    assert.ok(clock.now() >= T4);
  } finally {
    await ua.close();
    await peer.close();
  }
});

test('UDP over 127.0.0.1: a retransmitted NOTIFY reaches the handler once and gets the same 200 bytes back', async () => {
  const { ua, peer, ourPort } = await setup();
  try {
    let calls = 0;
    ua.onRequest('NOTIFY', (incoming) => {
      calls++;
      incoming.reply(200);
    });
    const notify =
      `NOTIFY sip:b2b@127.0.0.1:${ourPort} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bKwirenotify1;rport\r\n` +
      'Max-Forwards: 70\r\nFrom: <sip:bob@example.com>;tag=n1\r\nTo: <sip:alice@example.org>;tag=a1\r\n' +
      'Call-ID: wire-1@example.org\r\nCSeq: 3 NOTIFY\r\nEvent: presence\r\nSubscription-State: active;expires=600\r\nContent-Length: 0\r\n\r\n';
    await peer.send(notify, ourPort);
    await peer.waitFor(1);
    await peer.send(notify, ourPort);
    await peer.waitFor(2);
    assert.equal(calls, 1);
    assert.deepEqual(peer.received[1]!.data, peer.received[0]!.data);
    const response = parseSipMessage(peer.received[0]!.data);
    assert.equal(response.kind, 'response');
    // RFC 3581: the transport stamped rport with our view of the peer's port.
    assert.equal(topVia(response).rport, peer.port);
  } finally {
    await ua.close();
    await peer.close();
  }
});
