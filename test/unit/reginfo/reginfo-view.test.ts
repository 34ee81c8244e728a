import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type RegInfoApplyResult, type RegInfoContact, RegInfoView } from '../../../src/reginfo/index.js';
import { fixtureFile } from '../../support/fixture-files.js';

const NS = 'urn:ietf:params:xml:ns:reginfo';

/** A compact reginfo body: registrations as [id, state, contacts as [id, state, event?, uri?]]. */
function body(version: number, state: 'full' | 'partial', registrations: [string, string, [string, string, string?][]][]): string {
  let out = `<reginfo xmlns="${NS}" version="${version}" state="${state}">`;
  for (const [id, regState, contacts] of registrations) {
    out += `<registration aor="sip:${id}@example.com" id="${id}" state="${regState}">`;
    for (const [cid, cState, event] of contacts) {
      out += `<contact id="${cid}" state="${cState}"${event !== undefined ? ` event="${event}"` : ''}><uri>sip:${cid}@192.0.2.1</uri></contact>`;
    }
    out += '</registration>';
  }
  return out + '</reginfo>';
}

function contactIds(result: RegInfoApplyResult, kind: 'added' | 'updated' | 'removed'): string[] {
  return result.changes.contacts[kind].map((change) => `${change.registrationId}/${change.contact.id}`);
}

function viewOf(result: RegInfoApplyResult): string[] {
  return result.view.registrations.map(
    (r) => `${r.id}:${r.state}[${r.contacts.map((c: RegInfoContact) => `${c.id}=${c.state}/${c.event}`).join(',')}]`,
  );
}

test('the Kamailio 5.6 flow: REGISTER, refresh, second contact, unREGISTER, expiry, all version 0 full state', () => {
  const view = new RegInfoView();
  const created = view.apply(fixtureFile('reginfo', 'kamailio-1-created.xml'));
  assert.equal(created.applied, true);
  assert.equal(created.resync, false);
  assert.equal(created.error, undefined);
  assert.equal(created.changes.registrations.added.length, 1);
  assert.deepEqual(contactIds(created, 'added'), ['0x7fc22f135c28/0x7fc22f135d40']);
  assert.equal(created.changes.contacts.added[0]!.aor, 'sip:alice@example.com');
  assert.deepEqual(viewOf(created), ['0x7fc22f135c28:active[0x7fc22f135d40=active/created]']);
  assert.equal(created.view.version, 0);

  const refreshed = view.apply(fixtureFile('reginfo', 'kamailio-2-refreshed.xml'));
  assert.equal(refreshed.applied, true, 'the same version 0 in full state is applied');
  assert.deepEqual(contactIds(refreshed, 'updated'), ['0x7fc22f135c28/0x7fc22f135d40']);
  assert.equal(refreshed.changes.contacts.updated[0]!.contact.event, 'refreshed');
  assert.deepEqual(refreshed.changes.registrations.updated, []);

  const second = view.apply(fixtureFile('reginfo', 'kamailio-3-second-contact.xml'));
  assert.deepEqual(contactIds(second, 'added'), ['0x7fc22f135c28/0x7fc22f13e7f0']);
  assert.deepEqual(contactIds(second, 'updated'), ['0x7fc22f135c28/0x7fc22f135d40']);

  const unregistered = view.apply(fixtureFile('reginfo', 'kamailio-4-unregistered.xml'));
  assert.deepEqual(contactIds(unregistered, 'removed'), ['0x7fc22f135c28/0x7fc22f135d40']);
  const removed = unregistered.changes.contacts.removed[0]!.contact;
  assert.equal(removed.state, 'terminated');
  assert.equal(removed.event, 'unregistered');
  assert.equal(removed.uri, 'sip:alice@127.0.0.1:5090');
  assert.deepEqual(viewOf(unregistered), ['0x7fc22f135c28:active[0x7fc22f13e7f0=active/registered]']);

  const expired = view.apply(fixtureFile('reginfo', 'kamailio-5-expired.xml'));
  assert.equal(expired.changes.registrations.updated.length, 1);
  assert.equal(expired.changes.registrations.updated[0]!.state, 'terminated');
  assert.deepEqual(contactIds(expired, 'removed'), ['0x7fc22f135c28/0x7fc22f13e7f0']);
  const left = expired.changes.contacts.removed[0]!.contact;
  assert.equal(left.state, 'terminated', 'a contact left out of full state is reported terminated');
  assert.equal(left.event, undefined, 'with no event: the notifier did not say why');
  assert.deepEqual(viewOf(expired), ['0x7fc22f135c28:terminated[]']);

  // The unSUBSCRIBE's NOTIFY repeats the last document: applied, nothing changes.
  const again = view.apply(fixtureFile('reginfo', 'kamailio-5-expired.xml'));
  assert.equal(again.applied, true);
  assert.deepEqual(again.changes, {
    registrations: { added: [], updated: [], removed: [] },
    contacts: { added: [], updated: [], removed: [] },
  });
});

