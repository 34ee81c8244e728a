/**
 * Outgoing TLS verifies the server by default (docs/hostile-input.md, "TLS"):
 * a presence server whose certificate we cannot verify gets nothing from us,
 * and the subscriber hears `terminated` with B2B_ERR_TLS_CERTIFICATE; with
 * its CA trusted (tlsClient.ca), the same server gets the SUBSCRIBE. The
 * server is a bare node TLS listener with the test certificate.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { createServer, type TLSSocket } from 'node:tls';
import { createPresenceB2B, type PresenceB2BOptions } from '../../../src/b2b/create-presence-b2b.js';
import { SipStreamFramer, type SipRequest } from '../../../src/sip/codec/index.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../../fixtures/tls/test-certificate.js';
import { until } from '../transport/helpers.js';

async function tlsServer(): Promise<{ port: number; requests: SipRequest[]; close(): Promise<void> }> {
  const requests: SipRequest[] = [];
  const sockets = new Set<TLSSocket>();
  const server = createServer({ key: TEST_TLS_KEY, cert: TEST_TLS_CERT }, (socket) => {
    sockets.add(socket);
    const framer = new SipStreamFramer();
    socket.on('data', (chunk: Buffer) => {
      for (const m of framer.push(chunk)) if (m.kind === 'request') requests.push(m);
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    requests,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function subscribeOverTls(options: PresenceB2BOptions, check: (server: Awaited<ReturnType<typeof tlsServer>>, b2b: Awaited<ReturnType<typeof createPresenceB2B>>) => Promise<void>): Promise<void> {
  const server = await tlsServer();
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const b2b = await createPresenceB2B({
    // Our own TLS listener (its certificate is for inbound connections; it trusts nothing by itself).
    listen: [{ transport: 'tls', host: '127.0.0.1', port: 0, tls: { key: TEST_TLS_KEY, cert: TEST_TLS_CERT } }],
    clock,
    scheduler,
    random: new SeededRandom(3),
    ...options,
  });
  try {
    await check(server, b2b);
  } finally {
    const closing = b2b.close(100);
    clock.advance(100);
    await closing;
    scheduler.close();
    await server.close();
  }
}

test('an untrusted server certificate: nothing sent, the subscriber gets terminated with B2B_ERR_TLS_CERTIFICATE', async () => {
  await subscribeOverTls({}, async (server, b2b) => {
    const queue = b2b.qsa.createQueue();
    b2b.qsa.subscribe({ record: `sip:alice@127.0.0.1:${server.port};transport=tls`, subscriber: 'sip:bob@example.com', queue });
    await until(() => queue.depth > 0, 'a status message');
    const status = queue.poll()!;
    assert.equal(status.state, 'terminated');
    assert.equal(status.reason, 'error');
    assert.equal(status.error?.code, 'B2B_ERR_TLS_CERTIFICATE');
    assert.match(status.error?.message ?? '', /certificate not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT/);
    assert.equal(typeof status.retryAfter, 'number', 'retried with backoff (the CA may be fixed)');
    assert.deepEqual(server.requests, [], 'the server got nothing');
  });
});

test('verify: false (sip.tls_client.verify) connects to the same server', async () => {
  await subscribeOverTls({ tlsClient: { verify: false } }, async (server, b2b) => {
    b2b.qsa.subscribe({ record: `sip:alice@127.0.0.1:${server.port};transport=tls`, subscriber: 'sip:bob@example.com', queue: b2b.qsa.createQueue() });
    await until(() => server.requests.length === 1, 'the SUBSCRIBE');
  });
});

test('with its CA trusted (sip.tls_client.ca_file), the SUBSCRIBE reaches the server', async () => {
  await subscribeOverTls({ tlsClient: { ca: TEST_TLS_CERT } }, async (server, b2b) => {
    b2b.qsa.subscribe({ record: `sip:alice@127.0.0.1:${server.port};transport=tls`, subscriber: 'sip:bob@example.com', queue: b2b.qsa.createQueue() });
    await until(() => server.requests.length === 1, 'the SUBSCRIBE');
    assert.equal(server.requests[0]!.method, 'SUBSCRIBE');
  });
});
