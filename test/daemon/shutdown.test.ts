import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, test } from 'node:test';
import { kamailioAddress, kamailioLogPath } from '../support/peers.js';
import { ScriptedSipPeer } from '../support/scripted-peer.js';
import { api, DaemonProcess, testConfig } from './support/daemon-process.js';

const TIMEOUT_MS = 3000;
/** start-command.ts allows shutdown.timeout_ms plus 3 s of slack; a graceful run needs far less. */
const BOUND_MS = TIMEOUT_MS + 3000;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('SIGTERM (mode unsubscribe): every dialog gets SUBSCRIBE Expires: 0, exit 0 within the bound', async () => {
  const peer = await ScriptedSipPeer.start({ transport: 'udp' });
  cleanups.push(() => peer.close());
  const daemon = await DaemonProcess.start(testConfig({ shutdown: { mode: 'unsubscribe', timeout_ms: TIMEOUT_MS } }));
  cleanups.push(() => daemon.kill());
  const records = ['alice', 'carol'].map((u) => `sip:${u}@127.0.0.1:${peer.address.port}`);
  const subscribes = [];
  for (const record of records) {
    assert.equal((await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record, subscriber: 'sip:bob@example.com' })).status, 201);
    const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 10_000 });
    await peer.reply(subscribe, 200, { toTag: `srv-${subscribes.length}`, headers: [['Expires', '3600']] });
    await peer.sendNotify(subscribe.from, { ...peer.notifyOptionsFor(subscribe, `srv-${subscribes.length}`), cseq: 1, branch: `z9hG4bK-t${subscribes.length}` });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });
    subscribes.push(subscribe);
  }

  const exit = daemon.stop('SIGTERM', BOUND_MS + 2000);
  const seen = new Set<string>();
  for (let i = 0; i < subscribes.length; i++) {
    const unsubscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 10_000 });
    assert.equal(unsubscribe.message.headers.get('Expires'), '0');
    const callId = unsubscribe.message.headers.get('Call-ID') ?? '';
    seen.add(callId);
    await peer.reply(unsubscribe, 200, { headers: [['Expires', '0']] });
    const original = subscribes.find((s) => s.message.headers.get('Call-ID') === callId);
    assert.ok(original !== undefined, 'the unSUBSCRIBE is in one of our dialogs');
    const tag = `srv-${subscribes.indexOf(original)}`;
    await peer.sendNotify(original.from, { ...peer.notifyOptionsFor(original, tag), cseq: 2, branch: `z9hG4bK-end${i}`, subscriptionState: 'terminated;reason=timeout', body: '' });
  }
  assert.equal(seen.size, 2);
  const result = await exit;
  assert.equal(result.code, 0, daemon.stderr);
  assert.ok(result.ms < BOUND_MS, `exited after ${Math.round(result.ms)} ms`);
  assert.ok(daemon.lines.some((l) => l.msg === 'stopped'));
});

test('SIGTERM while the daemon starts: kept until it is up, then one clean stop with status 0', async () => {
  // Sent at the daemon's first log line, before its sockets are bound: node's default action would
  // end the process by the signal, half started (a CI run saw it as exit code null).
  const daemon = await DaemonProcess.start(testConfig({ shutdown: { mode: 'leave', timeout_ms: TIMEOUT_MS } }), {
    readyWhen: (l) => l.msg === 'V8 garbage collection',
  });
  cleanups.push(() => daemon.kill());
  const result = await daemon.stop('SIGTERM', BOUND_MS);
  assert.equal(result.code, 0, daemon.stderr);
  assert.equal(result.signal, null);
  assert.ok(daemon.lines.some((l) => l.msg === 'HTTP API listening'), 'the start finished first');
  assert.equal(daemon.lines.filter((l) => l.msg === 'signal received').length, 1);
  assert.equal(daemon.lines.filter((l) => l.msg === 'stopped').length, 1);
});

test('SIGTERM (mode leave): no unSUBSCRIBE, exit 0 at once', async () => {
  const peer = await ScriptedSipPeer.start({ transport: 'udp' });
  cleanups.push(() => peer.close());
  const daemon = await DaemonProcess.start(testConfig({ shutdown: { mode: 'leave', timeout_ms: TIMEOUT_MS } }));
  cleanups.push(() => daemon.kill());
  const record = `sip:alice@127.0.0.1:${peer.address.port}`;
  assert.equal((await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record, subscriber: 'sip:bob@example.com' })).status, 201);
  const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 10_000 });
  await peer.reply(subscribe, 200, { toTag: 'srv', headers: [['Expires', '3600']] });
  await peer.sendNotify(subscribe.from, { ...peer.notifyOptionsFor(subscribe, 'srv'), cseq: 1 });
  await peer.expectResponse({ method: 'NOTIFY', status: 200 });
  const result = await daemon.stop('SIGTERM', BOUND_MS);
  assert.equal(result.code, 0, daemon.stderr);
  assert.ok(result.ms < 2000, `exited after ${Math.round(result.ms)} ms`);
  await peer.expectNothing(300);
});

test('SIGTERM against Kamailio (PB2B_KAMAILIO): the server logs our SUBSCRIBE with Expires 0, exit 0', async () => {
  const kamailio = kamailioAddress(); // throws a clear "peers are not running" error without scripts/with-peers.sh
  const daemon = await DaemonProcess.start(
    testConfig({ presence_outbound_proxy: `sip:${kamailio.host}:${kamailio.port}`, shutdown: { mode: 'unsubscribe', timeout_ms: TIMEOUT_MS } }),
  );
  cleanups.push(() => daemon.kill());
  const record = `sip:user${Math.floor(Math.random() * 90000) + 10000}@example.com`;
  const created = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record, subscriber: 'sip:bob@example.com' });
  assert.equal(created.status, 201);
  const id = (created.json as { id: string }).id;
  const callId = await until('the dialog to be active', async () => {
    const got = (await api(daemon.httpBase, 'GET', `/v1/subscriptions/${id}`)).json as { state: string; dialog?: { state: string; callId?: string } };
    return got.state === 'active' && got.dialog?.state === 'active' ? got.dialog.callId : undefined;
  });
  assert.ok(callId !== undefined);
  const result = await daemon.stop('SIGTERM', BOUND_MS + 2000);
  assert.equal(result.code, 0, daemon.stderr);
  assert.ok(result.ms < BOUND_MS, `exited after ${Math.round(result.ms)} ms`);
  // Kamailio logs every request as "REQ <method> … Expires <value>)" with the Call-ID in the prefix.
  const line = await until('the unSUBSCRIBE in the Kamailio log', async () => {
    const log = await readFile(kamailioLogPath(), 'utf8');
    return log.split('\n').find((l) => l.includes(callId) && /REQ SUBSCRIBE .*Expires 0\)/.test(l));
  }, 3000);
  assert.match(line, /From sip:bob@example\.com/);
});
