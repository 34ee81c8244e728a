import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMultipart, relatedRootPart } from '../../../src/multipart/index.js';
import { buildRlmi, parseRlmi, RlmiError } from '../../../src/rlmi/index.js';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';

const NS = 'urn:ietf:params:xml:ns:rlmi';

function throwsRlmi(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RlmiError, `expected RlmiError, got ${String(error)}`);
    assert.ok(error instanceof PresenceB2BError);
    assert.equal(error.code, code);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

/** The RLMI root of captured Kamailio NOTIFY n. */
function kamailioRoot(n: number): Uint8Array {
  const contentType = fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim();
  return relatedRootPart(parseMultipart(contentType, fixtureFile('rlmi', `kamailio-notify-${n}.multipart`))).body;
}

test('Kamailio 5.6 RLMI: the first full-state document lists the resources without instances', () => {
  assert.deepEqual(parseRlmi(kamailioRoot(1)), {
    uri: 'sip:friends@example.com',
    version: 1,
    fullState: true,
    names: [],
    resources: [
      { uri: 'sip:alice@example.com', names: [], instances: [] },
      { uri: 'sip:carol@example.com', names: [], instances: [] },
    ],
    warnings: [],
  });
});

test('Kamailio 5.6 RLMI: a partial document with active instances and their cids', () => {
  const document = parseRlmi(kamailioRoot(2));
  assert.equal(document.version, 2);
  assert.equal(document.fullState, false);
  assert.deepEqual(document.resources, [
    {
      uri: 'sip:alice@example.com',
      names: [],
      instances: [{ id: 'Scf8UhwQ', state: 'active', cid: '1795755195.sip:alice@example.com.2125710023' }],
    },
    {
      uri: 'sip:carol@example.com',
      names: [],
      instances: [{ id: 'Scf8UhwQ', state: 'active', cid: '1795755195.sip:carol@example.com.1635897326' }],
    },
  ]);
});

test('names with languages, pending and terminated instances with reasons, prefixes, other namespaces skipped', () => {
  const document = parseRlmi(
    `<r:list xmlns:r="${NS}" xmlns:x="urn:x" uri="sip:adam-friends@example.com" version="7" fullState="1" xml:lang="en">` +
      '<r:name>Buddy List</r:name><r:name xml:lang="fr">Amis</r:name><x:extra/>' +
      '<r:resource uri="sip:bob@example.com"><r:name>Bob</r:name>' +
      '<r:instance id="i1" state="Active" cid="bUZBsM@pres.example.com"/><r:instance id="i2" state="pending" reason="probation"/></r:resource>' +
      '<r:resource uri="sip:dave@example.com"><r:instance id="i3" state="terminated" reason="rejected"/></r:resource>' +
      '</r:list>',
  );
  assert.deepEqual(document, {
    uri: 'sip:adam-friends@example.com',
    version: 7,
    fullState: true,
    names: [
      { text: 'Buddy List', lang: 'en' },
      { text: 'Amis', lang: 'fr' },
    ],
    resources: [
      {
        uri: 'sip:bob@example.com',
        names: [{ text: 'Bob', lang: 'en' }],
        instances: [
          { id: 'i1', state: 'active', cid: 'bUZBsM@pres.example.com' },
          { id: 'i2', state: 'pending', reason: 'probation' },
        ],
      },
      { uri: 'sip:dave@example.com', names: [], instances: [{ id: 'i3', state: 'terminated', reason: 'rejected' }] },
    ],
    warnings: [],
  });
});

test('a resource listed twice is a warning', () => {
  const document = parseRlmi(
    `<list xmlns="${NS}" uri="l" version="0" fullState="false"><resource uri="a"/><resource uri="a"/></list>`,
  );
  assert.deepEqual(document.warnings, ['resource "a" is listed twice; the last one counts']);
});

