/**
 * The resource list server (RFC 4662) over real UDP on 127.0.0.1, on QSA with
 * the local presence agent answering the members (domain example.com): a
 * scripted datagram peer subscribes to lists and checks the answers and the
 * multipart/RLMI NOTIFYs. Time is a ManualClock (throttling, expiry); every
 * wait for the network is bounded.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LocalPresenceAgent } from '../../../src/agent/local-presence-agent.js';
import { parsePidf } from '../../../src/presence/pidf-parser.js';
import { QsaBroker } from '../../../src/qsa/index.js';
import { ResourceListServer } from '../../../src/rls/index.js';
import { readResourceListBody, ResourceListView } from '../../../src/rlmi/index.js';
import type { ResourceListBody } from '../../../src/rlmi/index.js';
import { StaticDnsClient } from '../../../src/sip/resolver/dns-client.js';
import { Rfc3263Resolver } from '../../../src/sip/resolver/rfc3263-resolver.js';
import { SipTransportLayer } from '../../../src/sip/transport/transport-layer.js';
import { SipUserAgentCore } from '../../../src/sip/ua/user-agent-core.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { type ReceivedRequest, ScriptedSipPeer } from '../../support/scripted-peer.js';
import { buildMessage, type HeaderList } from '../../support/sip-fixtures.js';

let clock: ManualClock;
let scheduler: TimerScheduler;
let transport: SipTransportLayer;
let ua: SipUserAgentCore;
let broker: QsaBroker;
let agent: LocalPresenceAgent;
let rls: ResourceListServer;
let peer: ScriptedSipPeer;
let server: { address: string; port: number };
let counter = 0;

before(async () => {
  clock = new ManualClock();
  scheduler = new TimerScheduler(clock);
  const random = new SeededRandom(15);
  transport = new SipTransportLayer({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], random });
  await transport.start();
  peer = await ScriptedSipPeer.start({ transport: 'udp' });
  const resolver = new Rfc3263Resolver({ dns: new StaticDnsClient({}), random, clock, hosts: { 'watcher.test': ['127.0.0.1'] } });
  ua = new SipUserAgentCore({ transport, resolver, scheduler, random, userAgentHeader: '' });
  broker = new QsaBroker({ clock });
  agent = new LocalPresenceAgent({ ua, broker, scheduler, random, domains: ['example.com'] });
  agent.start();
  rls = new ResourceListServer({
    ua,
    broker,
    scheduler,
    random,
    lists: [
      { uri: 'sip:friends@example.com', owner: 'sip:bob@example.com', members: ['sip:alice@example.com', 'sip:carol@example.com'] },
      { uri: 'sip:everyone@example.com', members: ['sip:alice@example.com', 'sip:family@example.com'] },
      { uri: 'sip:family@example.com', members: ['sip:dave@example.com', 'sip:eve@example.com'] },
    ],
    minNotifyIntervalMs: 1000,
    others: (incoming) => agent.handleSubscribe(incoming),
  });
  rls.start();
  const udp = transport.listening().find((l) => l.transport === 'udp');
  assert.ok(udp);
  server = { address: '127.0.0.1', port: udp.port };
});

after(async () => {
  rls.stop();
  agent.stop();
  await peer.close();
  await ua.close();
  scheduler.close();
});

/** Lets the RLS's queue consumer run (statuses reach it through an async iterator). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function header(raw: Buffer, name: string): string | undefined {
  const match = new RegExp(`\\r\\n${name}: ([^\\r]*)\\r\\n`, 'i').exec(raw.toString('utf8'));
  return match?.[1];
}

function statusLine(raw: Buffer): string {
  const text = raw.toString('utf8');
  return text.slice(0, text.indexOf('\r\n'));
}

interface ListDialog {
  list: string;
  callId: string;
  fromUri: string;
  fromTag: string;
  toTag?: string;
  cseq: number;
}

function subscribe(dialog: ListDialog, extra: HeaderList, expires = 600): Buffer {
  counter += 1;
  const to = dialog.toTag === undefined ? `<${dialog.list}>` : `<${dialog.list}>;tag=${dialog.toTag}`;
  return buildMessage(`SUBSCRIBE ${dialog.list} SIP/2.0`, [
    ['Via', `SIP/2.0/UDP 127.0.0.1:${peer.address.port};branch=z9hG4bKrls${counter}`],
    ['Max-Forwards', '70'],
    ['From', `<${dialog.fromUri}>;tag=${dialog.fromTag}`],
    ['To', to],
    ['Call-ID', dialog.callId],
    ['CSeq', `${dialog.cseq++} SUBSCRIBE`],
    ['Contact', `<sip:watcher@watcher.test:${peer.address.port}>`],
    ['Event', 'presence'],
    ['Expires', String(expires)],
    ...extra,
  ]);
}

const LIST_HEADERS: HeaderList = [
  ['Supported', 'eventlist'],
  ['Accept', 'multipart/related, application/rlmi+xml, application/pidf+xml'],
];

function newDialog(list: string, fromUri = 'sip:bob@example.com'): ListDialog {
  counter += 1;
  return { list, callId: `rls-call-${counter}`, fromUri, fromTag: `w${counter}`, cseq: 1 };
}

/** Subscribes, checks the 200, returns the first NOTIFY (answered 200). */
async function open(dialog: ListDialog, expires = 600): Promise<ReceivedRequest> {
  await peer.sendRaw(subscribe(dialog, LIST_HEADERS, expires), server);
  const ok = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(ok.raw), 'SIP/2.0 200 OK');
  assert.equal(header(ok.raw, 'Require'), 'eventlist');
  assert.equal(header(ok.raw, 'Expires'), String(expires));
  dialog.toTag = /;tag=([^;\s]+)/.exec(header(ok.raw, 'To') ?? '')?.[1];
  assert.ok(dialog.toTag);
  return nextNotify();
}

