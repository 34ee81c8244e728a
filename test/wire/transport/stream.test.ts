import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createResponse, parseSipMessage, serializeSipMessage } from '../../../src/sip/codec/index.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import type { SipTransportError } from '../../../src/sip/transport/errors.js';
import type { TransportDiagnostic } from '../../../src/sip/transport/transport-options.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../../fixtures/tls/test-certificate.js';
import { closedTcpPort, rawTcpClient, requestText, respond, silentTcpServer, startLayer, type TestLayer, until } from './helpers.js';

function byCallId(layer: TestLayer, callId: string) {
  return layer.received.filter((r) => r.message.headers.get('call-id') === callId);
}

describe('TCP transport (RFC 3261 §18.3 framing, §18.2.2 connection reuse)', () => {
  let a: TestLayer;
  let b: TestLayer;
  const diagnostics: TransportDiagnostic[] = [];

  before(async () => {
    a = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }]);
    b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], {
      random: new SeededRandom(5),
      onDiagnostic: (event) => diagnostics.push(event),
    });
  });

  after(async () => {
    await Promise.all([a.layer.close(), b.layer.close()]);
  });

  test('two messages in one chunk are both delivered, with the connection id', async () => {
    const client = await rawTcpClient(b.port('tcp'));
    try {
      const one = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-c1', callId: 'chunk-1', body: 'hello' });
      const two = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-c2', callId: 'chunk-2' });
      await client.write(one + two);
      await until(() => byCallId(b, 'chunk-2').length === 1, 'both messages');
      const first = byCallId(b, 'chunk-1')[0]!;
      const second = byCallId(b, 'chunk-2')[0]!;
      assert.equal(Buffer.from(first.message.body).toString(), 'hello');
      assert.equal(first.source.transport, 'tcp');
      assert.equal(first.source.remotePort, client.socket.localPort);
      assert.equal(typeof first.source.connectionId, 'number');
      assert.equal(first.source.connectionId, second.source.connectionId);
      // sent-by host equals the source address and there is no rport: the Via is untouched.
      assert.equal(first.message.headers.get('via'), 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-c1');
    } finally {
      await client.close();
    }
  });

  test('one message split byte by byte is reassembled', async () => {
    const client = await rawTcpClient(b.port('tcp'));
    try {
      const text = requestText({ method: 'MESSAGE', via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-bytes;rport', callId: 'bytes', body: 'split body' });
      for (const byte of Buffer.from(text, 'latin1')) await client.write(Buffer.of(byte));
      await until(() => byCallId(b, 'bytes').length === 1, 'reassembled message');
      const got = byCallId(b, 'bytes')[0]!;
      assert.equal(Buffer.from(got.message.body).toString(), 'split body');
      assert.equal(got.message.headers.get('via'), `SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-bytes;rport=${client.socket.localPort};received=127.0.0.1`);
    } finally {
      await client.close();
    }
  });

  test('responses go back on the inbound connection', async () => {
    const client = await rawTcpClient(b.port('tcp'));
    try {
      const openedBefore = b.layer.stats.connectionsOpened;
      await client.write(requestText({ via: 'SIP/2.0/TCP 192.0.2.50:5060;branch=z9hG4bK-back', callId: 'back' }));
      await until(() => byCallId(b, 'back').length === 1, 'request');
      const got = byCallId(b, 'back')[0]!;
      // Via says 192.0.2.50: only the open connection can reach the client.
      respond(b.layer, createResponse(got.message as SipRequest, 200, 'OK', { toTag: 't' }), got.source);
      await until(() => client.messages.length === 1, 'response on the connection');
      const response = client.messages[0]!;
      assert.equal(response.kind === 'response' && response.status, 200);
      assert.equal(response.headers.get('call-id'), 'back');
      assert.equal(b.layer.stats.connectionsOpened, openedBefore);
    } finally {
      await client.close();
    }
  });

  test('a response whose connection closed opens a new one to received and the sent-by port', async () => {
    const client = await rawTcpClient(b.port('tcp'));
    await client.write(requestText({ via: `SIP/2.0/TCP a.invalid:${a.port('tcp')};branch=z9hG4bK-reopen`, callId: 'reopen' }));
    await until(() => byCallId(b, 'reopen').length === 1, 'request');
    const got = byCallId(b, 'reopen')[0]!;
    assert.equal(got.message.headers.get('via'), `SIP/2.0/TCP a.invalid:${a.port('tcp')};branch=z9hG4bK-reopen;received=127.0.0.1`);
    await client.close();
    await until(() => b.layer.connectionCount === 0, 'server side closed');
    const errors: Error[] = [];
    respond(b.layer, createResponse(got.message as SipRequest, 202, 'Accepted', { toTag: 'r' }), got.source, (e) => errors.push(e));
    await until(() => byCallId(a, 'reopen').length === 1 || errors.length > 0, 'response at a');
    assert.equal(errors.length, 0, String(errors[0]));
    const response = byCallId(a, 'reopen')[0]!.message;
    assert.equal(response.kind === 'response' && response.status, 202);
  });

  test('a second send to the same destination reuses the connection, and replies come back on it', async () => {
    const openedA = a.layer.stats.connectionsOpened;
    const openedB = b.layer.stats.connectionsOpened;
    const dest = { transport: 'tcp' as const, host: '127.0.0.1', port: b.port('tcp') };
    const r1 = parseSipMessage(requestText({ via: `SIP/2.0/TCP 127.0.0.1:${a.port('tcp')};branch=z9hG4bK-reuse1`, callId: 'reuse-1' }));
    const r2 = parseSipMessage(requestText({ via: `SIP/2.0/TCP 127.0.0.1:${a.port('tcp')};branch=z9hG4bK-reuse2`, callId: 'reuse-2' }));
    a.layer.send(serializeSipMessage(r1), dest);
    a.layer.send(serializeSipMessage(r2), dest); // queued behind the connect
    await until(() => byCallId(b, 'reuse-2').length === 1 && byCallId(b, 'reuse-1').length === 1, 'both requests');
    const [g1, g2] = [byCallId(b, 'reuse-1')[0]!, byCallId(b, 'reuse-2')[0]!];
    assert.equal(g1.source.connectionId, g2.source.connectionId);
    assert.equal(a.layer.stats.connectionsOpened, openedA + 1);
    assert.equal(b.layer.stats.connectionsOpened, openedB + 1);
    const r3 = parseSipMessage(requestText({ via: `SIP/2.0/TCP 127.0.0.1:${a.port('tcp')};branch=z9hG4bK-reuse3`, callId: 'reuse-3' }));
    a.layer.send(serializeSipMessage(r3), dest);
    await until(() => byCallId(b, 'reuse-3').length === 1, 'third request');
    assert.equal(byCallId(b, 'reuse-3')[0]!.source.connectionId, g1.source.connectionId);
    respond(b.layer, createResponse(g1.message as SipRequest, 200, 'OK', { toTag: 'q' }), g1.source);
    await until(() => byCallId(a, 'reuse-1').length === 1, 'response at a');
    assert.equal(a.layer.stats.connectionsOpened, openedA + 1);
    assert.equal(b.layer.stats.connectionsOpened, openedB + 1);
  });

  test('CRLFCRLF keep-alive is answered with CRLF (RFC 5626 §4.4.1)', async () => {
    const client = await rawTcpClient(b.port('tcp'));
    try {
      await client.write('\r\n\r\n');
      await until(() => Buffer.concat(client.raw).length >= 2, 'pong');
      assert.equal(Buffer.concat(client.raw).toString('latin1'), '\r\n');
    } finally {
      await client.close();
    }
  });

  test('a framed but invalid request gets a 400 on the same connection, which stays open', async () => {
    const client = await rawTcpClient(b.port('tcp'));
    try {
      await client.write(requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-inv', callId: null }));
      // The 400 has no Call-ID either (there was none to copy), so read it raw.
      await until(() => Buffer.concat(client.raw).includes('\r\n\r\n'), '400');
      const text = Buffer.concat(client.raw).toString('latin1');
      assert.equal(text.split('\r\n')[0], 'SIP/2.0 400 Bad Request - Missing Call-ID');
      assert.equal(text.split('\r\n')[1], 'Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-inv');
      await client.write(requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-ok', callId: 'after-invalid' }));
      await until(() => byCallId(b, 'after-invalid').length === 1, 'next request on the same connection');
      assert.equal(client.closed, false);
    } finally {
      await client.close();
    }
  });

  test('a malformed response on a stream is dropped and counted', async () => {
    const client = await rawTcpClient(b.port('tcp'));
    try {
      const before = b.layer.stats.malformedResponsesDropped;
      await client.write('SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-mr\r\nContent-Length: 0\r\n\r\n');
      await until(() => b.layer.stats.malformedResponsesDropped === before + 1, 'dropped');
    } finally {
      await client.close();
    }
  });

  test('garbage on a TCP connection closes that connection and nothing else', async () => {
    const random = new SeededRandom(17);
    for (let round = 0; round < 20; round++) {
      const client = await rawTcpClient(b.port('tcp'));
      const noise = Buffer.alloc(2000 + Math.floor(random.next() * 70_000));
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(random.next() * 256);
      // Half the rounds look like a request head without Content-Length; the others are noise
      // running past the 64 KiB header limit (shorter noise just waits for the idle timeout).
      const head = round % 2 === 0 ? Buffer.from('NOTIFY sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n', 'latin1') : Buffer.alloc(0);
      const tail = Buffer.alloc(round % 2 === 1 ? 70_000 : 0, 0x41);
      client.socket.write(Buffer.concat([head, noise, tail]));
      await until(() => client.closed, `connection ${round} closed by the layer`);
    }
    assert.ok(diagnostics.some((d) => d.kind === 'framing-error'));
    const client = await rawTcpClient(b.port('tcp'));
    try {
      await client.write(requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-alive', callId: 'alive-after-garbage' }));
      await until(() => byCallId(b, 'alive-after-garbage').length === 1, 'request after garbage');
    } finally {
      await client.close();
    }
  });

  test('connection refused is reported to onError', async () => {
    const port = await closedTcpPort();
    const errors: SipTransportError[] = [];
    const sendErrorsBefore = a.layer.stats.sendErrors;
    const request = parseSipMessage(requestText({ via: 'SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-refused' }));
    a.layer.send(serializeSipMessage(request), { transport: 'tcp', host: '127.0.0.1', port }, (e) => errors.push(e as SipTransportError));
    a.layer.send(serializeSipMessage(request), { transport: 'tcp', host: '127.0.0.1', port }, (e) => errors.push(e as SipTransportError));
    await until(() => errors.length === 2, 'two errors');
    assert.equal(errors[0]!.code, 'SIP_ERR_TRANSPORT_IO');
    assert.match(errors[0]!.message, /ECONNREFUSED/);
    assert.equal(a.layer.stats.sendErrors, sendErrorsBefore + 2);
  });
});

describe('TCP connection lifetime', () => {
  test('an idle connection is closed after idleTimeoutMs', async () => {
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { idleTimeoutMs: 120 });
    try {
      const client = await rawTcpClient(b.port('tcp'));
      await client.write(requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-idle', callId: 'idle' }));
      await until(() => client.closed, 'idle close', 1500);
      await until(() => b.layer.stats.connectionsClosed === 1, 'close counted');
      assert.equal(b.layer.connectionCount, 0);
    } finally {
      await b.layer.close();
    }
  });

  test('maxConnections refuses connections over the limit', async () => {
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { maxConnections: 1 });
    try {
      const first = await rawTcpClient(b.port('tcp'));
      await until(() => b.layer.connectionCount === 1, 'first accepted');
      const second = await rawTcpClient(b.port('tcp'));
      await until(() => second.closed, 'second refused');
      assert.equal(first.closed, false);
      const errors: SipTransportError[] = [];
      b.layer.send(serializeSipMessage(parseSipMessage(requestText({ via: 'SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-limit' }))), { transport: 'tcp', host: '127.0.0.1', port: 9 }, (e) =>
        errors.push(e as SipTransportError),
      );
      await until(() => errors.length === 1, 'limit error');
      assert.equal(errors[0]!.code, 'SIP_ERR_TRANSPORT_LIMIT');
      await first.close();
    } finally {
      await b.layer.close();
    }
  });

  test('close() closes listeners and connections and fails later sends', async () => {
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }]);
    const client = await rawTcpClient(b.port('tcp'));
    await until(() => b.layer.connectionCount === 1, 'accepted');
    await b.layer.close();
    await until(() => client.closed, 'client sees the close');
    const errors: SipTransportError[] = [];
    b.layer.send(serializeSipMessage(parseSipMessage(requestText({ via: 'SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-closed' }))), { transport: 'tcp', host: '127.0.0.1', port: 9 }, (e) =>
      errors.push(e as SipTransportError),
    );
    await until(() => errors.length === 1, 'closed error');
    assert.equal(errors[0]!.code, 'SIP_ERR_TRANSPORT_CLOSED');
  });
});

