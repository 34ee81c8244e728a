import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createRequest, parseSipMessage, serializeSipMessage, toHeader, topVia } from '../../../src/sip/codec/index.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import type { ResolvedTarget } from '../../../src/sip/resolver/types.js';
import type { IncomingRequest } from '../../../src/sip/transaction/types.js';
import { SipUserAgentCore } from '../../../src/sip/ua/user-agent-core.js';
import { type FakeTransportOptions, flushMicrotasks } from '../../support/fake-transport.js';
import { branchOf, FakeResolver, harness, incomingRequest, recordingUser, responseTo, T1, udpTarget } from './helpers.js';

function uaHarness(table: Record<string, ResolvedTarget[]> = {}, transportOptions: FakeTransportOptions = {}) {
  const h = harness(transportOptions);
  const resolver = new FakeResolver(table);
  const ua = new SipUserAgentCore({ transport: h.transport, resolver, scheduler: h.scheduler, random: h.random });
  return { ...h, resolver, ua };
}

function subscribe(extra: Array<[string, string]> = [], uri = 'sip:bob@example.com'): SipRequest {
  return createRequest({
    method: 'SUBSCRIBE',
    uri,
    headers: [
      ['From', '<sip:alice@example.org>;tag=a1'],
      ['To', '<sip:bob@example.com>'],
      ['Call-ID', 'c1@example.org'],
      ['CSeq', '7 SUBSCRIBE'],
      ['Event', 'presence'],
      ...extra,
    ],
  });
}

test('sendRequest adds Via (sent-by, fresh branch, rport), Max-Forwards 70 and User-Agent, and leaves the caller’s request alone', () => {
  const { ua, transport, clock } = uaHarness();
  const { user } = recordingUser(clock);
  const request = subscribe();
  const handle = ua.sendRequest(request, user, { endpoint: { transport: 'udp', host: '192.0.2.20', port: 5060 } });
  const sent = transport.requests('SUBSCRIBE')[0]!;
  const via = sent.message.headers.get('via')!;
  assert.match(via, /^SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=z9hG4bK[0-9a-z]{16};rport$/);
  assert.equal(branchOf(sent.message), handle.branch);
  assert.equal(sent.message.headers.get('max-forwards'), '70');
  assert.equal(sent.message.headers.get('user-agent'), 'presence-b2b/0.1');
  assert.deepEqual(sent.destination, { transport: 'udp', host: '192.0.2.20', port: 5060 });
  assert.equal(request.headers.has('via'), false);
  assert.equal(request.headers.has('max-forwards'), false);
  // The wire form parses back with our Via on top.
  const reparsed = parseSipMessage(sent.bytes);
  assert.equal(topVia(reparsed).branch, handle.branch);
  assert.equal(topVia(reparsed).rport, true);
});

test('handOver: the same bytes on the wire, with Max-Forwards and User-Agent added to the handed-over request itself (no copy), and the first attempt sends its very headers', () => {
  const sendBoth = (handOver: boolean) => {
    const { ua, transport, clock } = uaHarness();
    const { user } = recordingUser(clock);
    const request = subscribe();
    const handle = ua.sendRequest(request, user, { endpoint: { transport: 'udp', host: '192.0.2.20', port: 5060 }, handOver });
    const bytes = transport.requests('SUBSCRIBE')[0]!.bytes.toString('latin1');
    return { request, branch: handle.branch, wire: bytes.split(handle.branch).join('BRANCH') };
  };
  const copied = sendBoth(false);
  const handed = sendBoth(true);
  assert.equal(handed.wire, copied.wire);
  assert.equal(copied.request.headers.has('max-forwards'), false);
  assert.equal(copied.request.headers.has('via'), false);
  assert.equal(handed.request.headers.get('max-forwards'), '70');
  // Handed over, the request's headers are the first attempt's: no copy of every field per send (issue 11).
  assert.deepEqual(handed.request.headers.getAll('via'), [`SIP/2.0/UDP 127.0.0.1:5060;branch=${handed.branch};rport`]);
});