/**
 * The next NOTIFY, answered 200; returns once the 200 is in (so that moving
 * the clock on does not retransmit the NOTIFY, RFC 3261 Timer E).
 */
async function nextNotify(): Promise<ReceivedRequest> {
  const notify = await peer.expectRequest({ method: 'NOTIFY' });
  const received = transport.stats.received;
  await peer.reply(notify, 200);
  for (let i = 0; i < 200 && transport.stats.received === received; i++) await new Promise<void>((resolve) => setTimeout(resolve, 5));
  assert.ok(transport.stats.received > received, 'the 200 to the NOTIFY arrived');
  return notify;
}

function listBody(notify: ReceivedRequest): ResourceListBody {
  assert.equal(header(notify.raw, 'Require'), 'eventlist');
  const contentType = header(notify.raw, 'Content-Type');
  assert.match(contentType ?? '', /^multipart\/related;.*type="application\/rlmi\+xml"/);
  return readResourceListBody(contentType, notify.message.body);
}

/** uri → "instance state[/basic]" of a list body's top level. */
function summary(body: ResourceListBody): Record<string, string> {
  const out: Record<string, string> = {};
  for (const resource of body.document.resources) {
    const instance = resource.instances[0];
    if (instance === undefined) {
      out[resource.uri] = '-';
      continue;
    }
    const content = body.contents.get(instance);
    let text = instance.state;
    if (instance.reason !== undefined) text += `;${instance.reason}`;
    if (content !== undefined && content.nested === undefined) text += `/${parsePidf(content.body).tuples[0]?.basic}`;
    if (content?.nested !== undefined) text += '/list';
    out[resource.uri] = text;
  }
  return out;
}

async function close(dialog: ListDialog): Promise<ReceivedRequest> {
  await peer.sendRaw(subscribe(dialog, LIST_HEADERS, 0), server);
  const ok = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(ok.raw), 'SIP/2.0 200 OK');
  const last = await nextNotify();
  assert.equal(header(last.raw, 'Subscription-State'), 'terminated;reason=timeout');
  return last;
}

test('421 with Require: eventlist for a subscriber without Supported: eventlist; nothing is subscribed', async () => {
  const before = broker.size;
  await peer.sendRaw(subscribe(newDialog('sip:friends@example.com'), [['Accept', 'multipart/related, application/rlmi+xml']]), server);
  const answer = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(answer.raw), 'SIP/2.0 421 Extension Required');
  assert.equal(header(answer.raw, 'Require'), 'eventlist');
  assert.equal(broker.size, before);
  assert.equal(rls.size, 0);
});