test('an empty body (Kamailio before any REGISTER) changes nothing and is no error', () => {
  const view = new RegInfoView();
  for (const empty of ['', new Uint8Array(0), ' \r\n', Buffer.from('\n')]) {
    const result = view.apply(empty);
    assert.equal(result.applied, false);
    assert.equal(result.resync, false);
    assert.equal(result.error, undefined);
  }
  assert.equal(view.awaitingFullState, true);
});

test('partial state merges by registration id and contact id (RFC 3680 §5.2)', () => {
  const view = new RegInfoView();
  view.apply(
    body(0, 'full', [
      ['r1', 'active', [
        ['c1', 'active', 'registered'],
        ['c2', 'active', 'registered'],
      ]],
    ]),
  );
  const p1 = view.apply(body(1, 'partial', [['r1', 'active', [['c1', 'terminated', 'expired'], ['c3', 'active', 'created']]]]));
  assert.equal(p1.applied, true);
  assert.deepEqual(contactIds(p1, 'removed'), ['r1/c1']);
  assert.equal(p1.changes.contacts.removed[0]!.contact.event, 'expired');
  assert.deepEqual(contactIds(p1, 'added'), ['r1/c3']);
  assert.deepEqual(viewOf(p1), ['r1:active[c2=active/registered,c3=active/created]']);

  const p2 = view.apply(body(2, 'partial', [['r2', 'init', []]]));
  assert.equal(p2.changes.registrations.added[0]!.id, 'r2');
  assert.deepEqual(viewOf(p2), ['r1:active[c2=active/registered,c3=active/created]', 'r2:init[]']);

  // A terminated contact never seen before is not reported; a registration's state alone can change.
  const p3 = view.apply(body(3, 'partial', [['r2', 'active', [['c9', 'terminated', 'rejected']]]]));
  assert.deepEqual(contactIds(p3, 'removed'), []);
  assert.deepEqual(p3.changes.registrations.updated.map((r) => `${r.id}:${r.state}`), ['r2:active']);
  assert.deepEqual(viewOf(p3), ['r1:active[c2=active/registered,c3=active/created]', 'r2:active[]']);

  // Full state replaces everything: r2 disappears with it.
  const full = view.apply(body(4, 'full', [['r1', 'active', [['c2', 'active', 'refreshed']]]]));
  assert.deepEqual(full.changes.registrations.removed.map((r) => r.id), ['r2']);
  assert.deepEqual(contactIds(full, 'removed'), ['r1/c3']);
  assert.deepEqual(contactIds(full, 'updated'), ['r1/c2']);
  assert.deepEqual(viewOf(full), ['r1:active[c2=active/refreshed]']);
});

test('a removed registration is reported with its contacts, all terminated', () => {
  const view = new RegInfoView();
  view.apply(body(0, 'full', [['r1', 'active', [['c1', 'active', 'registered']]], ['r2', 'active', []]]));
  const result = view.apply(body(1, 'full', [['r2', 'active', []]]));
  assert.deepEqual(result.changes.registrations.removed.map((r) => r.contacts.map((c) => `${c.id}:${c.state}`)), [['c1:terminated']]);
  assert.deepEqual(contactIds(result, 'removed'), ['r1/c1']);
});

test('the previous view is never modified by a later document', () => {
  const view = new RegInfoView();
  const first = view.apply(body(0, 'full', [['r1', 'active', [['c1', 'active', 'registered']]]]));
  view.apply(body(1, 'partial', [['r1', 'terminated', [['c1', 'terminated', 'deactivated']]]]));
  assert.deepEqual(viewOf(first), ['r1:active[c1=active/registered]']);
});

