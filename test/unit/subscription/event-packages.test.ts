/**
 * The event packages' body readers (reg, dialog, presence) and the resource
 * list reader, on the bodies Kamailio 5.6 sent in our runs (test/fixtures)
 * and on built ones: what each NOTIFY becomes in status updates, when a
 * resync is asked for, and that bad bodies give `error` with the raw body.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DialogInfoState } from '../../../src/dialoginfo/index.js';
import type { PresenceDocument } from '../../../src/presence/index.js';
import type { StatusUpdate } from '../../../src/qsa/index.js';
import type { RegInfoState } from '../../../src/reginfo/index.js';
import { buildRlmiBody, type RlmiListInput } from '../../../src/rlmi/index.js';
import { DIALOG_EVENT_PACKAGE } from '../../../src/subscription/dialog-package.js';
import { PRESENCE_EVENT_PACKAGE } from '../../../src/subscription/presence-package.js';
import { REG_EVENT_PACKAGE } from '../../../src/subscription/reg-package.js';
import { ResourceListReader } from '../../../src/subscription/resource-list-reader.js';
import { SeededRandom } from '../../../src/util/random.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';

const REGINFO = 'application/reginfo+xml';
const DIALOG_INFO = 'application/dialog-info+xml';

function reg(n: number, name: string): Buffer {
  return fixtureFile('reginfo', `kamailio-${n}-${name}.xml`);
}

function contacts(state: RegInfoState): string[] {
  return state.registrations.flatMap((r) => r.contacts.map((c) => `${r.aor} ${r.state} ${c.uri} ${c.state}/${c.event ?? '-'} q=${c.q ?? '-'} expires=${c.expires ?? '-'}`));
}

describe('reg reader (RFC 3680)', () => {
  test('Kamailio’s documents: the complete view in each reading, with what changed; no body = the view as it is', () => {
    const reader = REG_EVENT_PACKAGE.newReader();
    assert.deepEqual(REG_EVENT_PACKAGE.accept, [REGINFO]);
    const empty = reader.read(undefined, undefined);
    assert.deepEqual((empty.document as RegInfoState).registrations, [], 'Kamailio’s first NOTIFY has no body');
    assert.equal(empty.error, undefined);

    const created = reader.read(REGINFO, reg(1, 'created')).document as RegInfoState;
    assert.deepEqual(contacts(created), ['sip:alice@example.com active sip:alice@127.0.0.1:5090 active/created q=- expires=60']);
    assert.equal(created.changes.registrations.added.length, 1);
    assert.equal(created.changes.contacts.added[0]?.contact.uri, 'sip:alice@127.0.0.1:5090');

    const refreshed = reader.read(REGINFO, reg(2, 'refreshed'));
    assert.equal(refreshed.error, undefined, 'version 0 again, full state: applied (Kamailio never counts up)');
    assert.deepEqual(
      (refreshed.document as RegInfoState).changes.contacts.updated.map((c) => c.contact.event),
      ['refreshed'],
    );

    const two = reader.read(REGINFO, reg(3, 'second-contact')).document as RegInfoState;
    assert.equal(contacts(two).length, 2);
    const gone = reader.read(REGINFO, reg(4, 'unregistered')).document as RegInfoState;
    assert.deepEqual(contacts(gone), ['sip:alice@example.com active sip:alice@127.0.0.1:5091 active/registered q=- expires=2']);
    assert.deepEqual(
      gone.changes.contacts.removed.map((c) => `${c.contact.uri} ${c.contact.state}/${c.contact.event}`),
      ['sip:alice@127.0.0.1:5090 terminated/unregistered'],
      'a removed contact is reported once, with the notifier’s event',
    );
    const expired = reader.read(REGINFO, reg(5, 'expired'));
    const last = expired.document as RegInfoState;
    assert.deepEqual(last.registrations.map((r) => `${r.aor} ${r.state} ${r.contacts.length}`), ['sip:alice@example.com terminated 0']);
    assert.deepEqual(last.changes.contacts.removed.map((c) => `${c.contact.uri} ${c.contact.state}`), ['sip:alice@127.0.0.1:5091 terminated']);
    assert.equal(expired.resync, undefined);
  });

  test('partial state: merged; a gap asks for a resync and changes nothing; an older full state is refused without one', () => {
    const reader = REG_EVENT_PACKAGE.newReader();
    const doc = (version: number, state: 'full' | 'partial', contact: string) =>
      `<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="${version}" state="${state}">` +
      `<registration aor="sip:alice@example.com" id="r1" state="active">${contact}</registration></reginfo>`;
    const a = '<contact id="a" state="active" event="registered" q="0.5"><uri>sip:a@192.0.2.1</uri></contact>';
    const b = '<contact id="b" state="active" event="created"><uri>sip:b@192.0.2.2</uri></contact>';
    assert.equal(reader.read(REGINFO, Buffer.from(doc(4, 'full', a))).resync, undefined);
    const merged = reader.read(REGINFO, Buffer.from(doc(5, 'partial', b)));
    assert.deepEqual(contacts(merged.document as RegInfoState).map((c) => c.split(' ')[2]), ['sip:a@192.0.2.1', 'sip:b@192.0.2.2']);
    assert.match(contacts(merged.document as RegInfoState)[0]!, /q=0.5/);

    const gap = reader.read(REGINFO, Buffer.from(doc(7, 'partial', a)));
    assert.equal(gap.resync, true);
    assert.equal(gap.error?.code, 'REGINFO_ERR_VERSION');
    assert.equal(contacts(gap.document as RegInfoState).length, 2, 'the view as it was');
    assert.equal((gap.document as RegInfoState).changes.contacts.added.length, 0);

    const full = reader.read(REGINFO, Buffer.from(doc(8, 'full', a)));
    assert.equal(full.error, undefined);
    const stale = reader.read(REGINFO, Buffer.from(doc(6, 'full', b)));
    assert.equal(stale.error?.code, 'REGINFO_ERR_VERSION');
    assert.equal(stale.resync, undefined, 'an older full state is discarded, no resync');
  });

  test('bad bodies: an error naming the problem, the view unchanged', () => {
    const reader = REG_EVENT_PACKAGE.newReader();
    reader.read(REGINFO, reg(1, 'created'));
    const cases: Array<[string | undefined, string, string]> = [
      [REGINFO, '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><reginfo/>', 'REGINFO_ERR_DOCTYPE'],
      [REGINFO, '<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="1" state="full"><registration', 'REGINFO_ERR_XML'],
      ['application/pidf+xml', '<presence/>', 'REGINFO_ERR_CONTENT_TYPE'],
      [REGINFO, '<presence xmlns="urn:ietf:params:xml:ns:pidf"/>', 'REGINFO_ERR_NOT_REGINFO'],
    ];
    for (const [type, body, code] of cases) {
      const reading = reader.read(type, Buffer.from(body));
      assert.equal(reading.error?.code, code, body);
      assert.equal(contacts(reading.document as RegInfoState).length, 1, `${code}: the view as it was`);
    }
    // A body without Content-Type is read as reginfo.
    assert.equal(reader.read(undefined, reg(2, 'refreshed')).error, undefined);
  });
});

describe('dialog reader (RFC 4235)', () => {
  const dialogs = (state: DialogInfoState) => state.dialogs.map((d) => `${d.id} ${d.state} ${d.direction} ${d.local?.identity?.uri} ${d.remote?.identity?.uri}`);

  test('Kamailio’s call: Trying → early → confirmed → terminated, every dialog with what a BLF lamp needs', () => {
    const reader = DIALOG_EVENT_PACKAGE.newReader();
    const states: string[] = [];
    for (const name of ['1-trying', '2-early', '3-confirmed', '4-terminated', '5-terminated-unsubscribe']) {
      const reading = reader.read(DIALOG_INFO, fixtureFile('dialoginfo', `kamailio-${name}.xml`));
      assert.equal(reading.error, undefined, name);
      const state = reading.document as DialogInfoState;
      states.push(
        [...dialogs(state), ...state.changes.removed.map((d) => `removed ${d.id} ${d.state}`)].join('; ') || '(none)',
      );
    }
    assert.equal(states.length, 5);
    assert.match(states[0]!, /^padi-\S+ trying recipient sip:alice@example.com sip:bob@example.com$/);
    assert.match(states[1]!, / early recipient /);
    assert.match(states[2]!, / confirmed recipient /);
    assert.match(states[3]!, /^removed padi-\S+ terminated$/);
    assert.equal(states[4], '(none)', 'a dialog that ended is reported once');
  });

  test('NOTIFYs that crossed (early before Trying): the older full state is discarded with an error, no resync', () => {
    const reader = DIALOG_EVENT_PACKAGE.newReader();
    reader.read(DIALOG_INFO, fixtureFile('dialoginfo', 'kamailio-2-early.xml'));
    const late = reader.read(DIALOG_INFO, fixtureFile('dialoginfo', 'kamailio-1-trying.xml'));
    assert.equal(late.error?.code, 'DIALOGINFO_ERR_VERSION');
    assert.equal(late.resync, undefined);
    assert.deepEqual((late.document as DialogInfoState).dialogs.map((d) => d.state), ['early']);
    assert.equal(reader.read('text/plain', Buffer.from('x')).error?.code, 'DIALOGINFO_ERR_CONTENT_TYPE');
  });
});

test('presence reader: stateless, PIDF read as before (no body: nothing; no Content-Type: PIDF)', () => {
  const reader = PRESENCE_EVENT_PACKAGE.newReader();
  assert.equal(PRESENCE_EVENT_PACKAGE.newReader(), reader, 'one reader for every subscription');
  assert.deepEqual(reader.read(undefined, undefined), {});
  const pidf = '<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:a@x"><tuple id="t"><status><basic>open</basic></status></tuple></presence>';
  assert.equal((reader.read(undefined, Buffer.from(pidf)).document as PresenceDocument).tuples[0]?.basic, 'open');
  assert.equal(reader.read('text/plain', Buffer.from(pidf)).error?.code, 'PIDF_ERR_CONTENT_TYPE');
});

// ------------------------------------------------------------------ resource lists

function kamailioList(n: number): [string, Buffer] {
  return [fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim(), fixtureFile('rlmi', `kamailio-notify-${n}.multipart`)];
}

const ACTIVE: StatusUpdate = { state: 'active', expires: 300 };

function brief(updates: StatusUpdate[]): string[] {
  return updates.map((u) => {
    const basic = (u.document as PresenceDocument | undefined)?.tuples[0]?.basic;
    return `${u.record ?? '(list)'} ${u.list ?? '-'} ${u.state}${u.reason ? `/${u.reason}` : ''}${basic ? ` ${basic}` : ''}${u.error ? ` ${u.error.code}` : ''}`;
  });
}

describe('resource list reader (RFC 4662)', () => {
  test('Kamailio’s RLS: a message per member, pending until its instance comes; then one per change', () => {
    const reader = new ResourceListReader(PRESENCE_EVENT_PACKAGE);
    const first = reader.read(ACTIVE, ...kamailioList(1));
    assert.deepEqual(brief(first.updates), [
      'sip:alice@example.com sip:friends@example.com pending',
      'sip:carol@example.com sip:friends@example.com pending',
    ]);
    assert.equal(first.updates[0]!.expires, 300);
    assert.deepEqual(brief(reader.read(ACTIVE, ...kamailioList(2)).updates), [
      'sip:alice@example.com sip:friends@example.com active open',
      'sip:carol@example.com sip:friends@example.com active closed',
    ]);
    const third = reader.read(ACTIVE, ...kamailioList(3));
    assert.deepEqual(brief(third.updates), ['sip:alice@example.com sip:friends@example.com active closed']);
    assert.equal(third.updates[0]!.contentType, 'application/pidf+xml');
    assert.match(Buffer.from(third.updates[0]!.body!).toString(), /<basic>closed<\/basic>/);
    assert.deepEqual(brief(reader.read(ACTIVE, ...kamailioList(4)).updates), [], 'a refresh that changes nothing');
    assert.deepEqual(brief(reader.read(ACTIVE, ...kamailioList(5)).updates), ['sip:alice@example.com sip:friends@example.com active closed']);
    assert.deepEqual(brief(reader.current()), [
      'sip:alice@example.com sip:friends@example.com active closed',
      'sip:carol@example.com sip:friends@example.com active closed',
    ]);
  });

  test('bad bodies: one message for the list with error and the raw body; the view goes on', () => {
    const [type, good] = kamailioList(2);
    const text = good.toString('latin1');
    const boundary = /boundary="([^"]+)"/.exec(type)![1]!;
    const cases: Array<[string, Buffer, string]> = [
      [type, Buffer.from(text.replaceAll(`--${boundary}--`, ''), 'latin1'), 'MULTIPART_ERR_BOUNDARY'],
      [type, Buffer.from(text.replace(/cid="[^"]+carol[^"]+"/, 'cid="nobody@example.com"'), 'latin1'), 'RLMI_ERR_MISSING_PART'],
      [type, Buffer.from(text.replace('<?xml version="1.0"?>', '<?xml version="1.0"?><!DOCTYPE list [<!ENTITY a "b">]>'), 'latin1'), 'RLMI_ERR_DOCTYPE'],
      [type.replace(boundary, 'other-boundary'), good, 'MULTIPART_ERR_BOUNDARY'],
    ];
    const reader = new ResourceListReader(PRESENCE_EVENT_PACKAGE);
    reader.read(ACTIVE, ...kamailioList(1));
    for (const [contentType, body, code] of cases) {
      const { updates, resync } = reader.read(ACTIVE, contentType, body);
      assert.deepEqual(brief(updates), [`(list) - active ${code}`], code);
      assert.equal(updates[0]!.body, body, 'the raw body');
      assert.equal(updates[0]!.contentType, contentType, 'the whole Content-Type, boundary included');
      assert.equal(resync, false);
    }
    assert.equal(reader.read(ACTIVE, type, good).updates.length, 2, 'the next good body applies');
    // Out of order: version 2 again is not newer (partial): resync, with an error message.
    const again = reader.read(ACTIVE, type, good);
    assert.equal(again.resync, true);
    assert.deepEqual(brief(again.updates), ['(list) - active RLMI_ERR_VERSION']);
  });

  test('the list itself: one message when it ends, or when a NOTIFY changes its state without member news', () => {
    const reader = new ResourceListReader(PRESENCE_EVENT_PACKAGE);
    assert.deepEqual(brief(reader.read({ state: 'pending' }, undefined, undefined).updates), ['(list) - pending']);
    assert.deepEqual(brief(reader.read({ state: 'pending' }, undefined, undefined).updates), []);
    reader.read(ACTIVE, ...kamailioList(1));
    assert.deepEqual(brief(reader.read({ state: 'terminated', reason: 'deactivated' }, undefined, undefined).updates), ['(list) - terminated/deactivated']);
  });

  const random = () => new SeededRandom(5);
  const regDoc = (version: number, uri: string, state = 'active') =>
    `<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="${version}" state="full"><registration aor="sip:a@example.com" id="r" state="${state}">` +
    `<contact id="c" state="active" event="registered"><uri>${uri}</uri></contact></registration></reginfo>`;

  function nested(contentId: string, list: RlmiListInput, parts: Record<string, string>) {
    const built = buildRlmiBody({
      list,
      parts: Object.entries(parts).map(([cid, body]) => ({ contentType: 'application/reginfo+xml', contentId: cid, body })),
      random: random(),
    });
    return { contentType: built.contentType, contentId, body: built.body };
  }

  test('nested lists and another member package (reg): each member under its own list, read by its own reg view', () => {
    const reader = new ResourceListReader(REG_EVENT_PACKAGE);
    const body = (version: number, fullState: boolean, bUri: string, extra = true) =>
      buildRlmiBody({
        random: random(),
        list: {
          uri: 'sip:all@example.com',
          version,
          fullState,
          resources: [
            ...(extra ? [{ uri: 'sip:a@example.com', instances: [{ id: 'ia', state: 'active' as const, cid: 'a1' }] }] : []),
            { uri: 'sip:team@example.com', instances: [{ id: 'it', state: 'active' as const, cid: 't1' }] },
          ],
        },
        parts: [
          ...(extra ? [{ contentType: 'application/reginfo+xml', contentId: 'a1', body: regDoc(version, 'sip:a@192.0.2.1') }] : []),
          nested(
            't1',
            {
              uri: 'sip:team@example.com',
              version,
              fullState,
              resources: [
                { uri: 'sip:b@example.com', instances: [{ id: 'ib', state: 'active', cid: 'b1' }] },
                { uri: 'sip:c@example.com', instances: [{ id: 'ic', state: 'terminated', reason: 'rejected' }] },
              ],
            },
            { b1: regDoc(version, bUri) },
          ),
        ],
      });
    const one = body(1, true, 'sip:b@192.0.2.2');
    const first = reader.read(ACTIVE, one.contentType, one.body);
    assert.equal(first.resync, false);
    const summary = (updates: StatusUpdate[]) =>
      updates.map((u) => `${u.record} ${u.list} ${u.state}${u.reason ? `/${u.reason}` : ''} ${(u.document as RegInfoState | undefined)?.registrations[0]?.contacts[0]?.uri ?? '-'}`);
    assert.deepEqual(summary(first.updates), [
      'sip:a@example.com sip:all@example.com active sip:a@192.0.2.1',
      'sip:team@example.com sip:all@example.com active -',
      'sip:b@example.com sip:team@example.com active sip:b@192.0.2.2',
      'sip:c@example.com sip:team@example.com rejected/rejected -',
    ]);
    // A full state without sip:a: it is reported terminated (left the list); b's reg view merges its new document.
    const two = body(2, true, 'sip:b@192.0.2.9', false);
    const second = reader.read(ACTIVE, two.contentType, two.body);
    assert.deepEqual(summary(second.updates), [
      'sip:b@example.com sip:team@example.com active sip:b@192.0.2.9',
      'sip:c@example.com sip:team@example.com rejected/rejected -',
      'sip:a@example.com sip:all@example.com terminated -',
    ]);
    const b = second.updates[0]!.document as RegInfoState;
    assert.deepEqual(b.changes.contacts.updated.map((c) => c.contact.uri), ['sip:b@192.0.2.9']);
    assert.deepEqual(
      reader.current().map((u) => u.record),
      ['sip:team@example.com', 'sip:b@example.com'],
      'who left and who ended are no longer in the list’s current state',
    );
  });
});