test('403 for a watcher that is not the list’s owner; 489 for another event; a SUBSCRIBE to a member still reaches the agent', async () => {
  const before = broker.size;
  await peer.sendRaw(subscribe(newDialog('sip:friends@example.com', 'sip:mallory@example.com'), LIST_HEADERS), server);
  const forbidden = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(forbidden.raw), 'SIP/2.0 403 Forbidden');
  assert.equal(broker.size, before);

  const dialog = newDialog('sip:friends@example.com');
  const bad = subscribe(dialog, LIST_HEADERS).toString('utf8').replace('Event: presence', 'Event: dialog');
  await peer.sendRaw(bad, server);
  const badEvent = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(badEvent.raw), 'SIP/2.0 489 Bad Event');

  // Not a list: the local agent answers (a plain presence subscription to alice), then it is ended.
  const direct = newDialog('sip:alice@example.com');
  await peer.sendRaw(subscribe(direct, [], 600), server);
  const ok = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(ok.raw), 'SIP/2.0 200 OK');
  assert.equal(header(ok.raw, 'Require'), undefined);
  direct.toTag = /;tag=([^;\s]+)/.exec(header(ok.raw, 'To') ?? '')?.[1];
  await nextNotify();
  await peer.sendRaw(subscribe(direct, [], 0), server);
  await peer.expectResponse({ method: 'SUBSCRIBE', status: 200 });
  await nextNotify();
  assert.deepEqual(agent.watchers(), []);
});

test('full state first, then throttled partial NOTIFYs with only what changed, full state on refresh, and nothing left after unsubscribe', async () => {
  agent.publish('sip:alice@example.com', { basic: 'open', note: 'here' });
  const before = broker.size;
  const dialog = newDialog('sip:friends@example.com');
  const first = await open(dialog);
  assert.match(header(first.raw, 'Subscription-State') ?? '', /^active;expires=600$/);
  const full = listBody(first);
  assert.equal(full.document.uri, 'sip:friends@example.com');
  assert.equal(full.document.version, 0);
  assert.equal(full.document.fullState, true);
  // carol has not published: her subscription is active, without a document.
  assert.deepEqual(summary(full), { 'sip:alice@example.com': 'active/open', 'sip:carol@example.com': 'active' });
  assert.equal(broker.size, before + 2, 'one internal subscription per member');
  assert.equal(rls.stats.memberSubscriptions, 2);

  // A change less than 1 s after the last NOTIFY waits for the interval; a second change joins it.
  clock.advance(400);
  agent.publish('sip:alice@example.com', { basic: 'closed' });
  await settle();
  await peer.expectNothing(150);
  agent.publish('sip:carol@example.com', { basic: 'open' });
  await settle();
  clock.advance(599);
  await peer.expectNothing(150);
  clock.advance(1);
  const partial = listBody(await nextNotify());
  assert.equal(partial.document.version, 1);
  assert.equal(partial.document.fullState, false);
  assert.deepEqual(summary(partial), { 'sip:alice@example.com': 'active/closed', 'sip:carol@example.com': 'active/open' });

  // One change: a partial NOTIFY with that resource only, again not before the interval.
  agent.publish('sip:carol@example.com', { basic: 'closed' });
  await settle();
  await peer.expectNothing(100);
  clock.advance(1000);
  const one = listBody(await nextNotify());
  assert.equal(one.document.version, 2);
  assert.deepEqual(summary(one), { 'sip:carol@example.com': 'active/closed' });

  // A change long after the last NOTIFY goes at once.
  clock.advance(5000);
  agent.publish('sip:alice@example.com', { basic: 'open' });
  await settle();
  const prompt = listBody(await nextNotify());
  assert.equal(prompt.document.version, 3);
  assert.deepEqual(summary(prompt), { 'sip:alice@example.com': 'active/open' });

  // A refresh answers with full state at once (RFC 4662 §5.2), whatever the interval.
  await peer.sendRaw(subscribe(dialog, LIST_HEADERS, 600), server);
  const refreshed = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(refreshed.raw), 'SIP/2.0 200 OK');
  assert.equal(header(refreshed.raw, 'Require'), 'eventlist');
  const again = listBody(await nextNotify());
  assert.equal(again.document.version, 4);
  assert.equal(again.document.fullState, true);
  assert.deepEqual(summary(again), { 'sip:alice@example.com': 'active/open', 'sip:carol@example.com': 'active/closed' });

  // Unsubscribe: a terminated NOTIFY, and every internal subscription is gone.
  const last = await close(dialog);
  assert.equal(header(last.raw, 'Require'), 'eventlist');
  assert.equal(broker.size, before);
  assert.equal(rls.stats.memberSubscriptions, 0);
  assert.equal(rls.size, 0);
  assert.deepEqual(agent.watchers(), []);
  // A change now reaches nobody.
  agent.publish('sip:alice@example.com', { basic: 'closed' });
  await settle();
  clock.advance(2000);
  await peer.expectNothing(150);
  agent.unpublish('sip:alice@example.com');
  agent.unpublish('sip:carol@example.com');
});

