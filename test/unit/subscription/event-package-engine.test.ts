/**
 * The engine with the reg, dialog and resource list readers, over a
 * FakeUserAgent: the SUBSCRIBE headers of each package, NOTIFYs turned into
 * status messages, the resync on a version gap (an in-dialog refresh for reg
 * and dialog, a new subscription for a list), and how a record becomes a list.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DialogInfoState, dialogInfoOf } from '../../../src/dialoginfo/index.js';
import { presenceOf } from '../../../src/presence/index.js';
import type { StatusMessage } from '../../../src/qsa/index.js';
import { type RegInfoState, regInfoOf } from '../../../src/reginfo/index.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';
import { engineHarness, SUBSCRIBER } from './engine-harness.js';

const ALICE = 'sip:alice@example.com';
const FRIENDS = 'sip:friends@example.com';
const REGINFO = 'application/reginfo+xml';

function regFixture(name: string): string {
  return fixtureFileText('reginfo', `kamailio-${name}.xml`);
}

function listFixture(n: number): { contentType: string; body: string } {
  return {
    contentType: fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim(),
    body: fixtureFile('rlmi', `kamailio-notify-${n}.multipart`).toString('latin1'),
  };
}

function member(m: StatusMessage): string {
  return `${m.record} ${m.list ?? '-'} ${m.state} ${presenceOf(m)?.tuples[0]?.basic ?? '-'}${m.error ? ` ${m.error.code}` : ''}`;
}

describe('reg package', () => {
  test('Event: reg, Accept reginfo; each NOTIFY gives the complete view; the B2BUA is the notifier', () => {
    const h = engineHarness();
    const handle = h.broker.subscribe({ package: 'reg', record: ALICE, subscriber: SUBSCRIBER, queue: h.queue });
    assert.equal(handle.notifierName, 'presence-b2b');
    const sub = h.ua.take();
    assert.equal(sub.header('Event'), 'reg');
    assert.equal(sub.header('Accept'), REGINFO);
    assert.equal(sub.header('Supported'), undefined);
    sub.accept();
    h.ua.notify(sub, { event: 'reg', body: '' });
    const first = h.status();
    assert.deepEqual(regInfoOf(first)?.registrations, [], 'no body: nobody registered');
    h.ua.notify(sub, { event: 'reg', body: regFixture('1-created'), contentType: REGINFO });
    const created = h.status();
    assert.equal(created.state, 'active');
    assert.equal(created.contentType, REGINFO);
    const view = regInfoOf(created) as RegInfoState;
    assert.deepEqual(
      view.registrations.map((r) => [r.aor, r.state, r.contacts.map((c) => `${c.uri} ${c.state} ${c.event} ${c.expires}`)]),
      [[ALICE, 'active', ['sip:alice@127.0.0.1:5090 active created 60']]],
    );
    assert.equal(presenceOf(created), undefined, 'not a presence message');
    h.unsubscribe(handle);
    h.ua.take().accept();
  });

  test('a partial document after a gap: an error message with the raw body, and an in-dialog refresh for full state (not sooner than 2 s after the last SUBSCRIBE)', () => {
    const h = engineHarness();
    h.broker.subscribe({ package: 'reg', record: ALICE, subscriber: SUBSCRIBER, queue: h.queue });
    const sub = h.ua.take();
    sub.accept();
    const doc = (version: number, state: string, id: string) =>
      `<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="${version}" state="${state}"><registration aor="${ALICE}" id="r" state="active">` +
      `<contact id="${id}" state="active" event="registered"><uri>sip:${id}@192.0.2.1</uri></contact></registration></reginfo>`;
    h.ua.notify(sub, { event: 'reg', body: doc(1, 'full', 'a'), contentType: REGINFO });
    h.status();
    h.clock.advance(1000);
    const gapBody = doc(3, 'partial', 'b');
    h.ua.notify(sub, { event: 'reg', body: gapBody, contentType: REGINFO });
    const gap = h.status();
    assert.equal(gap.error?.code, 'REGINFO_ERR_VERSION');
    assert.equal(Buffer.from(gap.body!).toString(), gapBody);
    assert.deepEqual(regInfoOf(gap)?.registrations[0]?.contacts.map((c) => c.uri), ['sip:a@192.0.2.1'], 'the view as it was');
    h.assertQuiet();
    h.clock.advance(1000);
    const refresh = h.ua.take();
    assert.equal(refresh.callId, sub.callId, 'in the dialog');
    assert.equal(refresh.cseq, 2);
    assert.equal(refresh.header('Event'), 'reg');
    refresh.accept();
    h.ua.notify(sub, { event: 'reg', body: doc(9, 'full', 'b'), contentType: REGINFO });
    const full = regInfoOf(h.status()) as RegInfoState;
    assert.deepEqual(full.registrations[0]?.contacts.map((c) => c.uri), ['sip:b@192.0.2.1']);
    assert.deepEqual(full.changes.contacts.removed.map((c) => c.contact.uri), ['sip:a@192.0.2.1']);
    h.clock.advance(100_000);
    h.assertQuiet();
  });
});

describe('dialog package', () => {
  test('Kamailio’s call, with the Trying and early NOTIFYs crossed: the late one (lower CSeq) is refused, nothing else changes', () => {
    const h = engineHarness();
    h.broker.subscribe({ package: 'dialog', record: ALICE, subscriber: 'sip:carol@example.com', queue: h.queue });
    const sub = h.ua.take();
    assert.equal(sub.header('Event'), 'dialog');
    assert.equal(sub.header('Accept'), 'application/dialog-info+xml');
    sub.accept();
    h.ua.notify(sub, { event: 'dialog', body: '' });
    const notify = (name: string, cseq: number) =>
      h.ua.notify(sub, { event: 'dialog', cseq, body: fixtureFileText('dialoginfo', `kamailio-${name}.xml`), contentType: 'application/dialog-info+xml' });
    notify('2-early', 3);
    assert.equal(notify('1-trying', 2)?.status, 500, 'RFC 3261 §12.2.2: out of order');
    notify('3-confirmed', 4);
    notify('4-terminated', 5);
    const lamp = (m: StatusMessage) => {
      const info = dialogInfoOf(m) as DialogInfoState;
      return [...info.dialogs.map((d) => `${d.state} ${d.direction} ${d.remote?.identity?.uri}`), ...info.changes.removed.map((d) => `ended ${d.state}`)].join(', ') + (m.error ? ` ${m.error.code}` : '');
    };
    assert.deepEqual(h.statuses().map(lamp), [
      '',
      'early recipient sip:bob@example.com',
      'confirmed recipient sip:bob@example.com',
      'ended terminated',
    ]);
    h.assertQuiet();
  });
});

describe('resource lists', () => {
  test('a configured list: Supported: eventlist, the list types in Accept; one message per member, `list` set', () => {
    const h = engineHarness({}, { resourceListRecords: [FRIENDS] });
    const handle = h.subscribe(FRIENDS);
    const sub = h.ua.take();
    assert.equal(sub.header('Event'), 'presence');
    assert.equal(sub.header('Supported'), 'eventlist');
    assert.equal(sub.header('Accept'), 'multipart/related, application/rlmi+xml, application/pidf+xml');
    sub.accept({ headers: [['Require', 'eventlist']] });
    for (const n of [1, 2, 3]) h.ua.notify(sub, { ...listFixture(n), headers: [['Require', 'eventlist']] });
    const messages = h.statuses();
    assert.deepEqual(messages.map(member), [
      `sip:alice@example.com ${FRIENDS} pending -`,
      `sip:carol@example.com ${FRIENDS} pending -`,
      `sip:alice@example.com ${FRIENDS} active open`,
      `sip:carol@example.com ${FRIENDS} active closed`,
      `sip:alice@example.com ${FRIENDS} active closed`,
    ]);
    assert.ok(messages.every((m) => m.subscriptionId === handle.id && m.package === 'presence'));
    assert.equal(messages[2]!.contentType, 'application/pidf+xml');

    // An identical subscription joins the dialog and learns every member's state at once.
    h.subscribe(FRIENDS);
    assert.deepEqual(h.statuses().map(member), [`sip:alice@example.com ${FRIENDS} active closed`, `sip:carol@example.com ${FRIENDS} active closed`]);
    // The refresh says eventlist again.
    h.clock.advance(570_000);
    const refresh = h.ua.take();
    assert.equal(refresh.header('Supported'), 'eventlist');
    refresh.accept();
  });

  test('a version gap: a new subscription (Kamailio’s RLS sends nothing after a refresh); the old dialog gets Expires: 0', () => {
    const h = engineHarness({}, { resourceListRecords: [FRIENDS] });
    h.subscribe(FRIENDS);
    const sub = h.ua.take();
    sub.accept();
    h.ua.notify(sub, listFixture(1));
    h.ua.notify(sub, listFixture(2));
    h.statuses();
    h.clock.advance(5000);
    h.ua.notify(sub, listFixture(5)); // version 5 after 2
    const gap = h.status();
    assert.equal(gap.record, FRIENDS);
    assert.equal(gap.list, undefined);
    assert.equal(gap.error?.code, 'RLMI_ERR_VERSION');
    const bye = h.ua.take();
    assert.equal(bye.callId, sub.callId);
    assert.equal(bye.expires, 0);
    bye.accept();
    h.clock.advance(1000);
    const again = h.ua.take();
    assert.notEqual(again.callId, sub.callId, 'a new dialog');
    assert.equal(again.header('Supported'), 'eventlist');
    again.accept();
    // A NOTIFY of the old dialog no longer matches.
    assert.equal(h.ua.notify(sub, listFixture(3))?.status, 481);
    h.ua.notify(again, listFixture(1));
    assert.deepEqual(h.statuses().map(member), [`sip:alice@example.com ${FRIENDS} pending -`, `sip:carol@example.com ${FRIENDS} pending -`]);
  });

  test('a record becomes a list: after a 421 with Require: eventlist (at once), or a 2xx with it (the refreshes say so)', () => {
    const h = engineHarness();
    h.subscribe(FRIENDS);
    const plain = h.ua.take();
    assert.equal(plain.header('Supported'), undefined);
    plain.reply(421, { reason: 'Extension Required', headers: [['Require', 'eventlist']] });
    const listSub = h.ua.take();
    assert.notEqual(listSub.callId, plain.callId);
    assert.equal(listSub.header('Supported'), 'eventlist');
    assert.equal(listSub.request.uri, FRIENDS);
    listSub.accept();
    h.assertQuiet();

    const g = engineHarness();
    g.subscribe(FRIENDS);
    const first = g.ua.take();
    assert.equal(first.header('Supported'), undefined);
    first.accept({ headers: [['Require', 'eventlist']] });
    g.ua.notify(first, listFixture(1));
    assert.equal(g.statuses().length, 2);
    g.clock.advance(570_000);
    assert.equal(g.ua.take().header('Supported'), 'eventlist');
  });

  test('a list body on a presence subscription nobody said was a list is read as one; the list ending is a message of its own', () => {
    const h = engineHarness();
    h.subscribe(FRIENDS);
    const sub = h.ua.take();
    sub.accept();
    h.ua.notify(sub, listFixture(1));
    assert.deepEqual(h.statuses().map(member), [`sip:alice@example.com ${FRIENDS} pending -`, `sip:carol@example.com ${FRIENDS} pending -`]);
    h.ua.notify(sub, { state: 'terminated;reason=deactivated', body: '' });
    const end = h.status();
    assert.deepEqual([end.record, end.list, end.state, end.reason], [FRIENDS, undefined, 'terminated', 'deactivated']);
  });
});