test('the first attempt sends the base headers themselves: a later attempt starts from a copy without that Via, and what the first sent is unchanged', async () => {
  for (const handOver of [false, true]) {
    const targets = [udpTarget('192.0.2.1'), udpTarget('192.0.2.2')];
    const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': targets });
    const { user, finals } = recordingUser(clock);
    ua.sendRequest(subscribe(), user, { handOver });
    await flushMicrotasks();
    const toFirst = transport.requests()[0]!;
    const firstBytes = Buffer.from(toFirst.bytes);
    transport.receive(responseTo(toFirst.message, 503, 'Service Unavailable'));
    await flushMicrotasks();
    const toSecond = transport.requests()[1]!;
    assert.equal(toSecond.destination.host, '192.0.2.2');
    // One Via, ours, with the second attempt's branch: the first attempt's Via is not carried over.
    const vias = toSecond.message.headers.getAll('via');
    assert.equal(vias.length, 1);
    assert.notEqual(branchOf(toSecond.message), branchOf(toFirst.message));
    assert.deepEqual(parseSipMessage(toSecond.bytes).headers.getAll('via'), vias);
    assert.equal(toFirst.bytes.equals(firstBytes), true);
    // The first attempt's request still reads as it was sent.
    assert.equal(toFirst.message.headers.getAll('via').length, 1);
    assert.equal(branchOf(toFirst.message), topVia(parseSipMessage(firstBytes)).branch);
    transport.receive(responseTo(toSecond.message, 503, 'Overloaded'));
    assert.deepEqual(finals.map((f) => [f.status, f.local]), [[503, false]]);
  }
});

test('an existing Max-Forwards and User-Agent are kept', () => {
  const { ua, transport, clock } = uaHarness();
  const { user } = recordingUser(clock);
  ua.sendRequest(subscribe([['Max-Forwards', '5'], ['User-Agent', 'mine']]), user, { endpoint: { transport: 'udp', host: '192.0.2.20', port: 5060 } });
  const sent = transport.requests()[0]!.message;
  assert.deepEqual(sent.headers.getAll('max-forwards'), ['5']);
  assert.deepEqual(sent.headers.getAll('user-agent'), ['mine']);
});

test('failover on timeout: the second target gets the request with a new branch and the same CSeq (RFC 3263 §4.3)', async () => {
  const first = udpTarget('192.0.2.1');
  const second = udpTarget('192.0.2.2');
  const { ua, transport, clock, resolver } = uaHarness({ 'sip:bob@example.com': [first, second] });
  const { user, finals } = recordingUser(clock);
  const handle = ua.sendRequest(subscribe(), user);
  const firstBranch = handle.branch;
  await flushMicrotasks();
  assert.deepEqual(resolver.resolved, ['sip:bob@example.com']);
  clock.advance(64 * T1);
  assert.deepEqual(resolver.failed, [{ transport: 'udp', host: '192.0.2.1', port: 5060 }]);
  assert.equal(finals.length, 0);
  const toSecond = transport.requests().filter((s) => s.destination.host === '192.0.2.2');
  assert.equal(toSecond.length, 1);
  assert.equal(toSecond[0]!.at, 64 * T1);
  const request = toSecond[0]!.message;
  assert.notEqual(branchOf(request), firstBranch);
  assert.equal(handle.branch, branchOf(request));
  assert.equal(request.headers.get('cseq'), '7 SUBSCRIBE');
  transport.receive(responseTo(request, 200));
  assert.deepEqual(finals, [{ status: 200, reason: 'OK', local: false, at: 64 * T1 }]);
});

test('failover on a 503 from the target and on a transport error; the last final is delivered when targets run out', async () => {
  const targets = [udpTarget('192.0.2.1'), { transport: 'tcp', host: '192.0.2.2', port: 5060, transportExplicit: true } as const, udpTarget('192.0.2.3')];
  const { ua, transport, clock, resolver } = uaHarness({ 'sip:bob@example.com': targets });
  const { user, finals } = recordingUser(clock);
  transport.failSends((_m, d) => d.host === '192.0.2.2');
  ua.sendRequest(subscribe(), user);
  await flushMicrotasks();
  const toFirst = transport.requests()[0]!;
  assert.equal(toFirst.destination.host, '192.0.2.1');
  transport.receive(responseTo(toFirst.message, 503, 'Service Unavailable'));
  await flushMicrotasks();
  const toSecond = transport.requests()[1]!;
  assert.equal(toSecond.destination.transport, 'tcp');
  assert.match(toSecond.message.headers.get('via')!, /^SIP\/2\.0\/TCP /);
  const toThird = transport.requests()[2]!;
  assert.equal(toThird.destination.host, '192.0.2.3');
  const branches = transport.requests().map((s) => branchOf(s.message));
  assert.equal(new Set(branches).size, 3);
  // Each attempt (new target, new branch) is serialized anew, once.
  assert.equal(new Set(transport.requests().map((s) => s.bytes)).size, 3);
  transport.receive(responseTo(toThird.message, 503, 'Overloaded'));
  assert.deepEqual(finals, [{ status: 503, reason: 'Overloaded', local: false, at: 0 }]);
  assert.equal(resolver.failed.length, 3);
});

