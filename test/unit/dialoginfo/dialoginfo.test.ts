import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type DialogInfoApplyResult,
  DialogInfoError,
  DialogInfoView,
  parseDialogInfo,
} from '../../../src/dialoginfo/index.js';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { fixtureFile } from '../../support/fixture-files.js';

const NS = 'urn:ietf:params:xml:ns:dialog-info';

function throwsDialogInfo(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DialogInfoError, `expected DialogInfoError, got ${String(error)}`);
    assert.ok(error instanceof PresenceB2BError);
    assert.equal(error.code, code);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

/** A compact body: dialogs as [id, state]. */
function body(version: number, state: 'full' | 'partial', dialogs: [string, string][]): string {
  return (
    `<dialog-info xmlns="${NS}" version="${version}" state="${state}" entity="sip:alice@example.com">` +
    dialogs.map(([id, s]) => `<dialog id="${id}"><state>${s}</state></dialog>`).join('') +
    '</dialog-info>'
  );
}

function states(result: DialogInfoApplyResult): string[] {
  return result.view.dialogs.map((d) => `${d.id}:${d.state}`);
}

test('Kamailio 5.6 early document: tags, direction, identities and targets', () => {
  const document = parseDialogInfo(fixtureFile('dialoginfo', 'kamailio-2-early.xml'));
  assert.deepEqual(document, {
    version: 3,
    state: 'full',
    entity: 'sip:alice@example.com',
    dialogs: [
      {
        id: 'padi-6b090d1b-1177-1',
        callId: '1-4527@127.0.0.1',
        localTag: '4522a1',
        remoteTag: '4527c1',
        direction: 'recipient',
        state: 'early',
        routeSet: [],
        remote: {
          identity: { uri: 'sip:bob@example.com' },
          target: { uri: 'sip:bob@127.0.0.1:5062;transport=UDP', params: [] },
        },
        local: {
          identity: { uri: 'sip:alice@example.com' },
          target: { uri: 'sip:alice@127.0.0.1:5090;transport=UDP', params: [] },
        },
      },
    ],
    warnings: [],
  });
});

test('Kamailio 5.6 "Trying" (capital T) reads as trying, without tags', () => {
  const document = parseDialogInfo(fixtureFile('dialoginfo', 'kamailio-1-trying.xml'));
  assert.equal(document.dialogs[0]!.state, 'trying');
  assert.equal(document.dialogs[0]!.localTag, undefined);
  assert.deepEqual(document.warnings, []);
});

test('every RFC 4235 element: state event and code, duration, replaces, referred-by, route-set, params, cseq', () => {
  const document = parseDialogInfo(
    `<d:dialog-info xmlns:d="${NS}" xmlns:x="urn:example" version="12" state="partial" entity="sip:bob@example.com">` +
      '<d:dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" remote-tag="456" direction="initiator">' +
      '<d:state event="rejected" code="486">terminated</d:state>' +
      '<d:duration>274</d:duration>' +
      '<d:replaces call-id="x1" local-tag="l1" remote-tag="r1"/>' +
      '<d:referred-by display="Carol">sip:carol@example.com</d:referred-by>' +
      '<d:route-set><d:hop>sip:p1.example.com;lr</d:hop><d:hop>sip:p2.example.com;lr</d:hop></d:route-set>' +
      '<d:local><d:identity display="Bob &amp; co">sip:bob@example.com</d:identity>' +
      '<d:target uri="sip:bob@pc33.example.com"><d:param pname="+sip.rendering" pval="no"/><d:param pname="isfocus" pval=""/></d:target>' +
      '<d:session-description type="application/sdp">v=0</d:session-description><d:cseq>7</d:cseq></d:local>' +
      '<d:remote><d:identity>sip:alice@example.com</d:identity><x:ext/></d:remote>' +
      '<x:other/>' +
      '</d:dialog></d:dialog-info>',
  );
  assert.deepEqual(document.dialogs[0], {
    id: 'as7d900as8',
    callId: 'a84b4c76e66710',
    localTag: '1928301774',
    remoteTag: '456',
    direction: 'initiator',
    state: 'terminated',
    event: 'rejected',
    code: 486,
    duration: 274,
    replaces: { callId: 'x1', localTag: 'l1', remoteTag: 'r1' },
    referredBy: { uri: 'sip:carol@example.com', display: 'Carol' },
    routeSet: ['sip:p1.example.com;lr', 'sip:p2.example.com;lr'],
    local: {
      identity: { uri: 'sip:bob@example.com', display: 'Bob & co' },
      target: {
        uri: 'sip:bob@pc33.example.com',
        params: [
          { name: '+sip.rendering', value: 'no' },
          { name: 'isfocus', value: '' },
        ],
      },
      cseq: 7,
    },
    remote: { identity: { uri: 'sip:alice@example.com' } },
  });
  assert.deepEqual(document.warnings, []);
});