test('version ordering: a partial document first, a gap, not newer: resync and nothing applied', () => {
  const view = new RegInfoView();
  const first = view.apply(body(3, 'partial', [['r1', 'active', [['c1', 'active', 'created']]]]));
  assert.equal(first.applied, false);
  assert.equal(first.resync, true);
  assert.equal(first.error?.code, 'REGINFO_ERR_VERSION');
  assert.match(first.error!.message, /no full state/);
  assert.deepEqual(first.view.registrations, []);
  assert.ok(first.document, 'the document read is still given');

  assert.equal(view.apply(body(0, 'full', [['r1', 'active', []]])).applied, true);
  assert.equal(view.awaitingFullState, false);
  const gap = view.apply(body(2, 'partial', [['r1', 'active', [['c1', 'active', 'created']]]]));
  assert.equal(gap.applied, false);
  assert.equal(gap.resync, true);
  assert.match(gap.error!.message, /missed/);
  assert.equal(view.awaitingFullState, true);
  // Until full state comes, even the next partial document in sequence is refused.
  const next = view.apply(body(1, 'partial', [['r1', 'active', [['c1', 'active', 'created']]]]));
  assert.equal(next.resync, true);
  assert.deepEqual(viewOf(next), ['r1:active[]']);

  assert.equal(view.apply(body(5, 'full', [['r1', 'active', []]])).applied, true);
  assert.equal(view.apply(body(6, 'partial', [['r1', 'active', [['c1', 'active', 'created']]]])).applied, true);
  const replay = view.apply(body(6, 'partial', [['r1', 'active', [['c2', 'active', 'created']]]]));
  assert.equal(replay.applied, false);
  assert.equal(replay.resync, true);
  assert.match(replay.error!.message, /not newer/);
  const older = view.apply(body(2, 'partial', []));
  assert.equal(older.resync, true);
});

test('version ordering: an older full-state document is discarded without resync; after a resync any full state is taken', () => {
  const view = new RegInfoView();
  view.apply(body(10, 'full', [['r1', 'active', [['c1', 'active', 'registered']]]]));
  const stale = view.apply(body(9, 'full', [['r1', 'terminated', []]]));
  assert.equal(stale.applied, false);
  assert.equal(stale.resync, false);
  assert.equal(stale.error?.code, 'REGINFO_ERR_VERSION');
  assert.match(stale.error!.message, /older/);
  assert.deepEqual(viewOf(stale), ['r1:active[c1=active/registered]']);
  assert.equal(view.version, 10);

  assert.equal(view.apply(body(12, 'full', [['r1', 'active', []]])).applied, true, 'a gap does not matter in full state');
  assert.equal(view.apply(body(20, 'partial', [])).resync, true);
  const restarted = view.apply(body(0, 'full', [['r1', 'init', []]]));
  assert.equal(restarted.applied, true, 'the notifier restarted its counter: taken after a resync');
  assert.equal(view.version, 0);
});

test('reset() forgets the view and the version', () => {
  const view = new RegInfoView();
  view.apply(body(4, 'full', [['r1', 'active', []]]));
  view.reset();
  assert.deepEqual(view.snapshot(), { version: undefined, registrations: [] });
  assert.equal(view.awaitingFullState, true);
  assert.equal(view.apply(body(0, 'full', [['r1', 'active', []]])).changes.registrations.added.length, 1);
});

test('bad bodies give the parse error and change nothing; apply never throws', () => {
  const view = new RegInfoView({ maxBytes: 2000 });
  view.apply(body(0, 'full', [['r1', 'active', [['c1', 'active', 'registered']]]]));
  const cases: [string | Uint8Array, string][] = [
    ['<reginfo', 'REGINFO_ERR_XML'],
    [new Uint8Array([0xc3, 0x28]), 'REGINFO_ERR_ENCODING'],
    [`<!DOCTYPE x [<!ENTITY a "b">]><reginfo xmlns="${NS}" version="1" state="full"/>`, 'REGINFO_ERR_DOCTYPE'],
    ['<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', 'REGINFO_ERR_NOT_REGINFO'],
    [`<reginfo xmlns="${NS}" version="x" state="full"/>`, 'REGINFO_ERR_INVALID'],
    ['x'.repeat(2001), 'REGINFO_ERR_LIMIT'],
  ];
  for (const [bad, code] of cases) {
    const result = view.apply(bad);
    assert.equal(result.applied, false);
    assert.equal(result.resync, false);
    assert.equal(result.error?.code, code);
    assert.equal(result.document, undefined);
    assert.deepEqual(viewOf(result), ['r1:active[c1=active/registered]']);
  }
});