test('other final responses are not failed over', async () => {
  const { ua, transport, clock, resolver } = uaHarness({ 'sip:bob@example.com': [udpTarget('192.0.2.1'), udpTarget('192.0.2.2')] });
  const { user, finals } = recordingUser(clock);
  ua.sendRequest(subscribe(), user);
  await flushMicrotasks();
  transport.receive(responseTo(transport.requests()[0]!.message, 404));
  assert.deepEqual(finals.map((f) => f.status), [404]);
  assert.equal(resolver.failed.length, 0);
  assert.equal(transport.requests().length, 1);
});

test('resolution failure gives one local 503 naming DNS', async () => {
  const { ua, clock } = uaHarness({});
  const { user, finals } = recordingUser(clock);
  ua.sendRequest(subscribe(), user);
  await flushMicrotasks();
  assert.equal(finals.length, 1);
  assert.equal(finals[0]!.status, 503);
  assert.equal(finals[0]!.local, true);
  assert.match(finals[0]!.reason, /DNS/);
});

test('destination: loose-routing first Route, else the Request-URI; the outbound proxy wins over both', async () => {
  const target = [udpTarget('192.0.2.1')];
  const table = { 'sip:proxy.example.com;lr': target, 'sip:bob@example.com': target, 'sip:obp.example.net': target, 'sip:strict.example.com': target };
  const { ua, clock, resolver } = uaHarness(table);
  const { user } = recordingUser(clock);
  ua.sendRequest(subscribe([['Route', '<sip:proxy.example.com;lr>']]), user);
  ua.sendRequest(subscribe([['Route', '<sip:strict.example.com>']]), user);
  ua.sendRequest(subscribe([['Route', '<sip:proxy.example.com;lr>']]), user, { outboundProxy: 'sip:obp.example.net' });
  await flushMicrotasks();
  assert.deepEqual(resolver.resolved, ['sip:proxy.example.com;lr', 'sip:bob@example.com', 'sip:obp.example.net']);
});

test('a large request over UDP moves to TCP (RFC 3261 §18.1.1) and its Via says so', async () => {
  const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': [udpTarget('192.0.2.1')] });
  const { user } = recordingUser(clock);
  const big = subscribe([['Content-Type', 'text/plain']]);
  big.body = Buffer.alloc(1400, 0x61);
  ua.sendRequest(big, user);
  await flushMicrotasks();
  const sent = transport.requests()[0]!;
  assert.equal(sent.destination.transport, 'tcp');
  assert.match(sent.message.headers.get('via')!, /^SIP\/2\.0\/TCP 127\.0\.0\.1:5060;/);
});

