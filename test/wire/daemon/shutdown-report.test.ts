/**
 * The shutdown log says what the servers were not heard from about: the
 * unSUBSCRIBEs sent, those never answered before shutdown.timeout_ms, those
 * answered without the terminating NOTIFY. In-process daemon, a scripted
 * presence server on loopback.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parseConfig } from '../../../src/config/index.js';
import { startDaemon } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/log/logger.js';
import { ScriptedSipPeer } from '../../support/scripted-peer.js';

interface LogLine {
  level: string;
  msg: string;
  [key: string]: unknown;
}

const peers: ScriptedSipPeer[] = [];
after(async () => {
  for (const p of peers) await p.close();
});

async function daemonWithDialogs(records: string[]) {
  const lines: LogLine[] = [];
  const logger = createLogger({ level: 'info', stream: { write: (chunk: string) => lines.push(JSON.parse(chunk) as LogLine) } });
  const peer = await ScriptedSipPeer.start({ transport: 'udp' });
  peers.push(peer);
  const config = parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { enabled: false },
    local_agent: { enabled: false },
    shutdown: { mode: 'unsubscribe', timeout_ms: 400 },
    store: { type: 'memory' },
  });
  const daemon = await startDaemon(config, { logger });
  const subscribes = [];
  for (const [i, user] of records.entries()) {
    const queue = daemon.broker.createQueue();
    daemon.broker.subscribe({ record: `sip:${user}@127.0.0.1:${peer.address.port}`, subscriber: 'sip:bob@example.com', queue });
    const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 3000 });
    await peer.reply(subscribe, 200, { toTag: `srv-${i}`, headers: [['Expires', '3600']] });
    await peer.sendNotify(subscribe.from, { ...peer.notifyOptionsFor(subscribe, `srv-${i}`), cseq: 1, branch: `z9hG4bK-r${i}` });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });
    subscribes.push(subscribe);
  }
  return { daemon, peer, lines, subscribes };
}

test('an unSUBSCRIBE never answered, one answered without the final NOTIFY: both are in the shutdown log', async () => {
  const { daemon, peer, lines } = await daemonWithDialogs(['alice', 'carol']);
  const closing = daemon.close();
  const first = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 3000 });
  assert.equal(first.message.headers.get('Expires'), '0');
  // One is answered (but no terminating NOTIFY follows); the other never is.
  await peer.reply(first, 200, { headers: [['Expires', '0']] });
  await closing;
  const stopped = lines.find((l) => l.msg === 'stopped');
  assert.ok(stopped !== undefined);
  assert.deepEqual(
    { mode: stopped.mode, unsubscribesSent: stopped.unsubscribesSent, unanswered: stopped.unanswered, awaitingNotify: stopped.awaitingNotify, inFlight: stopped.inFlight },
    { mode: 'unsubscribe', unsubscribesSent: 2, unanswered: 1, awaitingNotify: 1, inFlight: 0 },
  );
  const warning = lines.find((l) => l.level === 'warn' && /unanswered/.test(l.msg));
  assert.ok(warning !== undefined, JSON.stringify(lines));
  assert.equal(warning.unanswered, 1);
});

test('every unSUBSCRIBE answered and ended by NOTIFY: nothing unanswered, no warning', async () => {
  const { daemon, peer, lines, subscribes } = await daemonWithDialogs(['dave']);
  const closing = daemon.close();
  const unsubscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 3000 });
  await peer.reply(unsubscribe, 200, { headers: [['Expires', '0']] });
  const original = subscribes[0]!;
  await peer.sendNotify(original.from, { ...peer.notifyOptionsFor(original, 'srv-0'), cseq: 2, branch: 'z9hG4bK-end', subscriptionState: 'terminated;reason=timeout', body: '' });
  await closing;
  const stopped = lines.find((l) => l.msg === 'stopped');
  assert.equal(stopped?.unsubscribesSent, 1);
  assert.equal(stopped?.unanswered, 0);
  assert.equal(stopped?.awaitingNotify, 0);
  assert.equal(lines.some((l) => l.level === 'warn'), false, JSON.stringify(lines.filter((l) => l.level === 'warn')));
});
