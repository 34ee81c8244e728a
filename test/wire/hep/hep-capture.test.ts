/**
 * HEPv3 capture of the transport layer: a B2BUA with a HepExporter as its
 * message observer subscribes through the scripted presence server; a
 * loopback UDP socket plays the Homer collector, decodes every packet with
 * the test's own decoder, and must find the subscription's SUBSCRIBE, its
 * 200, the NOTIFY and our 200 — octet for octet what crossed the wire, with
 * the real addresses, the transport, the time and the Call-ID.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HepExporter } from '../../../src/hep/index.js';
import type { ObservedSipMessage } from '../../../src/sip/transport/message-observer.js';
import { ManualClock } from '../../../src/util/clock.js';
import { type DecodedHep, HepCollector } from '../../support/hep-decoder.js';
import { accept, callIdOf, expectSubscribe, startHarness, takeMessage } from '../engine/harness.js';

/** 2026-01-01T12:00:00.250Z: the exporter's wall clock, so that the timestamp chunks are exact. */
const WALL = Date.UTC(2026, 0, 1, 12, 0, 0, 250);

function startLine(p: DecodedHep): string {
  return p.payload.slice(0, p.payload.indexOf('\r\n'));
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`${transport}: the SUBSCRIBE/NOTIFY exchange of one subscription reaches the collector as HEPv3, with addresses, ports, transport, time, capture id, password and Call-ID`, async () => {
    const collector = await HepCollector.start();
    const hep = await HepExporter.start({ address: '127.0.0.1', port: collector.port, captureId: 2001, password: 'myHep', clock: new ManualClock(0, WALL) });
    const h = await startHarness({ observer: hep }, 1, transport === 'tcp' ? { transports: ['udp', 'tcp'], peerTransport: 'tcp' } : {});
    try {
      const record = transport === 'tcp' ? h.peer.uri('alice') : h.record();
      h.subscribe(record);
      const subscribe = await expectSubscribe(h.peer);
      const ok = await accept(h.peer, subscribe);
      const notify = await h.peer.sendNotify(subscribe.from, { ...h.peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 1 });
      const notifyOk = await h.peer.expectResponse({ method: 'NOTIFY' });
      assert.equal((await takeMessage(h.queue)).state, 'active');

      const callId = callIdOf(subscribe);
      await collector.waitFor('four packets of the dialog', (packets) => packets.filter((p) => p.correlationId === callId).length >= 4);
      const exchange = collector.packets.filter((p) => p.correlationId === callId);
      assert.deepEqual(exchange.map(startLine), [`SUBSCRIBE ${record} SIP/2.0`, 'SIP/2.0 200 OK', `NOTIFY ${subscribe.message.headers.get('Contact')?.replace(/^<|>$/g, '')} SIP/2.0`, 'SIP/2.0 200 OK']);

      // Exactly the octets on the wire, each way.
      assert.deepEqual(
        exchange.map((p) => p.payload),
        [subscribe.raw, ok, notify, notifyOk.raw].map((b) => b.toString('utf8')),
      );
      const ours = h.portOf(transport);
      const theirs = h.peer.address.port;
      // Ours as bound; over TCP we connect from an ephemeral port, which is what the wire shows.
      const ourPort = transport === 'tcp' ? subscribe.from.port : ours;
      assert.deepEqual(
        exchange.map((p) => [p.sourceAddress, p.sourcePort, p.destinationAddress, p.destinationPort]),
        [
          ['127.0.0.1', ourPort, '127.0.0.1', theirs],
          ['127.0.0.1', theirs, '127.0.0.1', ourPort],
          ['127.0.0.1', theirs, '127.0.0.1', ourPort],
          ['127.0.0.1', ourPort, '127.0.0.1', theirs],
        ],
      );
      for (const p of exchange) {
        assert.equal(p.family, 'IPv4');
        assert.equal(p.ipProtocol, transport === 'udp' ? 17 : 6);
        assert.equal(p.protocolType, 1, 'SIP');
        assert.equal(p.captureId, 2001);
        assert.equal(p.authKey, 'myHep');
        assert.equal(p.seconds, Math.floor(WALL / 1000));
        assert.equal(p.microseconds, 250_000);
      }
      assert.equal(hep.stats.sent, collector.packets.length);
      assert.equal(hep.stats.dropped, 0);
    } finally {
      await h.close();
      await hep.close();
      await collector.close();
    }
  });
}

test('an observer that throws costs a counter, never a message', async () => {
  const seen: ObservedSipMessage['direction'][] = [];
  const h = await startHarness({
    observer: {
      observe(message) {
        seen.push(message.direction);
        throw new Error('broken observer');
      },
    },
  });
  try {
    h.subscribe();
    const subscribe = await expectSubscribe(h.peer);
    await accept(h.peer, subscribe);
    await h.peer.sendNotify(subscribe.from, { ...h.peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 1 });
    assert.equal((await h.peer.expectResponse({ method: 'NOTIFY' })).message.status, 200);
    assert.equal((await takeMessage(h.queue)).state, 'active');
    assert.deepEqual(seen, ['sent', 'received', 'received', 'sent']);
    assert.equal(h.b2b.transport.stats.handlerErrors, 4);
  } finally {
    await h.close();
  }
});