describe('TLS transport', () => {
  const tls = { key: TEST_TLS_KEY, cert: TEST_TLS_CERT };
  let a: TestLayer;
  let b: TestLayer;

  before(async () => {
    a = await startLayer([{ transport: 'tls', host: '127.0.0.1', port: 0, tls }], { tlsClient: { ca: TEST_TLS_CERT } });
    b = await startLayer([{ transport: 'tls', host: '127.0.0.1', port: 0, tls }], { tlsClient: { ca: TEST_TLS_CERT } });
  });

  after(async () => {
    await Promise.all([a.layer.close(), b.layer.close()]);
  });

  test('a request and its response round-trip over TLS on one connection', async () => {
    assert.deepEqual(a.layer.sentBy('tls'), { host: '127.0.0.1', port: a.port('tls') });
    const request = parseSipMessage(requestText({ method: 'SUBSCRIBE', via: `SIP/2.0/TLS 127.0.0.1:${a.port('tls')};branch=z9hG4bK-tls1`, callId: 'tls-1', extra: ['Event: presence'] }));
    const errors: Error[] = [];
    a.layer.send(serializeSipMessage(request), { transport: 'tls', host: '127.0.0.1', port: b.port('tls') }, (e) => errors.push(e));
    await until(() => byCallId(b, 'tls-1').length === 1 || errors.length > 0, 'request over TLS');
    assert.equal(errors.length, 0, String(errors[0]));
    const got = byCallId(b, 'tls-1')[0]!;
    assert.equal(got.source.transport, 'tls');
    respond(b.layer, createResponse(got.message as SipRequest, 200, 'OK', { toTag: 'tls' }), got.source, (e) => errors.push(e));
    await until(() => byCallId(a, 'tls-1').length === 1 || errors.length > 0, 'response over TLS');
    assert.equal(errors.length, 0, String(errors[0]));
    assert.equal(byCallId(a, 'tls-1')[0]!.source.transport, 'tls');
    assert.equal(a.layer.stats.connectionsOpened, 1);
    assert.equal(b.layer.stats.connectionsOpened, 1);
  });

  test('an untrusted server certificate fails the send', async () => {
    const c = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }]);
    try {
      const errors: SipTransportError[] = [];
      c.layer.send(serializeSipMessage(parseSipMessage(requestText({ via: 'SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK-untrusted' }))), { transport: 'tls', host: '127.0.0.1', port: b.port('tls') }, (e) =>
        errors.push(e as SipTransportError),
      );
      await until(() => errors.length === 1, 'TLS error');
      // Verification is on by default (no CA given: the system's, which do not know the test certificate).
      assert.equal(errors[0]!.code, 'SIP_ERR_TRANSPORT_TLS_VERIFY');
      assert.match(errors[0]!.message, /certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT/);
    } finally {
      await c.layer.close();
    }
  });

  test('a TLS handshake that never completes hits connectTimeoutMs', async () => {
    const silent = await silentTcpServer();
    const c = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }], { connectTimeoutMs: 120, tlsClient: { ca: TEST_TLS_CERT } });
    try {
      const errors: SipTransportError[] = [];
      c.layer.send(serializeSipMessage(parseSipMessage(requestText({ via: 'SIP/2.0/TLS 127.0.0.1;branch=z9hG4bK-slow' }))), { transport: 'tls', host: '127.0.0.1', port: silent.port }, (e) =>
        errors.push(e as SipTransportError),
      );
      await until(() => errors.length === 1, 'connect timeout', 1500);
      assert.equal(errors[0]!.code, 'SIP_ERR_TRANSPORT_CONNECT_TIMEOUT');
      await until(() => c.layer.connectionCount === 0, 'connection dropped from pool');
    } finally {
      await Promise.all([c.layer.close(), silent.close()]);
    }
  });
});
