/**
 * The daemon with `hep` configured: a subscription made through the HTTP API
 * shows up at a loopback HEP collector (the test's own decoder) as the
 * SUBSCRIBE/NOTIFY exchange of its dialog, with the configured capture id
 * and password.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HepCollector } from '../support/hep-decoder.js';
import { ScriptedSipPeer } from '../support/scripted-peer.js';
import { api, DaemonProcess, testConfig } from './support/daemon-process.js';

let collector: HepCollector;
let peer: ScriptedSipPeer;
let daemon: DaemonProcess;

before(async () => {
  collector = await HepCollector.start();
  peer = await ScriptedSipPeer.start({ transport: 'udp' });
  daemon = await DaemonProcess.start(testConfig({ store: { type: 'memory' }, hep: { address: '127.0.0.1', port: collector.port, capture_id: 4242, password: 'homer-pw' } }));
});
after(async () => {
  daemon?.kill();
  await peer?.close();
  await collector?.close();
});

test('config hep: the SUBSCRIBE, its 200, the NOTIFY and our 200 reach the collector, correlated by Call-ID', async () => {
  const record = `sip:alice@127.0.0.1:${peer.address.port}`;
  const created = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record, subscriber: 'sip:bob@example.com' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 3000 });
  await peer.reply(subscribe, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', `<${peer.uri('alice')}>`]] });
  await peer.sendNotify(subscribe.from, { ...peer.notifyOptionsFor(subscribe, 'srv1'), cseq: 1, subscriptionState: 'active;expires=600' });
  assert.equal((await peer.expectResponse({ method: 'NOTIFY', timeoutMs: 3000 })).message.status, 200);

  const callId = subscribe.message.headers.get('Call-ID');
  const ours = daemon.sipAddress('udp');
  await collector.waitFor('the four messages of the dialog', (packets) => packets.filter((p) => p.correlationId === callId).length >= 4, 5000);
  const exchange = collector.packets.filter((p) => p.correlationId === callId);
  assert.deepEqual(
    exchange.map((p) => `${p.sourcePort}>${p.destinationPort} ${p.payload.slice(0, p.payload.indexOf(' '))}`),
    [`${ours.port}>${peer.address.port} SUBSCRIBE`, `${peer.address.port}>${ours.port} SIP/2.0`, `${peer.address.port}>${ours.port} NOTIFY`, `${ours.port}>${peer.address.port} SIP/2.0`],
  );
  for (const p of exchange) {
    assert.equal(p.captureId, 4242);
    assert.equal(p.authKey, 'homer-pw');
    assert.equal(p.protocolType, 1);
    assert.equal(p.ipProtocol, 17);
  }
  assert.ok(daemon.lines.some((l) => l.msg === 'HEP capture export on'), 'the daemon says that capture is on');
});