test('values that are not needed become warnings', () => {
  const document = parseDialogInfo(
    `<dialog-info xmlns="${NS}" version="1" state="full">` +
      '<dialog id="d1" direction="sideways"><state event="exploded" code="99">Confirmed</state><duration>-3</duration>' +
      '<replaces/><local><target/><cseq>x</cseq></local><remote><target uri="sip:x"><param pval="1"/></target></remote></dialog>' +
      '<dialog id="d2"><state code="700">early</state></dialog>' +
      '</dialog-info>',
  );
  assert.equal(document.entity, '');
  assert.equal(document.dialogs[0]!.state, 'confirmed');
  assert.deepEqual(document.warnings, [
    '<dialog-info> has no entity attribute',
    'dialog "d1": unknown direction "sideways"',
    'dialog "d1": unknown state event "exploded"',
    'dialog "d1": invalid state code "99"',
    'dialog "d1": invalid <duration> "-3"',
    'dialog "d1": <replaces> without call-id',
    'dialog "d1" <local>: <target> without uri',
    'dialog "d1" <local>: invalid <cseq> "x"',
    'dialog "d1" <remote>: <param> without pname',
    'dialog "d2": invalid state code "700"',
  ]);
});

test('errors: empty, encoding, XML, DOCTYPE, root, limits, invalid', () => {
  throwsDialogInfo(() => parseDialogInfo(''), 'DIALOGINFO_ERR_EMPTY');
  throwsDialogInfo(() => parseDialogInfo(new Uint8Array([0xed, 0xa0, 0x80])), 'DIALOGINFO_ERR_ENCODING');
  throwsDialogInfo(() => parseDialogInfo(`<dialog-info xmlns="${NS}"><dialog></dialog-info>`), 'DIALOGINFO_ERR_XML');
  throwsDialogInfo(
    () => parseDialogInfo(`<!DOCTYPE lol [<!ENTITY lol "lol">]><dialog-info xmlns="${NS}">&lol;</dialog-info>`),
    'DIALOGINFO_ERR_DOCTYPE',
  );
  throwsDialogInfo(() => parseDialogInfo('<dialog-info version="1" state="full"/>'), 'DIALOGINFO_ERR_NOT_DIALOGINFO');
  const early = fixtureFile('dialoginfo', 'kamailio-2-early.xml');
  throwsDialogInfo(() => parseDialogInfo(early, { maxBytes: 500 }), 'DIALOGINFO_ERR_LIMIT', /exceeds/);
  throwsDialogInfo(() => parseDialogInfo(early, { maxDepth: 3 }), 'DIALOGINFO_ERR_LIMIT', /deeper/);
  throwsDialogInfo(() => parseDialogInfo(early, { maxElements: 5 }), 'DIALOGINFO_ERR_LIMIT', /elements/);
  throwsDialogInfo(() => parseDialogInfo(`<dialog-info xmlns="${NS}" state="full"/>`), 'DIALOGINFO_ERR_INVALID', /version/);
  throwsDialogInfo(() => parseDialogInfo(`<dialog-info xmlns="${NS}" version="1"/>`), 'DIALOGINFO_ERR_INVALID', /state/);
  throwsDialogInfo(
    () => parseDialogInfo(`<dialog-info xmlns="${NS}" version="1" state="full"><dialog><state>early</state></dialog></dialog-info>`),
    'DIALOGINFO_ERR_INVALID',
    /id/,
  );
  throwsDialogInfo(
    () => parseDialogInfo(`<dialog-info xmlns="${NS}" version="1" state="full"><dialog id="d"/></dialog-info>`),
    'DIALOGINFO_ERR_INVALID',
    /<state>/,
  );
  throwsDialogInfo(() => parseDialogInfo(body(1, 'full', [['d', 'ringing']])), 'DIALOGINFO_ERR_INVALID', /ringing/);
});

test('view: the Kamailio 5.6 call, trying → early → confirmed → terminated, then the same again on unSUBSCRIBE', () => {
  const view = new DialogInfoView();
  const trying = view.apply(fixtureFile('dialoginfo', 'kamailio-1-trying.xml'));
  assert.equal(trying.applied, true);
  assert.deepEqual(trying.changes.added.map((d) => d.state), ['trying']);
  assert.equal(trying.view.entity, 'sip:alice@example.com');
  assert.equal(trying.view.version, 2);

  const early = view.apply(fixtureFile('dialoginfo', 'kamailio-2-early.xml'));
  assert.deepEqual(early.changes.updated.map((d) => [d.state, d.localTag, d.remoteTag]), [['early', '4522a1', '4527c1']]);

  const confirmed = view.apply(fixtureFile('dialoginfo', 'kamailio-3-confirmed.xml'));
  assert.deepEqual(confirmed.changes.updated.map((d) => d.state), ['confirmed']);
  assert.deepEqual(states(confirmed), ['padi-6b090d1b-1177-1:confirmed']);

  const terminated = view.apply(fixtureFile('dialoginfo', 'kamailio-4-terminated.xml'));
  assert.deepEqual(terminated.changes.removed.map((d) => [d.id, d.state, d.direction]), [
    ['padi-6b090d1b-1177-1', 'terminated', 'recipient'],
  ]);
  assert.deepEqual(terminated.view.dialogs, []);

  const again = view.apply(fixtureFile('dialoginfo', 'kamailio-5-terminated-unsubscribe.xml'));
  assert.equal(again.applied, true);
  assert.deepEqual(again.changes, { added: [], updated: [], removed: [] }, 'a terminated dialog is reported once');
});

