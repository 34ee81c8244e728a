/**
 * A stream connection hands each message on as soon as it is framed (issue 11,
 * docs/latency-tail.md "Over TCP"): a read that holds several messages does
 * not parse them all before the first is handled, and what handling the
 * first set in motion (a promise continuation: a queue's consumer) runs
 * before the next one is parsed, as between two datagrams over UDP. The
 * framing of RFC 3261 §18.3 and the transport's limits are the same.
 * Real loopback sockets; the clock-driven limit runs on a ManualClock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipResponse } from '../../../src/sip/codec/message.js';
import type { ObservedSipMessage } from '../../../src/sip/transport/message-observer.js';
import type { TransportDiagnostic } from '../../../src/sip/transport/transport-options.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { rawTcpClient, requestText, startLayer, until } from './helpers.js';

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
});
