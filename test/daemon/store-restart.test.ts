/**
 * The daemon's desired state survives a restart: API subscriptions come back
 * with the same ids, creation times and queues, their statuses arrive again,
 * and Server-Sent Events ids continue above those handed out before, so that
 * a consumer resuming with a Last-Event-ID from before the restart gets every
 * message issued since. Also after SIGKILL; and not at all with
 * `store: { type: memory }`.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { api, DaemonProcess, testConfig } from './support/daemon-process.js';
import { SseStream, until } from './support/sse-stream.js';

interface SubscriptionJson {
  id: string;
  record: string;
  subscriber: string;
  queue: string;
  createdAt: string;
  state: string;
  notifier?: string;
}

const dir = mkdtempSync(join(tmpdir(), 'pb2b-restart-'));
const running: DaemonProcess[] = [];
const streams: SseStream[] = [];
after(() => {
  for (const s of streams) s.close();
  for (const d of running) d.kill();
  rmSync(dir, { recursive: true, force: true });
});

function config(store: Record<string, unknown>): Record<string, unknown> {
  return testConfig({ store, local_agent: { enabled: true, domains: ['localhost'] }, log_level: 'info' });
}

async function start(store: Record<string, unknown>): Promise<DaemonProcess> {
  const daemon = await DaemonProcess.start(config(store));
  running.push(daemon);
  return daemon;
}

function stream(daemon: DaemonProcess, queue: string, lastEventId?: number): SseStream {
  const s = new SseStream(`${daemon.httpBase}/v1/queues/${queue}/events`, lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) });
  streams.push(s);
  return s;
}

async function publish(daemon: DaemonProcess, uri: string, basic: 'open' | 'closed', note: string): Promise<void> {
  const put = await api(daemon.httpBase, 'PUT', `/v1/presentities/${encodeURIComponent(uri)}`, { basic, note });
  assert.equal(put.status, 204, JSON.stringify(put.json));
}

async function create(daemon: DaemonProcess, record: string, subscriber: string, queue: string): Promise<SubscriptionJson> {
  const created = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record, subscriber, queue });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created.json as SubscriptionJson;
}

async function list(daemon: DaemonProcess): Promise<SubscriptionJson[]> {
  const got = await api(daemon.httpBase, 'GET', '/v1/subscriptions');
  return (got.json as { subscriptions: SubscriptionJson[] }).subscriptions;
}

function byId(subs: SubscriptionJson[]): Array<[string, string, string, string, string]> {
  return subs.map((s) => [s.id, s.record, s.subscriber, s.queue, s.createdAt] as [string, string, string, string, string]).sort();
}

describe('daemon restart with a SQLite store', () => {
  const file = join(dir, 'state.db');

  test('subscriptions come back with their ids; statuses and event ids continue (SIGTERM, then SIGKILL)', async () => {
    // ---- first run
    const first = await start({ type: 'sqlite', path: file });
    await publish(first, 'sip:alice@localhost', 'open', 'before the restart');
    const aliceBob = await create(first, 'sip:alice@localhost', 'sip:bob@localhost', 'q1');
    const carolBob = await create(first, 'sip:carol@localhost', 'sip:bob@localhost', 'q1');
    const aliceDave = await create(first, 'sip:alice@localhost', 'sip:dave@localhost', 'q2');
    assert.equal(aliceBob.notifier, 'local-presence-agent');
    const q1 = stream(first, 'q1', 0);
    await until('alice open in q1', async () => q1.events.find((e) => e.data.subscriptionId === aliceBob.id && e.data.presence?.tuples[0]?.basic === 'open'));
    await publish(first, 'sip:alice@localhost', 'closed', 'still before');
    await until('alice closed in q1', async () => q1.events.find((e) => e.data.subscriptionId === aliceBob.id && e.data.presence?.tuples[0]?.basic === 'closed'));
    assert.equal((await api(first.httpBase, 'DELETE', `/v1/subscriptions/${carolBob.id}`)).status, 204);
    const lastBefore = Math.max(...q1.events.map((e) => e.id));
    const before = byId(await list(first));
    assert.equal(before.length, 2);
    q1.close();
    assert.equal((await first.stop('SIGTERM')).code, 0);
    assert.ok(existsSync(file), 'the store file was created');

    // ---- second run: same ids, creation times and queues; carol stays deleted
    const second = await start({ type: 'sqlite', path: file });
    const restoredLine = await second.waitForLog((l) => l.msg === 'subscriptions restored');
    assert.equal(restoredLine.subscriptions, 2);
    assert.deepEqual(byId(await list(second)), before);
    // A consumer resuming from before the restart gets what was issued since, with higher ids.
    const resumed = stream(second, 'q1', lastBefore);
    await publish(second, 'sip:alice@localhost', 'open', 'after the restart');
    const after1 = await until('alice open again in q1', async () =>
      resumed.events.find((e) => e.data.subscriptionId === aliceBob.id && e.data.presence?.tuples[0]?.notes[0]?.text === 'after the restart'),
    );
    assert.ok(resumed.events.length >= 1);
    for (const e of resumed.events) assert.ok(e.id > lastBefore, `event id ${e.id} is above ${lastBefore}, the last one before the restart`);
    assert.deepEqual(resumed.gaps, [], 'an id from before the restart is one of ours: no gap');
    // An id beyond every id issued, before or after the restart, is answered with a gap (then what is kept).
    const beyond = stream(second, 'q1', 10 ** 12);
    await until('a gap for an unknown id', async () => beyond.gaps[0]);
    assert.deepEqual(beyond.gaps[0], { lastEventId: 10 ** 12, reason: 'unknown', newestId: Math.max(...resumed.events.map((e) => e.id)) });
    beyond.close();
    assert.ok(resumed.events.every((e) => e.data.subscriptionId === aliceBob.id), 'q1 carries only alice-as-bob (carol was deleted)');
    const statusAgain = await until('alice as dave has a status again', async () => {
      const got = (await api(second.httpBase, 'GET', `/v1/subscriptions/${aliceDave.id}`)).json as SubscriptionJson;
      return got.state === 'none' ? undefined : got;
    });
    assert.equal(statusAgain.state, 'active');
    // A new subscription made now, then a crash: acknowledged means stored.
    const erinBob = await create(second, 'sip:erin@localhost', 'sip:bob@localhost', 'q1');
    const lastSecond = Math.max(after1.id, ...resumed.events.map((e) => e.id));
    resumed.close();
    const killed = await second.stop('SIGKILL');
    assert.equal(killed.signal, 'SIGKILL');

    // ---- third run, after SIGKILL
    const third = await start({ type: 'sqlite', path: file });
    const after3 = byId(await list(third));
    assert.deepEqual(after3, [...before, byId([erinBob])[0]!].sort());
    const resumed3 = stream(third, 'q1', lastSecond);
    await publish(third, 'sip:erin@localhost', 'open', 'after the crash');
    await until('erin open in q1', async () => resumed3.events.find((e) => e.data.subscriptionId === erinBob.id && e.data.presence?.tuples[0]?.basic === 'open'));
    for (const e of resumed3.events) assert.ok(e.id > lastSecond, `event id ${e.id} is above ${lastSecond}, the last one before the crash`);
    assert.equal((await third.stop('SIGTERM')).code, 0);
  });
});

describe('daemon restart with store: { type: memory }', () => {
  test('nothing survives, and no file is written', async () => {
    const first = await start({ type: 'memory' });
    await create(first, 'sip:alice@localhost', 'sip:bob@localhost', 'q1');
    const opened = await first.waitForLog((l) => l.msg === 'store opened');
    assert.equal(opened.store, 'memory');
    assert.equal((await first.stop()).code, 0);
    assert.equal(existsSync(join(first.dir, 'presence-b2b.db')), false);
    const second = await start({ type: 'memory' });
    assert.deepEqual(await list(second), []);
    assert.equal((await second.stop()).code, 0);
  });
});