test('errors: empty, encoding, XML, DOCTYPE, root, limits', () => {
  throwsRlmi(() => parseRlmi('\n'), 'RLMI_ERR_EMPTY');
  throwsRlmi(() => parseRlmi(new Uint8Array([0xf8, 0x88])), 'RLMI_ERR_ENCODING');
  throwsRlmi(() => parseRlmi(`<list xmlns="${NS}" uri="l" version="0" fullState="true"><resource></list>`), 'RLMI_ERR_XML');
  throwsRlmi(
    () => parseRlmi(`<!DOCTYPE list SYSTEM "http://example.com/x.dtd"><list xmlns="${NS}" uri="l" version="0" fullState="true"/>`),
    'RLMI_ERR_DOCTYPE',
  );
  throwsRlmi(() => parseRlmi('<list uri="l" version="0" fullState="true"/>'), 'RLMI_ERR_NOT_RLMI');
  throwsRlmi(() => parseRlmi('<presence xmlns="urn:ietf:params:xml:ns:pidf"/>'), 'RLMI_ERR_NOT_RLMI');
  const root = kamailioRoot(2);
  throwsRlmi(() => parseRlmi(root, { maxBytes: 100 }), 'RLMI_ERR_LIMIT', /exceeds/);
  throwsRlmi(() => parseRlmi(root, { maxDepth: 2 }), 'RLMI_ERR_LIMIT', /deeper/);
  throwsRlmi(() => parseRlmi(root, { maxElements: 3 }), 'RLMI_ERR_LIMIT', /elements/);
});

test('errors: what a subscriber cannot do without is RLMI_ERR_INVALID', () => {
  const list = (attributes: string, inner = '') => `<list xmlns="${NS}" ${attributes}>${inner}</list>`;
  const ok = 'uri="l" version="0" fullState="true"';
  throwsRlmi(() => parseRlmi(list('version="0" fullState="true"')), 'RLMI_ERR_INVALID', /uri/);
  throwsRlmi(() => parseRlmi(list('uri="l" fullState="true"')), 'RLMI_ERR_INVALID', /version/);
  throwsRlmi(() => parseRlmi(list('uri="l" version="4294967296" fullState="true"')), 'RLMI_ERR_INVALID', /version/);
  throwsRlmi(() => parseRlmi(list('uri="l" version="0"')), 'RLMI_ERR_INVALID', /fullState/);
  throwsRlmi(() => parseRlmi(list('uri="l" version="0" fullState="yes"')), 'RLMI_ERR_INVALID', /fullState/);
  throwsRlmi(() => parseRlmi(list(ok, '<resource/>')), 'RLMI_ERR_INVALID', /uri/);
  throwsRlmi(() => parseRlmi(list(ok, '<resource uri="a"><instance state="active"/></resource>')), 'RLMI_ERR_INVALID', /id/);
  throwsRlmi(() => parseRlmi(list(ok, '<resource uri="a"><instance id="i"/></resource>')), 'RLMI_ERR_INVALID', /state/);
  throwsRlmi(() => parseRlmi(list(ok, '<resource uri="a"><instance id="i" state="gone"/></resource>')), 'RLMI_ERR_INVALID', /gone/);
});

test('buildRlmi writes what parseRlmi reads; bad input is RLMI_ERR_ARGUMENT', () => {
  const xml = buildRlmi({
    uri: 'sip:friends@example.com',
    version: 4294967295,
    fullState: false,
    names: ['Friends & co', { text: 'Amis', lang: 'fr' }],
    resources: [
      { uri: 'sip:a@example.com', names: ['A'], instances: [{ id: 'x', state: 'active', cid: 'c1@h' }] },
      { uri: 'sip:b@example.com', instances: [{ id: 'y', state: 'terminated', reason: 'noresource' }] },
      { uri: 'sip:c@example.com' },
    ],
  });
  assert.deepEqual(parseRlmi(xml), {
    uri: 'sip:friends@example.com',
    version: 4294967295,
    fullState: false,
    names: [{ text: 'Friends & co' }, { text: 'Amis', lang: 'fr' }],
    resources: [
      { uri: 'sip:a@example.com', names: [{ text: 'A' }], instances: [{ id: 'x', state: 'active', cid: 'c1@h' }] },
      { uri: 'sip:b@example.com', names: [], instances: [{ id: 'y', state: 'terminated', reason: 'noresource' }] },
      { uri: 'sip:c@example.com', names: [], instances: [] },
    ],
    warnings: [],
  });
  const base = { uri: 'l', version: 0, fullState: true, resources: [] };
  for (const bad of [
    { ...base, version: -1 },
    { ...base, version: 1.5 },
    { ...base, version: 2 ** 32 },
    { ...base, uri: ' ' },
    { ...base, resources: [{ uri: '' }] },
    { ...base, resources: [{ uri: 'a', instances: [{ id: '', state: 'active' as const }] }] },
  ]) {
    throwsRlmi(() => buildRlmi(bad), 'RLMI_ERR_ARGUMENT');
  }
});
