/**
 * A stream connection hands each message on as soon as it is framed (issue 11,
 * docs/latency-tail.md "Over TCP"): a read that holds several messages does
 * not parse them all before the first is handled, and what handling the
 * first set in motion (a promise continuation: a queue's consumer) runs
 * before the next one is parsed, as between two datagrams over UDP. The
 * framing of RFC 3261 §18.3 and the transport's limits are the same.
 * What is written in answer to the messages of one read is written at once
 * when the last of them has been handled (one writev), never later.
 * Real loopback sockets; the clock-driven limit runs on a ManualClock.
 */
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { describe, test } from 'node:test';
import { createResponse } from '../../../src/sip/codec/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/codec/message.js';
import type { ObservedSipMessage } from '../../../src/sip/transport/message-observer.js';
import type { TransportDiagnostic } from '../../../src/sip/transport/transport-options.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { rawTcpClient, requestText, respond, startLayer, until } from './helpers.js';

const request = (callId: string, body = '') => requestText({ method: 'MESSAGE', via: `SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-${callId}`, callId, body });

function callIdOf(bytes: Uint8Array): string {
  return /\r\nCall-ID: ([^\r]*)\r\n/.exec(Buffer.from(bytes).toString('latin1'))?.[1] ?? '?';
}

describe('stream transport: each message handed on as soon as it is framed', () => {
  test('three messages in one write: each is framed, handled and its promise continuations run before the next is framed', async () => {
    const events: string[] = [];
    // The observer sees a stream message's octets when it is framed, before it is parsed.
    const observer = {
      observe: (m: ObservedSipMessage) => {
        if (m.direction === 'received') events.push(`framed ${callIdOf(m.bytes)}`);
      },
    };
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { observer });
    const bodies: string[] = [];
    b.layer.onMessage((message) => {
      const callId = message.headers.get('call-id') ?? '?';
      events.push(`handled ${callId}`);
      bodies.push(Buffer.from(message.body).toString());
      void Promise.resolve().then(() => events.push(`continued ${callId}`));
    });
    const client = await rawTcpClient(b.port('tcp'));
    try {
      await client.write(request('h1', 'one') + request('h2') + request('h3', 'three'));
      await until(() => events.includes('continued h3'), 'the three messages');
      assert.deepEqual(events, [
        'framed h1',
        'handled h1',
        'continued h1',
        'framed h2',
        'handled h2',
        'continued h2',
        'framed h3',
        'handled h3',
        'continued h3',
      ]);
      assert.deepEqual(bodies, ['one', '', 'three']);
    } finally {
      await client.close();
      await b.layer.close();
    }
  });

  test('whole messages and the start of another in one write: the whole ones are handed on, the rest waits under the message timeout', async () => {
    const clock = new ManualClock();
    const scheduler = new TimerScheduler(clock);
    const events: TransportDiagnostic[] = [];
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { messageTimeoutMs: 10_000, scheduler, onDiagnostic: (e) => events.push(e) });
    try {
      const client = await rawTcpClient(b.port('tcp'));
      const third = request('p3', 'the rest');
      await client.write(request('p1') + request('p2') + third.slice(0, 60));
      await until(() => b.received.length === 2 && scheduler.size === 1, 'two messages handed on and the deadline armed for the third');
      clock.advance(9000);
      await client.write(third.slice(60));
      await until(() => b.received.length === 3, 'the third, whole');
      assert.equal(Buffer.from(b.received[2]!.message.body).toString(), 'the rest');
      assert.equal(scheduler.size, 0, 'no deadline once nothing is held');

      // Again, and the rest never comes: the connection is cut off after 10 s.
      await client.write(request('p4') + request('p5').slice(0, 30));
      await until(() => b.received.length === 4 && scheduler.size === 1, 'the fourth handed on, the fifth held');
      clock.advance(10_000);
      await until(() => client.closed, 'cut off');
      assert.equal(b.layer.stats.messageTimeouts, 1);
      assert.equal(events.filter((e) => e.kind === 'message-timeout').length, 1);
      assert.deepEqual(
        b.received.map((r) => r.message.headers.get('call-id')),
        ['p1', 'p2', 'p3', 'p4'],
      );
    } finally {
      await b.layer.close();
      scheduler.close();
    }
  });

  test('a framing error or an oversized message after whole ones in the same write: those are handed on, then the connection closes', async () => {
    const events: TransportDiagnostic[] = [];
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { maxMessageBytes: { tcp: 4000 }, onDiagnostic: (e) => events.push(e) });
    try {
      const noLength = request('f2').replace(/Content-Length: \d+\r\n/, '');
      const first = await rawTcpClient(b.port('tcp'));
      await first.write(request('f1') + noLength + request('f3'));
      await until(() => first.closed, 'closed on the framing error');
      assert.deepEqual(
        b.received.map((r) => r.message.headers.get('call-id')),
        ['f1'],
      );
      assert.equal(events.filter((e) => e.kind === 'framing-error').length, 1);

      const second = await rawTcpClient(b.port('tcp'));
      await second.write(request('o1') + request('o2', 'x'.repeat(5000)) + request('o3'));
      await until(() => second.closed, 'closed on the message over the limit');
      assert.deepEqual(
        b.received.map((r) => r.message.headers.get('call-id')),
        ['f1', 'o1'],
      );
      assert.equal(b.layer.stats.oversizeMessages, 1);
      assert.equal(events.filter((e) => e.kind === 'message-too-large').length, 1);
    } finally {
      await b.layer.close();
    }
  });

  test('overload shedding applies to each request of a write: all answered 503 on the connection, none handed up', async () => {
    const clock = new ManualClock();
    const scheduler = new TimerScheduler(clock);
    const b = await startLayer(
      [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      { scheduler, overload: { backlogLimitBytes: 1000, retryAfterSeconds: 3, sampleIntervalMs: 100, backlog: () => 5000 } },
    );
    try {
      const client = await rawTcpClient(b.port('tcp'));
      // The guard samples while messages come in: the first is handled, then the sample turns shedding on.
      await client.write(request('s0'));
      await until(() => b.received.length === 1, 'handled before any sample');
      clock.advance(100);
      assert.equal(b.layer.shedding, true);
      await client.write(request('s1') + request('s2') + request('s3'));
      await until(() => client.messages.length === 3, 'three answers');
      assert.deepEqual(
        client.messages.map((m) => [(m as SipResponse).status, m.headers.get('call-id')]),
        [
          [503, 's1'],
          [503, 's2'],
          [503, 's3'],
        ],
      );
      assert.equal(b.received.length, 1);
      assert.equal(b.layer.stats.requestsShed, 3);
      await client.close();
    } finally {
      await b.layer.close();
      scheduler.close();
    }
  });

  test("the answers to one read's messages are written together after the last is handled; a lone message's answer at once", async () => {
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }]);
    const serverPort = b.port('tcp');
    // What the server side of the connection hands to its socket: one call per write, or one per
    // gathered batch (net.Socket's _writev, used when corked writes are flushed together).
    const writes: Array<{ kind: 'write' | 'writev'; chunks: number }> = [];
    const proto = Socket.prototype as unknown as { _write: (...a: unknown[]) => unknown; _writev: (...a: unknown[]) => unknown };
    const realWrite = proto._write;
    const realWritev = proto._writev;
    proto._write = function (this: Socket, ...a: unknown[]) {
      if (this.localPort === serverPort) writes.push({ kind: 'write', chunks: 1 });
      return realWrite.apply(this, a);
    };
    proto._writev = function (this: Socket, ...a: unknown[]) {
      if (this.localPort === serverPort) writes.push({ kind: 'writev', chunks: (a[0] as unknown[]).length });
      return realWritev.apply(this, a);
    };
    const events: string[] = [];
    b.layer.onMessage((message, source) => {
      const callId = message.headers.get('call-id') ?? '?';
      events.push(`handled ${callId} (${writes.length} socket writes so far)`);
      respond(b.layer, createResponse(message as SipRequest, 200, 'OK', { toTag: `t-${callId}` }), source);
    });
    const client = await rawTcpClient(serverPort);
    try {
      await client.write(request('g1') + request('g2') + request('g3'));
      await until(() => client.messages.length === 3, 'three answers');
      assert.deepEqual(events, ['handled g1 (0 socket writes so far)', 'handled g2 (0 socket writes so far)', 'handled g3 (0 socket writes so far)']);
      assert.deepEqual(writes, [{ kind: 'writev', chunks: 3 }], 'the three 200s in one gathered write');
      assert.deepEqual(
        client.messages.map((m) => [(m as SipResponse).status, m.headers.get('call-id')]),
        [
          [200, 'g1'],
          [200, 'g2'],
          [200, 'g3'],
        ],
      );

      // One message per read: its answer is written while it is handled, as before.
      writes.length = 0;
      await client.write(request('g4'));
      await until(() => client.messages.length === 4, 'the fourth answer');
      assert.deepEqual(writes, [{ kind: 'write', chunks: 1 }]);

      // Two whole messages and the start of a third: the two answers go out together at the end
      // of the read, without waiting for the rest of the third.
      writes.length = 0;
      const third = request('g7');
      await client.write(request('g5') + request('g6') + third.slice(0, 40));
      await until(() => client.messages.length === 6, 'the answers to the two whole ones');
      assert.deepEqual(writes, [{ kind: 'writev', chunks: 2 }]);
      await client.write(third.slice(40));
      await until(() => client.messages.length === 7, 'the last answer');
      assert.deepEqual(
        client.messages.slice(4).map((m) => m.headers.get('call-id')),
        ['g5', 'g6', 'g7'],
      );
    } finally {
      proto._write = realWrite;
      proto._writev = realWritev;
      await client.close();
      await b.layer.close();
    }
  });

  test('a handler that throws in the middle of a read: the answers of the read are still written', async () => {
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }]);
    b.layer.onMessage((message, source) => {
      const callId = message.headers.get('call-id') ?? '?';
      respond(b.layer, createResponse(message as SipRequest, 200, 'OK', { toTag: `t-${callId}` }), source);
      if (callId === 'x1') throw new Error('a bug in a handler');
    });
    const client = await rawTcpClient(b.port('tcp'));
    try {
      await client.write(request('x1') + request('x2'));
      await until(() => client.messages.length === 2, 'both answers');
      assert.equal(b.layer.stats.handlerErrors, 1);
      await client.write(request('x3') + request('x4'));
      await until(() => client.messages.length === 4, 'the answers to a later read');
      assert.deepEqual(
        client.messages.map((m) => m.headers.get('call-id')),
        ['x1', 'x2', 'x3', 'x4'],
      );
    } finally {
      await client.close();
      await b.layer.close();
    }
  });
});