test('view: Kamailio NOTIFYs out of order (early version 3 before Trying version 2): the stale one is discarded', () => {
  const view = new DialogInfoView();
  view.apply(fixtureFile('dialoginfo', 'kamailio-2-early.xml'));
  const late = view.apply(fixtureFile('dialoginfo', 'kamailio-1-trying.xml'));
  assert.equal(late.applied, false);
  assert.equal(late.resync, false);
  assert.equal(late.error?.code, 'DIALOGINFO_ERR_VERSION');
  assert.deepEqual(states(late), ['padi-6b090d1b-1177-1:early']);
  assert.equal(view.apply(fixtureFile('dialoginfo', 'kamailio-3-confirmed.xml')).applied, true);
});

test('view: empty body (Kamailio before any dialog) changes nothing and is no error', () => {
  const view = new DialogInfoView();
  const result = view.apply(new Uint8Array(0));
  assert.deepEqual([result.applied, result.resync, result.error], [false, false, undefined]);
  assert.deepEqual(view.apply(' \n').error, undefined);
});

test('view: partial documents merge by dialog id; full state drops what it leaves out', () => {
  const view = new DialogInfoView();
  view.apply(body(0, 'full', [['a', 'confirmed'], ['b', 'early']]));
  const p1 = view.apply(body(1, 'partial', [['b', 'confirmed'], ['c', 'trying'], ['z', 'terminated']]));
  assert.deepEqual(p1.changes.updated.map((d) => d.id), ['b']);
  assert.deepEqual(p1.changes.added.map((d) => d.id), ['c']);
  assert.deepEqual(p1.changes.removed, [], 'an unknown dialog reported terminated is ignored');
  assert.deepEqual(states(p1), ['a:confirmed', 'b:confirmed', 'c:trying']);
  const p2 = view.apply(
    `<dialog-info xmlns="${NS}" version="2" state="partial" entity="e"><dialog id="a"><state event="remote-bye" code="200">terminated</state></dialog></dialog-info>`,
  );
  assert.deepEqual(p2.changes.removed.map((d) => [d.id, d.event, d.code]), [['a', 'remote-bye', 200]]);
  assert.equal(p2.view.entity, 'e');
  const full = view.apply(body(3, 'full', [['c', 'proceeding']]));
  assert.deepEqual(full.changes.removed.map((d) => [d.id, d.state, d.event]), [['b', 'terminated', undefined]]);
  assert.deepEqual(full.changes.updated.map((d) => d.id), ['c']);
  assert.deepEqual(states(full), ['c:proceeding']);
});

test('view: version ordering (partial first, gap, not newer) asks for full state; reset() forgets', () => {
  const view = new DialogInfoView();
  const first = view.apply(body(5, 'partial', [['a', 'early']]));
  assert.deepEqual([first.applied, first.resync, first.error?.code], [false, true, 'DIALOGINFO_ERR_VERSION']);
  view.apply(body(5, 'full', [['a', 'early']]));
  assert.equal(view.apply(body(6, 'partial', [['a', 'confirmed']])).applied, true);
  const gap = view.apply(body(8, 'partial', [['a', 'terminated']]));
  assert.deepEqual([gap.applied, gap.resync], [false, true]);
  assert.deepEqual(states(gap), ['a:confirmed']);
  assert.equal(view.apply(body(9, 'partial', [])).resync, true, 'still waiting for full state');
  assert.equal(view.apply(body(1, 'full', [])).applied, true, 'any full state after a resync');
  assert.equal(view.apply(body(1, 'partial', [])).resync, true, 'not newer');
  view.reset();
  assert.deepEqual(view.snapshot(), { version: undefined, entity: '', dialogs: [] });
});

test('view: bad bodies give their error code and change nothing', () => {
  const view = new DialogInfoView({ maxBytes: 1000 });
  view.apply(body(0, 'full', [['a', 'early']]));
  for (const [bad, code] of [
    ['<dialog-info', 'DIALOGINFO_ERR_XML'],
    [new Uint8Array([0x80]), 'DIALOGINFO_ERR_ENCODING'],
    [`<!DOCTYPE a><dialog-info xmlns="${NS}"/>`, 'DIALOGINFO_ERR_DOCTYPE'],
    ['<reginfo xmlns="urn:ietf:params:xml:ns:reginfo"/>', 'DIALOGINFO_ERR_NOT_DIALOGINFO'],
    [body(1, 'full', [['a', 'ringing']]), 'DIALOGINFO_ERR_INVALID'],
    [' '.repeat(999) + 'x', 'DIALOGINFO_ERR_XML'],
    ['y'.repeat(1001), 'DIALOGINFO_ERR_LIMIT'],
  ] as [string | Uint8Array, string][]) {
    const result = view.apply(bad);
    assert.deepEqual([result.applied, result.resync, result.error?.code], [false, false, code]);
    assert.deepEqual(states(result), ['a:early']);
  }
});