describe('our Contact is written for the transport each attempt uses, as the Via is (RFC 3261 §8.1.1.8, §18.1.1)', () => {
  const listening = [
    { transport: 'udp', host: '127.0.0.1', port: 5060 },
    { transport: 'tcp', host: '127.0.0.1', port: 5070 },
  ] as const;
  const contactAndVia = (s: { message: SipRequest }) => {
    const via = topVia(s.message);
    return { contact: s.message.headers.get('contact'), via: `${via.transport} ${via.host}:${via.port}` };
  };

  test('UDP: in place of the request’s Contact field', async () => {
    const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': [udpTarget('192.0.2.1')] }, { listening: [...listening] });
    ua.sendRequest(subscribe([['Contact', ''], ['Expires', '600']]), recordingUser(clock).user, { contact: { user: 'b2b' } });
    await flushMicrotasks();
    const sent = transport.requests()[0]!;
    assert.deepEqual(contactAndVia(sent), { contact: '<sip:b2b@127.0.0.1:5060>', via: 'UDP 127.0.0.1:5060' });
    const names = [...sent.message.headers].map((f) => f.key);
    assert.equal(names.indexOf('contact') + 1, names.indexOf('expires'), 'the Contact stays where the caller put it');
  });

  test('a target resolved to TCP (e.g. ;transport=tcp or NAPTR): Contact on TCP, appended when the request has none', async () => {
    const tcpTarget: ResolvedTarget = { transport: 'tcp', host: '192.0.2.1', port: 5060, transportExplicit: true };
    const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': [tcpTarget] }, { listening: [...listening] });
    ua.sendRequest(subscribe(), recordingUser(clock).user, { contact: { user: 'b2b' } });
    await flushMicrotasks();
    const sent = transport.requests()[0]!;
    assert.deepEqual(contactAndVia(sent), { contact: '<sip:b2b@127.0.0.1:5070;transport=tcp>', via: 'TCP 127.0.0.1:5070' });
    assert.equal(sent.message.headers.getAll('contact').length, 1);
  });

  test('a request over 1300 octets that moves to TCP: Contact moves with the Via', async () => {
    const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': [udpTarget('192.0.2.1')] }, { listening: [...listening] });
    const big = subscribe([['Contact', '']]);
    big.body = Buffer.alloc(1300, 0x61);
    ua.sendRequest(big, recordingUser(clock).user, { contact: { user: 'b2b' } });
    await flushMicrotasks();
    const sent = transport.requests()[0]!;
    assert.equal(sent.destination.transport, 'tcp');
    assert.deepEqual(contactAndVia(sent), { contact: '<sip:b2b@127.0.0.1:5070;transport=tcp>', via: 'TCP 127.0.0.1:5070' });
  });

  test('failover to a target on another transport writes both again for that attempt', async () => {
    const targets: ResolvedTarget[] = [udpTarget('192.0.2.1'), { transport: 'tcp', host: '192.0.2.2', port: 5060, transportExplicit: true }];
    const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': targets }, { listening: [...listening] });
    ua.sendRequest(subscribe([['Contact', '']]), recordingUser(clock).user, { contact: { user: 'b2b' } });
    await flushMicrotasks();
    transport.receive(responseTo(transport.requests()[0]!.message, 503));
    const [first, second] = transport.requests();
    assert.deepEqual(contactAndVia(first!), { contact: '<sip:b2b@127.0.0.1:5060>', via: 'UDP 127.0.0.1:5060' });
    assert.deepEqual(contactAndVia(second!), { contact: '<sip:b2b@127.0.0.1:5070;transport=tcp>', via: 'TCP 127.0.0.1:5070' });
  });

  test('without the option, a Contact of the caller is left alone', async () => {
    const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': [udpTarget('192.0.2.1')] }, { listening: [...listening] });
    ua.sendRequest(subscribe([['Contact', '<sip:mine@192.0.2.99>']]), recordingUser(clock).user);
    await flushMicrotasks();
    assert.equal(transport.requests()[0]!.message.headers.get('contact'), '<sip:mine@192.0.2.99>');
  });
});

test('abandon(): no more sends, and onFinal is never called', async () => {
  const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': [udpTarget('192.0.2.1')] });
  const { user, finals } = recordingUser(clock);
  const handle = ua.sendRequest(subscribe(), user);
  await flushMicrotasks();
  clock.advance(T1);
  handle.abandon();
  clock.advance(100 * T1);
  assert.equal(transport.requests().length, 2);
  assert.equal(finals.length, 0);
  // Abandoned before resolution completes: nothing is ever sent.
  const early = ua.sendRequest(subscribe(), user);
  early.abandon();
  await flushMicrotasks();
  assert.equal(transport.requests().length, 2);
});

