/**
 * The SIP transport's limits (docs/hostile-input.md), one test each, on real
 * loopback sockets: past each, a clear error code or answer, and the rest of
 * the layer goes on. Clock-driven limits (message timeout, overload sampling)
 * run on a ManualClock; the idle timeout is Node's socket timer, as in
 * stream.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseSipMessage, serializeSipMessage } from '../../../src/sip/codec/index.js';
import type { SipResponse } from '../../../src/sip/codec/message.js';
import type { SipTransportError } from '../../../src/sip/transport/errors.js';
import type { TransportDiagnostic } from '../../../src/sip/transport/transport-options.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { rawTcpClient, rawUdpPeer, requestText, startLayer, until } from './helpers.js';

function diagnosticsOf(events: TransportDiagnostic[], kind: TransportDiagnostic['kind']): TransportDiagnostic[] {
  return events.filter((e) => e.kind === kind);
}

function codeOf(event: TransportDiagnostic | undefined): string | undefined {
  const error = event?.error;
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

describe('SIP transport limits', () => {
  test('maximum connections: one over is refused (connection-rejected, counted), an outgoing one fails with SIP_ERR_TRANSPORT_LIMIT, the first keeps working', async () => {
    const events: TransportDiagnostic[] = [];
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { maxConnections: 1, onDiagnostic: (e) => events.push(e) });
    try {
      const first = await rawTcpClient(b.port('tcp'));
      await until(() => b.layer.connectionCount === 1, 'first accepted');
      const second = await rawTcpClient(b.port('tcp'));
      await until(() => second.closed, 'second refused');
      assert.equal(b.layer.stats.connectionsRejected, 1);
      assert.equal(diagnosticsOf(events, 'connection-rejected').length, 1);
      const errors: SipTransportError[] = [];
      b.layer.send(serializeSipMessage(parseSipMessage(requestText({ via: 'SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-limit' }))), { transport: 'tcp', host: '127.0.0.1', port: 9 }, (e) =>
        errors.push(e as SipTransportError),
      );
      await until(() => errors.length === 1, 'limit error');
      assert.equal(errors[0]!.code, 'SIP_ERR_TRANSPORT_LIMIT');
      assert.equal(b.layer.stats.connectionsRejected, 2);
      // The connection inside the limit is untouched.
      await first.write(requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-first', callId: 'first' }));
      await until(() => b.received.length === 1, 'the first connection still carries requests');
      assert.equal(first.closed, false);
      await first.close();
    } finally {
      await b.layer.close();
    }
  });

  test('idle timeout: a connection without traffic is closed with SIP_ERR_TRANSPORT_IDLE, counted', async () => {
    const events: TransportDiagnostic[] = [];
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { idleTimeoutMs: 120, onDiagnostic: (e) => events.push(e) });
    try {
      const client = await rawTcpClient(b.port('tcp'));
      await client.write(requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-idle', callId: 'idle' }));
      await until(() => client.closed, 'idle close', 1500);
      await until(() => b.layer.stats.connectionsClosed === 1, 'close counted');
      assert.equal(b.layer.stats.idleTimeouts, 1);
      assert.equal(codeOf(diagnosticsOf(events, 'connection-closed')[0]), 'SIP_ERR_TRANSPORT_IDLE');
      assert.equal(b.received.length, 1, 'the request before it was delivered');
    } finally {
      await b.layer.close();
    }
  });

  test('message timeout: a peer sending one octet a second is cut off (SIP_ERR_TRANSPORT_MESSAGE_TIMEOUT); one that finishes in time is not', async () => {
    const clock = new ManualClock();
    const scheduler = new TimerScheduler(clock);
    const events: TransportDiagnostic[] = [];
    const b = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], { messageTimeoutMs: 10_000, scheduler, onDiagnostic: (e) => events.push(e) });
    try {
      // In time: a message in two halves, 9 s apart; the deadline goes once it is whole.
      const good = await rawTcpClient(b.port('tcp'));
      const message = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-slow-ok', callId: 'in-time' });
      await good.write(message.slice(0, 40));
      await until(() => scheduler.size === 1, 'deadline armed for the message started');
      clock.advance(9000);
      await good.write(message.slice(40));
      await until(() => b.received.length === 1, 'the message, whole');
      assert.equal(scheduler.size, 0, 'no deadline once nothing is held');
      assert.equal(good.closed, false);

      // One octet a second: after 10 s the connection is closed, whatever keeps coming.
      const slow = await rawTcpClient(b.port('tcp'));
      const text = requestText({ via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-slow', callId: 'slow' });
      let sent = 0;
      for (let i = 0; i < 12 && !slow.closed; i++) {
        try {
          await slow.write(text[i]!);
        } catch {
          break; // the close raced our write (ECONNRESET): cut off, as expected
        }
        sent++;
        await until(() => scheduler.size === 1 || slow.closed, 'octet held');
        clock.advance(1000);
      }
      assert.ok(sent <= 11, `cut off after about 10 octets, not after ${sent}`);
      await until(() => slow.closed, 'the slow peer is cut off');
      assert.equal(b.layer.stats.messageTimeouts, 1);
      const timeout = diagnosticsOf(events, 'message-timeout')[0];
      assert.equal(codeOf(timeout), 'SIP_ERR_TRANSPORT_MESSAGE_TIMEOUT');
      assert.match(timeout!.detail, /within 10000 ms of its first octet/);
      assert.equal(good.closed, false, 'the other connection stays');
      assert.equal(b.received.length, 1);
      await good.close();
    } finally {
      await b.layer.close();
      scheduler.close();
    }
  });

  test('maximum message size per transport: UDP over its limit gets 513 unparsed; TCP over its own limit is closed (message-too-large); each transport has its own limit', async () => {
    const events: TransportDiagnostic[] = [];
    const b = await startLayer(
      [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      { maxMessageBytes: { udp: 2000, tcp: 4000 }, onDiagnostic: (e) => events.push(e) },
    );
    const udp = await rawUdpPeer();
    try {
      const body = (n: number) => 'x'.repeat(n);
      // UDP: 2500 octets > 2000 → 513 Message Too Large, nothing delivered.
      await udp.send(requestText({ method: 'MESSAGE', via: `SIP/2.0/UDP 127.0.0.1:${udp.port};branch=z9hG4bK-big;rport`, callId: 'big-udp', body: body(2500) }), b.port('udp'));
      await until(() => udp.datagrams.length === 1, '513');
      const answer = parseSipMessage(udp.datagrams[0]!) as SipResponse;
      assert.equal(answer.status, 513);
      assert.equal(answer.headers.get('call-id'), 'big-udp');
      assert.equal(b.layer.stats.oversizeMessages, 1);
      assert.match(diagnosticsOf(events, 'message-too-large')[0]!.detail, /answered 513: \d+ octets over the 2000-octet limit/);
      // TCP takes 3000 (its limit is 4000): delivered.
      const client = await rawTcpClient(b.port('tcp'));
      await client.write(requestText({ method: 'MESSAGE', via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-mid', callId: 'mid-tcp', body: body(3000) }));
      await until(() => b.received.length === 1, 'the 3000-octet message over TCP');
      // 5000 over TCP: the connection is closed, counted.
      await client.write(requestText({ method: 'MESSAGE', via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-huge', callId: 'huge-tcp', body: body(5000) }));
      await until(() => client.closed, 'closed');
      assert.equal(b.layer.stats.oversizeMessages, 2);
      assert.equal(codeOf(diagnosticsOf(events, 'message-too-large')[1]), 'SIP_ERR_PARSE_LIMIT');
      // UDP within its limit still works.
      await udp.send(requestText({ method: 'MESSAGE', via: `SIP/2.0/UDP 127.0.0.1:${udp.port};branch=z9hG4bK-small;rport`, callId: 'small-udp', body: body(500) }), b.port('udp'));
      await until(() => b.received.length === 2, 'a small datagram');
    } finally {
      await udp.close();
      await b.layer.close();
    }
  });

  test('overload: while the receive backlog is over its limit, requests get 503 + Retry-After unprocessed; responses and ACKs still pass; it ends under half the limit', async () => {
    const clock = new ManualClock();
    const scheduler = new TimerScheduler(clock);
    const events: TransportDiagnostic[] = [];
    let backlog = 0;
    const seenSockets: Array<ReadonlyArray<{ address: string; port: number }>> = [];
    const b = await startLayer(
      [
        { transport: 'udp', host: '127.0.0.1', port: 0 },
        { transport: 'tcp', host: '127.0.0.1', port: 0 },
      ],
      {
        scheduler,
        overload: {
          backlogLimitBytes: 1000,
          retryAfterSeconds: 7,
          sampleIntervalMs: 100,
          backlog: (sockets) => {
            seenSockets.push(sockets);
            return backlog;
          },
        },
        onDiagnostic: (e) => events.push(e),
      },
    );
    const udp = await rawUdpPeer();
    const request = (callId: string, method = 'NOTIFY') =>
      requestText({ method, via: `SIP/2.0/UDP 127.0.0.1:${udp.port};branch=z9hG4bK-${callId};rport`, callId, extra: ['Event: presence'] });
    try {
      // Normal: delivered.
      await udp.send(request('before'), b.port('udp'));
      await until(() => b.received.length === 1, 'delivered');
      backlog = 5000;
      clock.advance(100);
      assert.equal(b.layer.shedding, true);
      assert.deepEqual(seenSockets.at(-1), [{ address: '127.0.0.1', port: b.port('udp') }]);
      assert.equal(diagnosticsOf(events, 'overload-started').length, 1);

      await udp.send(request('shed'), b.port('udp'));
      await until(() => udp.datagrams.length === 1, '503');
      const answer = parseSipMessage(udp.datagrams[0]!) as SipResponse;
      assert.equal(answer.status, 503);
      assert.equal(answer.headers.get('retry-after'), '7');
      assert.equal(answer.headers.get('call-id'), 'shed');
      assert.equal(b.received.length, 1, 'not handed up');
      // An ACK and a response are not shed (nothing to answer; a response frees a transaction).
      await udp.send(request('ack', 'ACK'), b.port('udp'));
      await udp.send(
        `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:${b.port('udp')};branch=z9hG4bK-ours\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\nCall-ID: resp\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        b.port('udp'),
      );
      await until(() => b.received.length === 3, 'ACK and response delivered');
      // TCP requests are shed too, on their connection.
      const client = await rawTcpClient(b.port('tcp'));
      await client.write(requestText({ method: 'NOTIFY', via: 'SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-tcp-shed', callId: 'tcp-shed' }));
      await until(() => client.messages.length === 1, '503 over TCP');
      assert.equal((client.messages[0] as SipResponse).status, 503);
      assert.equal((client.messages[0] as SipResponse).headers.get('retry-after'), '7');
      assert.equal(b.layer.stats.requestsShed, 2);

      // Under the limit but over half of it: still shedding (hysteresis); under half: handled again.
      backlog = 800;
      clock.advance(100);
      assert.equal(b.layer.shedding, true);
      backlog = 400;
      clock.advance(100);
      assert.equal(b.layer.shedding, false);
      assert.match(diagnosticsOf(events, 'overload-ended')[0]!.detail, /2 shed so far/);
      await udp.send(request('after'), b.port('udp'));
      await until(() => b.received.length === 4, 'delivered again');
      await client.close();
    } finally {
      await udp.close();
      await b.layer.close();
      scheduler.close();
    }
  });

  test('udpReceiveBufferBytes: the SO_RCVBUF asked for each UDP socket (Linux grants twice it); 0 keeps the kernel default', async () => {
    const bufferOf = (layer: unknown): number => (layer as { udp: Array<{ receiveBufferSize: number }> }).udp[0]!.receiveBufferSize;
    // 64 KiB: below any net.core.rmem_max (212,992 by default), so the kernel does not cap it.
    const asked = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }], { udpReceiveBufferBytes: 64 * 1024 });
    const kernelDefault = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }], { udpReceiveBufferBytes: 0 });
    try {
      const granted = bufferOf(asked.layer);
      assert.ok(granted === 64 * 1024 || granted === 128 * 1024, `SO_RCVBUF 64 KiB asked, got ${granted}`);
      let rmemDefault: number | undefined;
      try {
        rmemDefault = Number(readFileSync('/proc/sys/net/core/rmem_default', 'latin1').trim());
      } catch {
        rmemDefault = undefined; // not Linux: nothing to compare with
      }
      if (rmemDefault !== undefined) assert.equal(bufferOf(kernelDefault.layer), rmemDefault);
      else assert.ok(bufferOf(kernelDefault.layer) > 0);
    } finally {
      await asked.layer.close();
      await kernelDefault.layer.close();
    }
  });

  test('overload limit auto: half the receive buffer the kernel gave the UDP socket; 0 (off) without a UDP socket', async () => {
    const clock = new ManualClock();
    const scheduler = new TimerScheduler(clock);
    const b = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }], {
      scheduler,
      overload: { backlogLimitBytes: 'auto', retryAfterSeconds: 5, backlog: () => 0 },
    });
    const tcpOnly = await startLayer([{ transport: 'tcp', host: '127.0.0.1', port: 0 }], {
      scheduler,
      overload: { backlogLimitBytes: 'auto', retryAfterSeconds: 5, backlog: () => 0 },
    });
    try {
      const limit = b.layer.overloadLimit;
      assert.ok(limit > 0, `a limit in force, got ${limit}`);
      // SO_RCVBUF as read back, whatever the kernel's rmem_max allowed: the limit is half of it.
      const buffer = (b.layer as unknown as { udp: Array<{ receiveBufferSize: number }> }).udp[0]!.receiveBufferSize;
      assert.equal(limit, Math.floor(buffer / 2));
      assert.equal(tcpOnly.layer.overloadLimit, 0);
    } finally {
      await b.layer.close();
      await tcpOnly.layer.close();
      scheduler.close();
    }
  });

  test('overload sampling reads nothing while nothing arrives', async () => {
    const clock = new ManualClock();
    const scheduler = new TimerScheduler(clock);
    let reads = 0;
    const b = await startLayer([{ transport: 'udp', host: '127.0.0.1', port: 0 }], {
      scheduler,
      overload: { backlogLimitBytes: 1000, retryAfterSeconds: 5, backlog: () => ++reads && 0 },
    });
    try {
      clock.advance(1000);
      assert.equal(reads, 1, 'one read at the first sample (the counter starts unseen), none after');
      const udp = await rawUdpPeer();
      await udp.send(requestText({ via: `SIP/2.0/UDP 127.0.0.1:${udp.port};branch=z9hG4bK-x;rport` }), b.port('udp'));
      await until(() => b.received.length === 1, 'delivered');
      clock.advance(100);
      assert.equal(reads, 2);
      await udp.close();
    } finally {
      await b.layer.close();
      scheduler.close();
    }
  });
});
