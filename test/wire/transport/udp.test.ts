import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createResponse, parseSipMessage, serializeSipMessage } from '../../../src/sip/codec/index.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import type { SipTransportError } from '../../../src/sip/transport/errors.js';
import { SeededRandom } from '../../../src/util/random.js';
import { type RawUdpPeer, rawUdpPeer, requestText, respond, startLayer, type TestLayer, until } from './helpers.js';

const SEED = 1234;

describe('UDP transport (RFC 3261 §18, RFC 3581)', () => {
  let a: TestLayer;
  let b: TestLayer;
  let peer: RawUdpPeer;

  before(async () => {
    a = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }]);
    b = await startLayer(
      [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      { random: new SeededRandom(SEED) },
    );
    peer = await rawUdpPeer();
  });

  after(async () => {
    await Promise.all([a.layer.close(), b.layer.close(), peer.close()]);
  });

  test('a request and its response travel between two layers', async () => {
    const sentBy = a.layer.sentBy('udp');
    assert.deepEqual(sentBy, { host: '127.0.0.1', port: a.port('udp') });
    const request = parseSipMessage(requestText({ via: `SIP/2.0/UDP 127.0.0.1:${sentBy.port};branch=z9hG4bK-r1;rport`, callId: 'udp-rr' })) as SipRequest;
    const errors: Error[] = [];
    a.layer.send(serializeSipMessage(request), { transport: 'udp', host: '127.0.0.1', port: b.port('udp') }, (e) => errors.push(e));
    await until(() => b.received.some((r) => r.message.headers.get('call-id') === 'udp-rr'), 'request at b');
    const got = b.received.find((r) => r.message.headers.get('call-id') === 'udp-rr')!;
    assert.equal(got.message.kind, 'request');
    assert.deepEqual(got.source, {
      transport: 'udp',
      remoteAddress: '127.0.0.1',
      remotePort: a.port('udp'),
      localAddress: '127.0.0.1',
      localPort: b.port('udp'),
    });
    // RFC 3581: rport filled with the source port, received added with it.
    assert.equal(got.message.headers.get('via'), `SIP/2.0/UDP 127.0.0.1:${a.port('udp')};branch=z9hG4bK-r1;rport=${a.port('udp')};received=127.0.0.1`);

    const response = createResponse(got.message as SipRequest, 200, 'OK', { toTag: 'b1' });
    // Responses follow the top Via and the source (RFC 3261 §18.2.2, RFC 3581 §4).
    respond(b.layer, response, got.source, (e) => errors.push(e));
    await until(() => a.received.some((r) => r.message.headers.get('call-id') === 'udp-rr'), 'response at a');
    const back = a.received.find((r) => r.message.headers.get('call-id') === 'udp-rr')!;
    assert.equal(back.message.kind, 'response');
    assert.equal(back.message.kind === 'response' && back.message.status, 200);
    assert.equal(back.message.headers.get('to'), '<sip:bob@example.com>;tag=b1');
    assert.equal(errors.length, 0, String(errors[0]));
  });

  test('the exact serialized bytes reach the peer', async () => {
    const request = parseSipMessage(requestText({ via: 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-exact', callId: 'udp-exact' })) as SipRequest;
    const before = peer.datagrams.length;
    a.layer.send(serializeSipMessage(request), { transport: 'udp', host: '127.0.0.1', port: peer.port });
    await until(() => peer.datagrams.length > before, 'datagram at peer');
    assert.deepEqual(peer.datagrams[before], serializeSipMessage(request));
  });

  test('received is added when sent-by differs from the source; the response goes to received:sent-by port', async () => {
    const text = requestText({ via: `SIP/2.0/UDP client.invalid:${peer.port};branch=z9hG4bK-recv`, callId: 'udp-received' });
    await peer.send(text, b.port('udp'));
    await until(() => b.received.some((r) => r.message.headers.get('call-id') === 'udp-received'), 'request at b');
    const got = b.received.find((r) => r.message.headers.get('call-id') === 'udp-received')!;
    assert.equal(got.message.headers.get('via'), `SIP/2.0/UDP client.invalid:${peer.port};branch=z9hG4bK-recv;received=127.0.0.1`);
    const before = peer.datagrams.length;
    respond(b.layer, createResponse(got.message as SipRequest, 200, 'OK', { toTag: 'x' }), got.source);
    await until(() => peer.datagrams.length > before, 'response at peer');
    assert.match(peer.datagrams[before]!.toString('latin1'), /^SIP\/2\.0 200 OK\r\n/);
  });

  test('a Via whose sent-by matches the source and has no rport is left alone', async () => {
    const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-same`;
    await peer.send(requestText({ via: `${via}, SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-second`, callId: 'udp-same' }), b.port('udp'));
    await until(() => b.received.some((r) => r.message.headers.get('call-id') === 'udp-same'), 'request at b');
    const got = b.received.find((r) => r.message.headers.get('call-id') === 'udp-same')!;
    assert.equal(got.message.headers.get('via'), `${via}, SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-second`);
  });

  test('a malformed request gets an exact stateless 400 naming the problem', async () => {
    const via = `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-bad1`;
    const before = peer.datagrams.length;
    const answeredBefore = b.layer.stats.badRequestsAnswered;
    await peer.send(requestText({ via, callId: 'bad-1@example.com', cseq: '1 NOTIFY' }), b.port('udp'));
    await until(() => peer.datagrams.length > before, '400 at peer');
    const tag = new SeededRandom(SEED).token(10);
    assert.equal(
      peer.datagrams[before]!.toString('latin1'),
      'SIP/2.0 400 Bad Request - Bad CSeq: method does not match the Request-Line\r\n' +
        `Via: ${via}\r\n` +
        'From: <sip:alice@example.com>;tag=a1\r\n' +
        `To: <sip:bob@example.com>;tag=${tag}\r\n` +
        'Call-ID: bad-1@example.com\r\n' +
        'CSeq: 1 NOTIFY\r\n' +
        'Content-Length: 0\r\n' +
        '\r\n',
    );
    assert.equal(b.layer.stats.badRequestsAnswered, answeredBefore + 1);
  });

  test('a request missing its Call-ID is answered 400 - Missing Call-ID, with rport/received stamped', async () => {
    const before = peer.datagrams.length;
    await peer.send(requestText({ via: 'SIP/2.0/UDP 192.0.2.1:5099;rport;branch=z9hG4bK-bad2', callId: null }), b.port('udp'));
    await until(() => peer.datagrams.length > before, '400 at peer');
    const text = peer.datagrams[before]!.toString('latin1');
    const lines = text.split('\r\n');
    assert.equal(lines[0], 'SIP/2.0 400 Bad Request - Missing Call-ID');
    assert.equal(lines[1], `Via: SIP/2.0/UDP 192.0.2.1:5099;rport=${peer.port};branch=z9hG4bK-bad2;received=127.0.0.1`);
    assert.equal(text.match(/Content-Length: 0\r\n/g)?.length, 1);
    assert.ok(text.endsWith('\r\n\r\n'));
  });

  test('a malformed response is dropped and counted', async () => {
    const droppedBefore = b.layer.stats.malformedResponsesDropped;
    const receivedBefore = b.received.length;
    const sentBefore = b.layer.stats.sent;
    await peer.send(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-x\r\nCSeq: 1 OPTIONS\r\n\r\n`, b.port('udp'));
    await until(() => b.layer.stats.malformedResponsesDropped > droppedBefore, 'drop counted');
    assert.equal(b.received.length, receivedBefore);
    assert.equal(b.layer.stats.sent, sentBefore);
  });

  test('a UDP request over 1300 octets switches to TCP unless the transport was explicit (RFC 3261 §18.1.1)', async () => {
    const dest = { transport: 'udp' as const, host: '127.0.0.1', port: 5060 };
    assert.equal(b.layer.chooseTransport(dest, 1301, false), 'tcp');
    assert.equal(b.layer.chooseTransport(dest, 1300, false), 'udp');
    assert.equal(b.layer.chooseTransport(dest, 5000, true), 'udp');
    // `a` does not listen on TCP: stays on UDP.
    assert.equal(a.layer.chooseTransport(dest, 5000, false), 'udp');
    // The big request really goes over TCP.
    const body = 'x'.repeat(1400);
    const request = parseSipMessage(requestText({ method: 'MESSAGE', via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-big', callId: 'big', body })) as SipRequest;
    const size = serializeSipMessage(request).length;
    const transport = b.layer.chooseTransport({ transport: 'udp', host: '127.0.0.1', port: b.port('tcp') }, size, false);
    b.layer.send(serializeSipMessage(request), { transport, host: '127.0.0.1', port: b.port('tcp') });
    await until(() => b.received.some((r) => r.message.headers.get('call-id') === 'big'), 'big request over TCP');
    const got = b.received.find((r) => r.message.headers.get('call-id') === 'big')!;
    assert.equal(got.source.transport, 'tcp');
    assert.equal(Buffer.from(got.message.body).toString(), body);
  });

  test('keep-alive datagrams are ignored, a datagram too large fails via onError', async () => {
    const before = b.layer.stats.keepAlivesReceived;
    await peer.send('\r\n\r\n', b.port('udp'));
    await until(() => b.layer.stats.keepAlivesReceived > before, 'keep-alive counted');
    const errors: SipTransportError[] = [];
    const huge = parseSipMessage(requestText({ method: 'MESSAGE', via: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-huge', body: 'y'.repeat(70_000) }), {
      limits: { maxMessageBytes: 100_000 },
    });
    a.layer.send(serializeSipMessage(huge), { transport: 'udp', host: '127.0.0.1', port: peer.port }, (e) => errors.push(e as SipTransportError));
    await until(() => errors.length > 0, 'size error');
    assert.equal(errors[0]!.code, 'SIP_ERR_TRANSPORT_LIMIT');
  });

  test('sending to a closed UDP port does not crash', async () => {
    const closed = await rawUdpPeer();
    const port = closed.port;
    await closed.close();
    const request = parseSipMessage(requestText({ via: 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-refused' }));
    for (let i = 0; i < 5; i++) a.layer.send(serializeSipMessage(request), { transport: 'udp', host: '127.0.0.1', port });
    // Still working afterwards.
    const before = peer.datagrams.length;
    a.layer.send(serializeSipMessage(request), { transport: 'udp', host: '127.0.0.1', port: peer.port });
    await until(() => peer.datagrams.length > before, 'datagram at peer');
  });

  test('a burst of 2000 garbage datagrams never crashes and is counted', async () => {
    const random = new SeededRandom(99);
    const statsBefore = { ...b.layer.stats };
    const handled = () => b.layer.stats.received + b.layer.stats.keepAlivesReceived - statsBefore.received - statsBefore.keepAlivesReceived;
    const prefixes = [
      '',
      'OPTIONS sip:x SIP/2.0\r\n',
      'SIP/2.0 200 OK\r\n',
      `NOTIFY sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-g\r\nCall-ID: g\r\n`,
      'INVITE  SIP/2.0\r\n\r\n',
    ];
    let sent = 0;
    for (let batch = 0; batch < 40; batch++) {
      for (let i = 0; i < 50; i++) {
        const length = Math.floor(random.next() * 600);
        const noise = Buffer.alloc(length);
        for (let j = 0; j < length; j++) noise[j] = Math.floor(random.next() * 256);
        const prefix = prefixes[Math.floor(random.next() * prefixes.length)]!;
        await peer.send(Buffer.concat([Buffer.from(prefix, 'latin1'), noise]), b.port('udp'));
        sent++;
      }
      // Let the receiver keep up, so that the kernel buffer does not drop datagrams.
      await until(() => handled() >= sent, `garbage handled (${handled()}/${sent})`);
    }
    assert.equal(sent, 2000);
    assert.ok(b.layer.stats.parseErrors - statsBefore.parseErrors > 1500);
    // The layer still works.
    await peer.send(requestText({ via: `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-after`, callId: 'after-garbage' }), b.port('udp'));
    await until(() => b.received.some((r) => r.message.headers.get('call-id') === 'after-garbage'), 'request after garbage');
  });

  test('a handler that throws is contained and counted', async () => {
    const layer = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }]);
    try {
      layer.layer.onMessage(() => {
        throw new Error('boom');
      });
      await peer.send(requestText({ via: `SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-throw` }), layer.port('udp'));
      await until(() => layer.layer.stats.handlerErrors === 1, 'handler error counted');
    } finally {
      await layer.layer.close();
    }
  });
});