test('stopRetransmitting(): no retransmission and no failover, but a late final still reaches onFinal; before resolution nothing is sent', async () => {
  const { ua, transport, clock } = uaHarness({ 'sip:bob@example.com': [udpTarget('192.0.2.1'), udpTarget('192.0.2.2')] });
  const { user, finals } = recordingUser(clock);
  const handle = ua.sendRequest(subscribe(), user);
  await flushMicrotasks();
  clock.advance(T1);
  handle.stopRetransmitting();
  clock.advance(10 * T1);
  assert.equal(transport.requests().length, 2);
  transport.receive(responseTo(transport.requests()[0]!.message, 200));
  assert.deepEqual(finals.map((f) => f.status), [200]);
  // A 503 after stopRetransmitting: delivered as is, the second target is not tried.
  const other = ua.sendRequest(subscribe([], 'sip:bob@example.com'), user);
  await flushMicrotasks();
  other.stopRetransmitting();
  transport.receive(responseTo(transport.requests()[2]!.message, 503));
  assert.deepEqual(finals.map((f) => f.status), [200, 503]);
  assert.equal(transport.requests().length, 3, 'no failover');
  // Stopped before resolution completes: nothing is ever sent, nobody is called.
  const early = ua.sendRequest(subscribe(), user);
  early.stopRetransmitting();
  await flushMicrotasks();
  clock.advance(100 * T1);
  assert.equal(transport.requests().length, 3);
  assert.equal(finals.length, 2);
});

test('OPTIONS without a handler: 200 with Allow, Accept, Supported and a To tag', () => {
  const { ua, transport } = uaHarness();
  ua.onRequest('NOTIFY', () => {});
  transport.receive(incomingRequest('OPTIONS'));
  const response = transport.responses()[0]!.message;
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('allow'), 'OPTIONS, NOTIFY');
  assert.equal(response.headers.get('accept'), 'application/pidf+xml');
  assert.equal(response.headers.has('supported'), true);
  assert.ok(toHeader(response).tag);
  assert.equal(response.headers.get('server'), 'presence-b2b/0.1');
});

test('a method without a handler gets 405 with Allow (RFC 3261 §21.4.6); ACK is never answered', () => {
  const { ua, transport } = uaHarness();
  ua.onRequest('NOTIFY', () => {});
  transport.receive(incomingRequest('MESSAGE'));
  transport.receive(incomingRequest('ACK', { branch: 'z9hG4bKack' }));
  assert.equal(transport.sent.length, 1);
  const response = transport.responses()[0]!.message;
  assert.equal(response.status, 405);
  assert.equal(response.headers.get('allow'), 'OPTIONS, NOTIFY');
  assert.equal(ua.stats().methodNotAllowed, 1);
});

test('Max-Forwards 0 gets 483 without reaching the handler', () => {
  const { ua, transport } = uaHarness();
  let called = 0;
  ua.onRequest('NOTIFY', () => called++);
  transport.receive(incomingRequest('NOTIFY', { maxForwards: '0' }));
  assert.equal(called, 0);
  assert.equal(transport.responses()[0]!.message.status, 483);
  assert.equal(ua.stats().tooManyHops, 1);
});

test('a Require we do not support gets 420 with Unsupported', () => {
  const { ua, transport } = uaHarness();
  ua.onRequest('NOTIFY', () => {});
  transport.receive(incomingRequest('NOTIFY', { extra: [['Require', 'foo, 100rel']] }));
  const response = transport.responses()[0]!.message;
  assert.equal(response.status, 420);
  assert.equal(response.headers.get('unsupported'), 'foo, 100rel');
});

test('the handler gets the request once; reply adds one To tag, Content-Type and the body', () => {
  const { ua, transport } = uaHarness();
  const got: IncomingRequest[] = [];
  ua.onRequest('NOTIFY', (incoming) => {
    got.push(incoming);
    incoming.reply(100);
    incoming.reply(200, 'OK', [['Expires', '60']], { contentType: 'text/plain', body: 'hi' });
  });
  transport.receive(incomingRequest('NOTIFY'));
  transport.receive(incomingRequest('NOTIFY'));
  assert.equal(got.length, 1);
  const [trying, ok, again] = transport.responses().map((s) => s.message);
  assert.equal(trying!.status, 100);
  assert.equal(toHeader(trying!).tag, undefined);
  assert.equal(ok!.status, 200);
  assert.ok(toHeader(ok!).tag);
  assert.equal(ok!.headers.get('expires'), '60');
  assert.equal(ok!.headers.get('content-type'), 'text/plain');
  assert.equal(Buffer.from(ok!.body).toString(), 'hi');
  assert.deepEqual(serializeSipMessage(again!), serializeSipMessage(ok!), 'the retransmission got the same response, byte for byte');
});

