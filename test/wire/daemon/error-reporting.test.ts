/**
 * Nothing is swallowed: what the layers below catch instead of crashing (a QSA
 * notifier that throws, a SIP request handler that throws, a transport
 * diagnostic) is logged once by the daemon, with its context, and counted in
 * GET /metrics. The daemon runs in-process on 127.0.0.1 (ephemeral SIP port,
 * no HTTP listener); a ScriptedSipPeer plays the remote side.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/log/logger.js';
import { buildMessage } from '../../support/sip-fixtures.js';
import { ScriptedSipPeer } from '../../support/scripted-peer.js';

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

let daemon: DaemonHandle;
let peer: ScriptedSipPeer;
const lines: LogLine[] = [];

before(async () => {
  const logger = createLogger({
    level: 'debug',
    stream: {
      write(chunk: string) {
        lines.push(JSON.parse(chunk) as LogLine);
      },
    },
  });
  const config = parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { enabled: false },
    local_agent: { enabled: false },
    shutdown: { mode: 'leave', timeout_ms: 500 },
    store: { type: 'memory' },
  });
  daemon = await startDaemon(config, { logger });
  peer = await ScriptedSipPeer.start({ transport: 'udp' });
});

after(async () => {
  await daemon?.close();
  await peer?.close();
});

function sipPort(): number {
  const udp = daemon.sip.find((l) => l.transport === 'udp');
  assert.ok(udp !== undefined);
  return udp.port;
}

/** The value of one sample of the Prometheus exposition, e.g. `presence_b2b_internal_errors_total{component="notifier"}`. */
async function metric(sample: string): Promise<number | undefined> {
  const text = await daemon.metrics.render();
  for (const line of text.split('\n')) if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  return undefined;
}

function logged(predicate: (line: LogLine) => boolean): LogLine[] {
  return lines.filter(predicate);
}

describe('the daemon logs and counts what would otherwise go unseen', () => {
  test('every counter is there from the start, at 0', async () => {
    for (const component of ['transport', 'request_handler', 'response_callback', 'notifier', 'timer', 'queue_consumer']) {
      assert.equal(await metric(`presence_b2b_internal_errors_total{component="${component}"}`), 0, component);
    }
    assert.equal(await metric('presence_b2b_sip_malformed_messages_total{action="answered_400"}'), 0);
  });

  test('a QSA notifier that throws: one error line with the subscription’s id, record and subscriber; counter 1', async () => {
    daemon.broker.registerNotifier(
      'test-event',
      {
        subscribe: () => {
          throw new Error('notifier bug');
        },
        unsubscribe: () => {},
      },
      { name: 'broken-notifier' },
    );
    const queue = daemon.broker.createQueue();
    const handle = daemon.broker.subscribe({ package: 'test-event', record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', queue });
    const found = logged((l) => l.component === 'notifier');
    assert.equal(found.length, 1, JSON.stringify(found));
    const line = found[0]!;
    assert.equal(line.level, 'error');
    assert.equal(line.subscription, handle.id);
    assert.equal(line.record, 'sip:alice@example.com');
    assert.equal(line.subscriber, 'sip:bob@example.com');
    assert.equal(line.notifier, 'broken-notifier');
    assert.equal(line.callback, 'subscribe');
    assert.equal((line.err as { message?: string }).message, 'notifier bug');
    assert.equal(await metric('presence_b2b_internal_errors_total{component="notifier"}'), 1);
    daemon.broker.unsubscribe(handle);
  });

  test('a SIP request handler that throws: 500 answered, one error line with the method and Call-ID; counter 1', async () => {
    daemon.b2b.ua.onRequest('MESSAGE', () => {
      throw new Error('handler bug');
    });
    const port = sipPort();
    const request = buildMessage(`MESSAGE sip:b2b@127.0.0.1:${port} SIP/2.0`, [
      ['Via', `SIP/2.0/UDP 127.0.0.1:${peer.address.port};branch=z9hG4bK-msg-1;rport`],
      ['Max-Forwards', '70'],
      ['From', '<sip:carol@example.com>;tag=c1'],
      ['To', `<sip:b2b@127.0.0.1:${port}>`],
      ['Call-ID', 'handler-throws-1'],
      ['CSeq', '1 MESSAGE'],
    ]);
    await peer.sendRaw(request, { address: '127.0.0.1', port });
    const response = await peer.expectResponse({ status: 500, method: 'MESSAGE' });
    assert.equal(response.message.headers.get('Call-ID'), 'handler-throws-1');
    const found = logged((l) => l.component === 'request_handler');
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.level, 'error');
    assert.equal(found[0]!.method, 'MESSAGE');
    assert.equal(found[0]!.callId, 'handler-throws-1');
    assert.equal((found[0]!.err as { message?: string }).message, 'handler bug');
    assert.equal(await metric('presence_b2b_internal_errors_total{component="request_handler"}'), 1);
  });

  test('a transport diagnostic (a malformed request, answered 400): one line with its kind and peer; counter 1', async () => {
    const port = sipPort();
    // A Content-Length beyond the datagram: the transport answers 400 statelessly (RFC 3261 §18.3, §8.2.2).
    const malformed = buildMessage(
      `OPTIONS sip:b2b@127.0.0.1:${port} SIP/2.0`,
      [
        ['Via', `SIP/2.0/UDP 127.0.0.1:${peer.address.port};branch=z9hG4bK-bad-1;rport`],
        ['Max-Forwards', '70'],
        ['From', '<sip:carol@example.com>;tag=c2'],
        ['To', `<sip:b2b@127.0.0.1:${port}>`],
        ['Call-ID', 'malformed-1'],
        ['CSeq', '1 OPTIONS'],
      ],
      { contentLength: 500 },
    );
    await peer.sendRaw(malformed, { address: '127.0.0.1', port });
    await peer.expectResponse({ status: 400 });
    const found = logged((l) => l.component === 'transport' && l.kind === 'bad_request_answered');
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.level, 'info');
    assert.equal(found[0]!.remote, `127.0.0.1:${peer.address.port}`);
    assert.equal(found[0]!.transport, 'udp');
    assert.equal(await metric('presence_b2b_sip_malformed_messages_total{action="answered_400"}'), 1);
    assert.equal(await metric('presence_b2b_internal_errors_total{component="transport"}'), 0, 'a peer’s malformed request is not our error');
  });
});
