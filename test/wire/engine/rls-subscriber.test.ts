/**
 * Our subscriber side of resource lists against our own resource list server
 * (src/rls, in a daemon on 127.0.0.1): a record nobody said was a list gets a
 * 421 with `Require: eventlist` (RFC 4662 §4.1), is subscribed to again with
 * `Supported: eventlist`, and each member's presence arrives as a message of
 * its own (`record` = member, `list` = the list), then each change. Real
 * clocks on both sides (two processes' worth of stack in one): every wait is
 * bounded.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createPresenceB2B, type PresenceB2B } from '../../../src/b2b/create-presence-b2b.js';
import { parseConfig } from '../../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/log/logger.js';
import { presenceOf } from '../../../src/presence/index.js';
import type { StatusMessage, StatusQueue } from '../../../src/qsa/index.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function take(queue: StatusQueue, count: number, timeoutMs = 5000): Promise<StatusMessage[]> {
  const out: StatusMessage[] = [];
  const signal = AbortSignal.timeout(timeoutMs);
  while (out.length < count) {
    const m = await queue.take(signal);
    if (m === undefined) throw new Error(`${out.length} of ${count} message(s) within ${timeoutMs} ms: ${JSON.stringify(out.map(line))}`);
    out.push(m);
  }
  return out;
}

function line(m: StatusMessage): string {
  return `${m.record} ${m.list ?? '-'} ${m.state} ${presenceOf(m)?.tuples[0]?.basic ?? '-'}`;
}

test('a 421 with Require: eventlist, then Supported: eventlist: one message per member, then one per change', async () => {
  const config = parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { enabled: false },
    store: { type: 'memory' },
    log_level: 'silent',
    shutdown: { mode: 'unsubscribe', timeout_ms: 1000 },
    local_agent: { enabled: true, domains: ['example.com'] },
    resource_lists: { 'sip:friends@example.com': { owner: 'sip:bob@example.com', members: ['sip:alice@example.com', 'sip:carol@example.com'] } },
    rls_min_notify_interval: 0,
  });
  const daemon: DaemonHandle = await startDaemon(config, { logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => daemon.close());
  const port = daemon.sip.find((l) => l.transport === 'udp')!.port;
  daemon.localAgent!.publish('sip:alice@example.com', { basic: 'open', note: 'here' });

  const b2b: PresenceB2B = await createPresenceB2B({
    listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
    presenceOutboundProxy: `sip:127.0.0.1:${port}`,
    waitForTermNotify: 1,
  });
  cleanups.push(() => b2b.close(1000));
  const queue = b2b.qsa.createQueue();
  const handle = b2b.qsa.subscribe({ record: 'sip:friends@example.com', subscriber: 'sip:bob@example.com', queue });
  const first = await take(queue, 2);
  assert.deepEqual(first.map(line).sort(), [
    'sip:alice@example.com sip:friends@example.com active open',
    'sip:carol@example.com sip:friends@example.com active -',
  ]);
  assert.ok(first.every((m) => m.subscriptionId === handle.id));
  assert.equal(b2b.engine.stats.responses['4xx'], 1, 'the 421');
  assert.equal(b2b.engine.stats.subscribesSent, 2);

  daemon.localAgent!.publish('sip:carol@example.com', { basic: 'closed', note: 'away' });
  assert.deepEqual((await take(queue, 1)).map(line), ['sip:carol@example.com sip:friends@example.com active closed']);
  assert.equal(b2b.engine.dialogOf(handle.id)?.state, 'active');
});