test('2xx replies echo Record-Route (RFC 3261 §12.1.1), errors do not', () => {
  const { ua, transport } = uaHarness();
  ua.onRequest('NOTIFY', (incoming) => incoming.reply(200));
  ua.onRequest('SUBSCRIBE', (incoming) => incoming.reply(489, 'Bad Event'));
  const rr: Array<[string, string]> = [
    ['Record-Route', '<sip:p1.example.com;lr>'],
    ['Record-Route', '<sip:p2.example.com;lr>'],
  ];
  transport.receive(incomingRequest('NOTIFY', { extra: rr }));
  transport.receive(incomingRequest('SUBSCRIBE', { extra: rr }));
  const [ok, bad] = transport.responses().map((s) => s.message);
  assert.deepEqual(ok!.headers.getAll('record-route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>']);
  assert.equal(bad!.headers.has('record-route'), false);
});

test('an existing To tag is kept (in-dialog request)', () => {
  const { ua, transport } = uaHarness();
  ua.onRequest('NOTIFY', (incoming) => incoming.reply(200));
  transport.receive(incomingRequest('NOTIFY', { toTag: 'ours' }));
  assert.equal(toHeader(transport.responses()[0]!.message).tag, 'ours');
});

test('a handler that throws gets a 500, is counted, and crashes nothing; so does a rejected promise', async () => {
  const errors: unknown[] = [];
  const h = harness();
  const ua = new SipUserAgentCore({
    transport: h.transport,
    resolver: new FakeResolver({}),
    scheduler: h.scheduler,
    random: h.random,
    onError: (error) => errors.push(error),
  });
  ua.onRequest('NOTIFY', () => {
    throw new Error('bug');
  });
  ua.onRequest('MESSAGE', async () => {
    throw new Error('async bug');
  });
  h.transport.receive(incomingRequest('NOTIFY'));
  h.transport.receive(incomingRequest('MESSAGE', { branch: 'z9hG4bKmsg' }));
  await flushMicrotasks();
  assert.deepEqual(
    h.transport.responses().map((s) => s.message.status),
    [500, 500],
  );
  assert.equal(ua.stats().handlerErrors, 2);
  assert.equal(errors.length, 2);
});

test('a handler that throws after replying does not get a second final', () => {
  const { ua, transport } = uaHarness();
  ua.onRequest('NOTIFY', (incoming) => {
    incoming.reply(200);
    throw new Error('late bug');
  });
  transport.receive(incomingRequest('NOTIFY'));
  assert.deepEqual(
    transport.responses().map((s) => s.message.status),
    [200],
  );
  assert.equal(ua.stats().handlerErrors, 1);
});

test('CANCEL: 200 when it names a live transaction, 481 otherwise (RFC 3261 §9.2)', () => {
  const { ua, transport } = uaHarness();
  ua.onRequest('NOTIFY', () => {}); // never answers: the transaction stays
  transport.receive(incomingRequest('NOTIFY', { branch: 'z9hG4bKc1' }));
  transport.receive(incomingRequest('CANCEL', { branch: 'z9hG4bKc1' }));
  transport.receive(incomingRequest('CANCEL', { branch: 'z9hG4bKnone' }));
  assert.deepEqual(
    transport.responses().map((s) => s.message.status),
    [200, 481],
  );
});

test('contactUri uses the sent-by of the transport, with ;transport= when not UDP', () => {
  const { ua } = uaHarness();
  assert.equal(ua.contactUri('alice', 'udp'), 'sip:alice@127.0.0.1:5060');
  assert.equal(ua.contactUri('alice', 'tcp'), 'sip:alice@127.0.0.1:5060;transport=tcp');
  assert.equal(ua.contactUri('a b@c', 'udp'), 'sip:a%20b%40c@127.0.0.1:5060');
  assert.throws(() => ua.contactUri('alice', 'tls'));
});

test('close() cancels every timer and closes the transport', async () => {
  const { ua, transport, clock, scheduler } = uaHarness();
  const { user, finals } = recordingUser(clock);
  ua.sendRequest(subscribe(), user, { endpoint: { transport: 'udp', host: '192.0.2.20', port: 5060 } });
  transport.receive(incomingRequest('NOTIFY'));
  await ua.close();
  assert.equal(transport.closed, true);
  assert.equal(scheduler.size, 0);
  clock.advance(100 * T1);
  assert.equal(finals.length, 0);
});