test('a nested list is a part of its own with its own RLMI; a member’s change reaches it as a partial nested document', async () => {
  agent.publish('sip:dave@example.com', { basic: 'open' });
  const before = broker.size;
  const dialog = newDialog('sip:everyone@example.com', 'sip:zoe@example.com');
  const firstNotify = await open(dialog);
  const first = listBody(firstNotify);
  assert.deepEqual(summary(first), { 'sip:alice@example.com': 'active', 'sip:family@example.com': 'active/list' });
  const familyInstance = first.document.resources[1]!.instances[0]!;
  const nested = first.contents.get(familyInstance)?.nested;
  assert.ok(nested, 'the nested list is a multipart/related part');
  assert.equal(nested.document.uri, 'sip:family@example.com');
  assert.equal(nested.document.version, 0);
  assert.equal(nested.document.fullState, true);
  assert.deepEqual(summary(nested), { 'sip:dave@example.com': 'active/open', 'sip:eve@example.com': 'active' });
  // alice, dave and eve: one internal subscription each (as zoe); the nested list itself is none.
  assert.equal(broker.size, before + 3);
  assert.deepEqual(
    [...broker.subscriptions()].slice(-3).map((s) => `${s.record} as ${s.subscriber}`),
    ['sip:alice@example.com as sip:zoe@example.com', 'sip:dave@example.com as sip:zoe@example.com', 'sip:eve@example.com as sip:zoe@example.com'],
  );

  // A subscriber's view of it (ResourceListView) has the nested members as resources of their own.
  const view = new ResourceListView();
  const applied = view.apply(header(firstNotify.raw, 'Content-Type'), firstNotify.message.body);
  assert.equal(applied.applied, true);
  assert.deepEqual(
    view.snapshot().resources.map((r) => `${r.list} ${r.uri}`),
    [
      'sip:everyone@example.com sip:alice@example.com',
      'sip:everyone@example.com sip:family@example.com',
      'sip:family@example.com sip:dave@example.com',
      'sip:family@example.com sip:eve@example.com',
    ],
  );

  clock.advance(1000);
  agent.publish('sip:eve@example.com', { basic: 'closed' });
  await settle();
  const partial = listBody(await nextNotify());
  assert.equal(partial.document.fullState, false);
  assert.deepEqual(summary(partial), { 'sip:family@example.com': 'active/list' });
  const inner = partial.contents.get(partial.document.resources[0]!.instances[0]!)?.nested;
  assert.ok(inner);
  assert.equal(inner.document.version, 1);
  assert.equal(inner.document.fullState, false);
  assert.deepEqual(summary(inner), { 'sip:eve@example.com': 'active/closed' });

  await close(dialog);
  assert.equal(broker.size, before);
  agent.unpublish('sip:dave@example.com');
  agent.unpublish('sip:eve@example.com');
});

test('a subscription that expires ends every internal subscription (clock), with a terminated NOTIFY', async () => {
  const before = broker.size;
  const dialog = newDialog('sip:friends@example.com');
  await open(dialog, 120);
  assert.equal(broker.size, before + 2);
  clock.advance(120_000);
  const last = await nextNotify();
  assert.equal(header(last.raw, 'Subscription-State'), 'terminated;reason=timeout');
  assert.equal(broker.size, before);
  assert.equal(rls.stats.memberSubscriptions, 0);
  assert.equal(rls.stats.subscriptionsExpired, 1);
  // The dialog is gone: a refresh gets 481.
  await peer.sendRaw(subscribe(dialog, LIST_HEADERS, 600), server);
  const gone = await peer.expectResponse({ method: 'SUBSCRIBE' });
  assert.equal(statusLine(gone.raw), 'SIP/2.0 481 Subscription does not exist');
});
