/**
 * The local presence agent over real UDP on 127.0.0.1: SipTransportLayer,
 * SipUserAgentCore and Rfc3263Resolver (static host table, no DNS) under the
 * agent; a scripted datagram peer sends PUBLISH and SUBSCRIBE octets and
 * checks the exact answers. Engine time is a ManualClock; every wait is bounded.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalPresenceAgent } from '../../../src/agent/local-presence-agent.js';
import { QsaBroker } from '../../../src/qsa/index.js';
import { StaticDnsClient } from '../../../src/sip/resolver/dns-client.js';
import { Rfc3263Resolver } from '../../../src/sip/resolver/rfc3263-resolver.js';
import { SipTransportLayer } from '../../../src/sip/transport/transport-layer.js';
import { SipUserAgentCore } from '../../../src/sip/ua/user-agent-core.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { ScriptedSipPeer } from '../../support/scripted-peer.js';
import { buildMessage, type HeaderList } from '../../support/sip-fixtures.js';

const PIDF = (basic: 'open' | 'closed') =>
  '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
  '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:alice@example.com">' +
  `<tuple id="dev1"><status><basic>${basic}</basic></status></tuple></presence>\r\n`;

let clock: ManualClock;
let scheduler: TimerScheduler;
let transport: SipTransportLayer;
let ua: SipUserAgentCore;
let agent: LocalPresenceAgent;
let peer: ScriptedSipPeer;
let agentAddress: { address: string; port: number };
let branch = 0;

before(async () => {
  clock = new ManualClock();
  scheduler = new TimerScheduler(clock);
  const random = new SeededRandom(5);
  transport = new SipTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], random });
  await transport.start();
  peer = await ScriptedSipPeer.start({ transport: 'udp' });
  const resolver = new Rfc3263Resolver({ dns: new StaticDnsClient({}), random, clock, hosts: { 'watcher.test': ['127.0.0.1'] } });
  ua = new SipUserAgentCore({ transport, resolver, scheduler, random, userAgentHeader: '' });
  const broker = new QsaBroker({ clock });
  agent = new LocalPresenceAgent({ ua, broker, scheduler, random, domains: ['example.com'] });
  agent.start();
  const udp = transport.listening().find((l) => l.transport === 'udp');
  assert.ok(udp);
  agentAddress = { address: '127.0.0.1', port: udp.port };
});

after(async () => {
  agent.stop();
  await peer.close();
  await ua.close();
  scheduler.close();
});

function request(method: string, uri: string, headers: HeaderList, body?: string, callId = `wire-${branch + 1}`, cseq = 1): Buffer {
  branch += 1;
  return buildMessage(
    `${method} ${uri} SIP/2.0`,
    [
      ['Via', `SIP/2.0/UDP 127.0.0.1:${peer.address.port};branch=z9hG4bKwire${branch}`],
      ['Max-Forwards', '70'],
      ...headers,
      ['Call-ID', callId],
      ['CSeq', `${cseq} ${method}`],
    ],
    body === undefined ? {} : { body, headers: [['Content-Type', 'application/pidf+xml']] },
  );
}

function publish(extra: HeaderList, body?: string, uri = 'sip:alice@example.com'): Buffer {
  return request(
    'PUBLISH',
    uri,
    [['From', `<${uri}>;tag=pub1`], ['To', `<${uri}>`], ['Event', 'presence'], ...extra],
    body,
  );
}

function statusLine(raw: Buffer): string {
  const text = raw.toString('utf8');
  return text.slice(0, text.indexOf('\r\n'));
}

function header(raw: Buffer, name: string): string | undefined {
  const match = new RegExp(`\\r\\n${name}: ([^\\r]*)\\r\\n`, 'i').exec(raw.toString('utf8'));
  return match?.[1];
}

function body(raw: Buffer): string {
  const text = raw.toString('utf8');
  return text.slice(text.indexOf('\r\n\r\n') + 4);
}

test('PUBLISH over UDP: 200 with SIP-ETag, 412 for an unknown SIP-If-Match, 423, 489, 403 for a foreign domain', async () => {
  await peer.sendRaw(publish([['Expires', '600']], PIDF('open')), agentAddress);
  const ok = await peer.expectResponse({ method: 'PUBLISH' });
  assert.equal(statusLine(ok.raw), 'SIP/2.0 200 OK');
  assert.match(header(ok.raw, 'SIP-ETag') ?? '', /^[0-9a-z]{12}$/);
  assert.equal(header(ok.raw, 'Expires'), '600');

  await peer.sendRaw(publish([['Expires', '600'], ['SIP-If-Match', 'unknown']]), agentAddress);
  assert.equal(statusLine((await peer.expectResponse({ method: 'PUBLISH' })).raw), 'SIP/2.0 412 Conditional Request Failed');

  await peer.sendRaw(publish([['Expires', '5']], PIDF('open')), agentAddress);
  const brief = await peer.expectResponse({ method: 'PUBLISH' });
  assert.equal(statusLine(brief.raw), 'SIP/2.0 423 Interval Too Brief');
  assert.equal(header(brief.raw, 'Min-Expires'), '60');

  const noEvent = request('PUBLISH', 'sip:alice@example.com', [['From', '<sip:alice@example.com>;tag=p2'], ['To', '<sip:alice@example.com>']], PIDF('open'));
  await peer.sendRaw(noEvent, agentAddress);
  const bad = await peer.expectResponse({ method: 'PUBLISH' });
  assert.equal(statusLine(bad.raw), 'SIP/2.0 489 Bad Event');
  assert.equal(header(bad.raw, 'Allow-Events'), 'presence');

  await peer.sendRaw(publish([['Expires', '600']], PIDF('open'), 'sip:carol@elsewhere.org'), agentAddress);
  assert.equal(statusLine((await peer.expectResponse({ method: 'PUBLISH' })).raw), 'SIP/2.0 403 Forbidden - domain not served');

  // Remove the publication again for the next test.
  await peer.sendRaw(publish([['Expires', '0'], ['SIP-If-Match', header(ok.raw, 'SIP-ETag')!]]), agentAddress);
  const removed = await peer.expectResponse({ method: 'PUBLISH' });
  assert.equal(statusLine(removed.raw), 'SIP/2.0 200 OK');
  assert.equal(header(removed.raw, 'Expires'), '0');
  assert.deepEqual(agent.presentities(), []);
});

test('SUBSCRIBE over UDP: 200 then NOTIFY active with the PIDF; a PUBLISH makes a NOTIFY; unsubscribe ends with terminated', async () => {
  const watcherContact = `<sip:watcher@watcher.test:${peer.address.port}>`;
  const dialogHeaders: HeaderList = [
    ['From', '<sip:watcher@example.org>;tag=w1'],
    ['To', '<sip:alice@example.com>'],
    ['Event', 'presence'],
    ['Accept', 'application/pidf+xml'],
    ['Contact', watcherContact],
    ['Expires', '600'],
  ];
  await peer.sendRaw(publish([['Expires', '600']], PIDF('open')), agentAddress);
  await peer.expectResponse({ method: 'PUBLISH', status: 200 });

  await peer.sendRaw(request('SUBSCRIBE', 'sip:alice@example.com', dialogHeaders, undefined, 'wire-sub'), agentAddress);
  const ok = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(ok.raw), 'SIP/2.0 200 OK');
  assert.equal(header(ok.raw, 'Expires'), '600');
  assert.equal(header(ok.raw, 'Contact'), `<sip:alice@127.0.0.1:${agentAddress.port}>`);
  const toTag = /;tag=([0-9a-z]+)/.exec(header(ok.raw, 'To') ?? '')?.[1];
  assert.ok(toTag);

  const first = await peer.expectRequest({ method: 'NOTIFY' });
  assert.equal(statusLine(first.raw), `NOTIFY sip:watcher@watcher.test:${peer.address.port} SIP/2.0`);
  assert.equal(header(first.raw, 'Subscription-State'), 'active;expires=600');
  assert.equal(header(first.raw, 'Event'), 'presence');
  assert.equal(header(first.raw, 'CSeq'), '1 NOTIFY');
  assert.equal(header(first.raw, 'From'), `<sip:alice@example.com>;tag=${toTag}`);
  assert.equal(header(first.raw, 'To'), '<sip:watcher@example.org>;tag=w1');
  assert.equal(header(first.raw, 'Content-Type'), 'application/pidf+xml');
  assert.equal(body(first.raw), PIDF('open'));
  await peer.reply(first, 200);

  assert.equal(agent.presentities()[0]?.watchers, 1);
  await peer.sendRaw(publish([['Expires', '600']], PIDF('closed')), agentAddress);
  await peer.expectResponse({ method: 'PUBLISH', status: 200 });
  const change = await peer.expectRequest({ method: 'NOTIFY' });
  assert.equal(header(change.raw, 'CSeq'), '2 NOTIFY');
  assert.match(header(change.raw, 'Subscription-State') ?? '', /^active;expires=\d+$/);
  // Two publications now: the merged document has both tuples.
  assert.equal(body(change.raw).match(/<tuple /g)?.length, 2);
  await peer.reply(change, 200);

  const bye = request(
    'SUBSCRIBE',
    'sip:alice@example.com',
    [
      ['From', '<sip:watcher@example.org>;tag=w1'],
      ['To', `<sip:alice@example.com>;tag=${toTag}`],
      ['Event', 'presence'],
      ['Contact', watcherContact],
      ['Expires', '0'],
    ],
    undefined,
    'wire-sub',
    2,
  );
  await peer.sendRaw(bye, agentAddress);
  const byeOk = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(byeOk.raw), 'SIP/2.0 200 OK');
  assert.equal(header(byeOk.raw, 'Expires'), '0');
  const last = await peer.expectRequest({ method: 'NOTIFY' });
  assert.equal(header(last.raw, 'Subscription-State'), 'terminated;reason=timeout');
  assert.equal(header(last.raw, 'CSeq'), '3 NOTIFY');
  await peer.reply(last, 200);

  // The dialog is gone: a refresh (a new transaction) gets 481.
  const again = request(
    'SUBSCRIBE',
    'sip:alice@example.com',
    [['From', '<sip:watcher@example.org>;tag=w1'], ['To', `<sip:alice@example.com>;tag=${toTag}`], ['Event', 'presence'], ['Expires', '600']],
    undefined,
    'wire-sub',
    3,
  );
  await peer.sendRaw(again, agentAddress);
  const gone = await peer.expectResponse({ method: 'SUBSCRIBE', status: 481 });
  assert.equal(statusLine(gone.raw), 'SIP/2.0 481 Subscription does not exist');
  assert.deepEqual(agent.watchers(), []);
});
