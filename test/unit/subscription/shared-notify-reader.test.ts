/**
 * A stateless package's NotifyReader is shared by its dialogs (issue 11: one
 * object less per held subscription). These tests prove that a dialog which
 * changes its reader (it learns its record is a resource list, from a body, a
 * 2xx or a 421) gets one of its own, and that nothing of it reaches the other
 * dialogs of the package, nor dialogs made afterwards; and that a stateful
 * package (reg: version numbers) still gets a reader per dialog.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { presenceOf } from '../../../src/presence/index.js';
import type { StatusUpdate } from '../../../src/qsa/index.js';
import { regInfoOf } from '../../../src/reginfo/index.js';
import type { SipRequest } from '../../../src/sip/codec/message.js';
import { parseSipMessage } from '../../../src/sip/codec/parser.js';
import { BUILTIN_EVENT_PACKAGES } from '../../../src/subscription/builtin-packages.js';
import type { EventPackage } from '../../../src/subscription/event-package.js';
import { NotifyReader } from '../../../src/subscription/notify-reader.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';
import { engineHarness, SUBSCRIBER } from './engine-harness.js';

const ALICE = 'sip:alice@example.com';
const CAROL = 'sip:carol@example.com';
const FRIENDS = 'sip:friends@example.com';
const PLAIN_ACCEPT = 'application/pidf+xml';
const LIST_ACCEPT = 'multipart/related, application/rlmi+xml, application/pidf+xml';
const PIDF = '<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:carol@example.com"><tuple id="t"><status><basic>open</basic></status></tuple></presence>';

function listFixture(n: number): { contentType: string; body: string } {
  return {
    contentType: fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim(),
    body: fixtureFile('rlmi', `kamailio-notify-${n}.multipart`).toString('latin1'),
  };
}

function pkg(name: string): EventPackage {
  const found = BUILTIN_EVENT_PACKAGES.find((p) => p.name === name);
  assert.ok(found, name);
  return found;
}

function notifyRequest(contentType: string, body: string): SipRequest {
  const head = [
    'NOTIFY sip:b2b@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKshared1',
    'From: <sip:friends@example.com>;tag=a',
    'To: <sip:bob@example.com>;tag=b',
    'Call-ID: shared-reader@example.com',
    'CSeq: 1 NOTIFY',
    'Event: presence',
    'Subscription-State: active;expires=600',
    `Content-Type: ${contentType}`,
    `Content-Length: ${Buffer.byteLength(body, 'latin1')}`,
  ].join('\r\n');
  const message = parseSipMessage(Buffer.from(`${head}\r\n\r\n${body}`, 'latin1'));
  assert.equal(message.kind, 'request');
  return message as SipRequest;
}

const active = (): StatusUpdate => ({ state: 'active' }) as StatusUpdate;

describe('NotifyReader shared by the dialogs of a stateless package', () => {
  test('presence has a shared reader, reg (stateful) has none', () => {
    const shared = NotifyReader.sharedFor(pkg('presence'));
    assert.ok(shared);
    assert.equal(shared.shared, true);
    assert.equal(shared.eventlist, false);
    assert.equal(NotifyReader.sharedFor(pkg('reg')), undefined);
  });

  test('sharing is what the package declares: sharedFor never calls newReader to find out', () => {
    let made = 0;
    const reader = { read: () => ({}) };
    const undeclared: EventPackage = { name: 'x-undeclared', accept: [], newReader: () => {
        made++;
        return reader;
      },
    };
    assert.equal(NotifyReader.sharedFor(undeclared), undefined, 'no sharedReader: a reader per dialog');
    const declared: EventPackage = { ...undeclared, name: 'x-declared', sharedReader: reader };
    assert.ok(NotifyReader.sharedFor(declared)?.shared);
    assert.equal(made, 0);
  });

  test('asEventlist on a shared reader gives a new one and leaves the shared one as it was; on an own one, marks it', () => {
    const shared = NotifyReader.sharedFor(pkg('presence'))!;
    const own = shared.asEventlist();
    assert.notEqual(own, shared);
    assert.equal(own.shared, false);
    assert.equal(own.eventlist, true);
    assert.equal(own.accept(), LIST_ACCEPT);
    assert.equal(shared.eventlist, false);
    assert.equal(shared.accept(), PLAIN_ACCEPT);
    const plain = new NotifyReader(pkg('presence'), false);
    assert.equal(plain.asEventlist(), plain);
    assert.equal(plain.eventlist, true);
  });

  test('a list body read by a shared reader: read by a reader of its own (`own`), the shared one unchanged; a plain body: no `own`', () => {
    const shared = NotifyReader.sharedFor(pkg('presence'))!;
    const { contentType, body } = listFixture(1);
    const reading = shared.read(notifyRequest(contentType, body), active());
    assert.ok(reading.own);
    assert.equal(reading.own.eventlist, true);
    assert.equal(reading.updates.length, 2);
    assert.ok(reading.updates.every((u) => u.list === FRIENDS));
    assert.equal(shared.eventlist, false);
    assert.equal(shared.accept(), PLAIN_ACCEPT);
    // The shared reader holds no list state: a NOTIFY without a body is read as a plain one.
    const after = shared.read(notifyRequest('application/pidf+xml', ''), active());
    assert.equal(after.own, undefined);
    assert.equal(after.updates[0]?.list, undefined);
    const plain = shared.read(notifyRequest('application/pidf+xml', PIDF), active());
    assert.equal(plain.own, undefined);
    assert.equal(plain.updates.length, 1);
    shared.reset();
    assert.equal(shared.read(notifyRequest('application/pidf+xml', PIDF), active()).updates.length, 1);
  });
});

describe('engine: a dialog that becomes a list does not change the other dialogs of its package', () => {
  test('a list body on one dialog: the other dialog and a later one still subscribe and read as plain presence', () => {
    const h = engineHarness();
    h.subscribe(FRIENDS);
    const list = h.ua.take();
    h.subscribe(CAROL);
    const carol = h.ua.take();
    list.accept();
    carol.accept();
    h.ua.notify(list, listFixture(1));
    assert.deepEqual(
      h.statuses().map((m) => `${m.record} ${m.list ?? '-'}`),
      [`${ALICE} ${FRIENDS}`, `sip:carol@example.com ${FRIENDS}`],
    );
    h.ua.notify(carol, { body: PIDF, contentType: 'application/pidf+xml' });
    const status = h.status();
    assert.equal(status.list, undefined);
    assert.equal(presenceOf(status)?.tuples[0]?.basic, 'open');
    h.subscribe(ALICE);
    const later = h.ua.take();
    assert.equal(later.header('Accept'), PLAIN_ACCEPT);
    assert.equal(later.header('Supported'), undefined);
    // The refreshes: the list's says eventlist, Carol's does not.
    h.clock.advance(570_000);
    const byCallId = new Map(h.ua.takeAll('SUBSCRIBE').map((r) => [r.callId, r]));
    assert.ok(byCallId.has(carol.callId));
    assert.equal(byCallId.get(list.callId)?.header('Supported'), 'eventlist');
    assert.equal(byCallId.get(list.callId)?.header('Accept'), LIST_ACCEPT);
    assert.equal(byCallId.get(carol.callId)?.header('Supported'), undefined);
    assert.equal(byCallId.get(carol.callId)?.header('Accept'), PLAIN_ACCEPT);
  });

  test('a 2xx with Require: eventlist, and a 421, on one dialog: the other dialogs stay plain', () => {
    const h = engineHarness();
    h.subscribe(FRIENDS);
    const first = h.ua.take();
    h.subscribe(CAROL);
    const carol = h.ua.take();
    first.accept({ headers: [['Require', 'eventlist']] });
    carol.accept();
    h.subscribe(ALICE);
    const alice = h.ua.take();
    alice.reply(421, { reason: 'Extension Required', headers: [['Require', 'eventlist']] });
    const aliceList = h.ua.take();
    assert.equal(aliceList.header('Supported'), 'eventlist');
    aliceList.accept();
    // A NOTIFY in each dialog (Timer N, RFC 6665 §4.1.2.4).
    h.ua.notify(first, listFixture(1));
    h.ua.notify(carol, { basic: 'open' });
    h.ua.notify(aliceList, listFixture(1));
    h.subscribe(ALICE, 'sip:dave@example.com');
    const dave = h.ua.take();
    assert.equal(dave.header('Supported'), undefined);
    assert.equal(dave.header('Accept'), PLAIN_ACCEPT);
    dave.accept();
    h.ua.notify(dave, { basic: 'open' });
    // Every refresh within the first expiry (bounded: 60 steps of 10 s).
    const refreshes = new Map<string, string | undefined>();
    for (let i = 0; i < 60; i++) {
      h.clock.advance(10_000);
      for (const r of h.ua.takeAll('SUBSCRIBE')) refreshes.set(r.callId, r.header('Supported'));
    }
    assert.ok(refreshes.has(carol.callId) && refreshes.has(dave.callId));
    assert.equal(refreshes.get(dave.callId), undefined);
    assert.equal(refreshes.get(first.callId), 'eventlist');
    assert.equal(refreshes.get(aliceList.callId), 'eventlist');
    assert.equal(refreshes.get(carol.callId), undefined);
  });

  test('reg (stateful): each dialog reads its own versions', () => {
    const h = engineHarness();
    h.broker.subscribe({ package: 'reg', record: ALICE, subscriber: SUBSCRIBER, queue: h.queue });
    const a = h.ua.take();
    h.broker.subscribe({ package: 'reg', record: CAROL, subscriber: SUBSCRIBER, queue: h.queue });
    const c = h.ua.take();
    a.accept();
    c.accept();
    const created = fixtureFileText('reginfo', 'kamailio-1-created.xml');
    const refreshed = fixtureFileText('reginfo', 'kamailio-2-refreshed.xml');
    h.ua.notify(a, { event: 'reg', body: created, contentType: 'application/reginfo+xml' });
    h.ua.notify(a, { event: 'reg', body: refreshed, contentType: 'application/reginfo+xml' });
    assert.equal(h.statuses().filter((m) => m.error !== undefined).length, 0);
    // Version 0 on the other dialog is its first: read, not refused as older than the first dialog's.
    h.ua.notify(c, { event: 'reg', body: created, contentType: 'application/reginfo+xml' });
    const first = h.status();
    assert.equal(first.error, undefined);
    assert.ok(regInfoOf(first));
  });
});

describe('NotifyReader: the body of a datagram is handed on, a stream\'s is copied', () => {
  // Issue 11: an exact-size copy per NOTIFY was one more ArrayBuffer for every scavenge to free
  // (docs/latency-tail.md, "The 20,000/s step after the segments"). A datagram's buffer is its own;
  // a stream framer's is written over by the next reads.
  test('over UDP the update\'s body is the request\'s, over a stream a copy of its own', () => {
    const reader = NotifyReader.sharedFor(pkg('presence'))!;
    const request = notifyRequest('application/pidf+xml', PIDF);
    const fromDatagram = reader.read(request, active(), true).updates[0]!.body!;
    assert.equal(fromDatagram.buffer, request.body.buffer, 'a view of the datagram');
    assert.equal(fromDatagram.byteOffset, request.body.byteOffset);
    assert.equal(Object.getPrototypeOf(fromDatagram), Uint8Array.prototype, 'a plain Uint8Array, as before');
    assert.deepEqual(Buffer.from(fromDatagram), Buffer.from(request.body));
    const fromStream = reader.read(request, active(), false).updates[0]!.body!;
    assert.notEqual(fromStream, request.body);
    assert.equal(fromStream.byteLength, fromStream.buffer.byteLength, 'an exact-size buffer of its own');
    assert.deepEqual(Buffer.from(fromStream), Buffer.from(request.body));
  });
});
