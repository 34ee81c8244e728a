import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { parseReginfo, RegInfoError } from '../../../src/reginfo/index.js';
import { fixtureFile } from '../../support/fixture-files.js';

function throwsReginfo(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof RegInfoError, `expected RegInfoError, got ${String(error)}`);
    assert.ok(error instanceof PresenceB2BError);
    assert.equal(error.code, code);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

const NS = 'urn:ietf:params:xml:ns:reginfo';

test('Kamailio 5.6 document: one registration, one contact, extra attributes skipped', () => {
  const document = parseReginfo(fixtureFile('reginfo', 'kamailio-1-created.xml'));
  assert.deepEqual(document, {
    version: 0,
    state: 'full',
    registrations: [
      {
        aor: 'sip:alice@example.com',
        id: '0x7fc22f135c28',
        state: 'active',
        contacts: [
          {
            id: '0x7fc22f135d40',
            uri: 'sip:alice@127.0.0.1:5090',
            state: 'active',
            event: 'created',
            expires: 60,
            callId: '1-2164@127.0.0.1',
            cseq: 1,
            unknownParams: [],
          },
        ],
      },
    ],
    warnings: [],
  });
});

test('Kamailio 5.6 documents: two contacts, an unregistered one, a terminated registration without contacts', () => {
  const two = parseReginfo(fixtureFile('reginfo', 'kamailio-3-second-contact.xml'));
  assert.deepEqual(
    two.registrations[0]!.contacts.map((c) => [c.uri, c.state, c.event, c.expires]),
    [
      ['sip:alice@127.0.0.1:5090', 'active', 'registered', 59],
      ['sip:alice@127.0.0.1:5091', 'active', 'created', 3],
    ],
  );
  const unregistered = parseReginfo(fixtureFile('reginfo', 'kamailio-4-unregistered.xml'));
  assert.deepEqual(
    unregistered.registrations[0]!.contacts.map((c) => [c.state, c.event, c.expires]),
    [
      ['terminated', 'unregistered', 58],
      ['active', 'registered', 2],
    ],
  );
  const expired = parseReginfo(fixtureFile('reginfo', 'kamailio-5-expired.xml'));
  assert.deepEqual(expired.registrations, [
    { aor: 'sip:alice@example.com', id: '0x7fc22f135c28', state: 'terminated', contacts: [] },
  ]);
  assert.deepEqual(expired.warnings, []);
});

test('every RFC 3680 contact field, prefixes, xml:lang and unknown-param', () => {
  const xml =
    `<r:reginfo xmlns:r="${NS}" xmlns:x="urn:example:ext" version="7" state="partial">` +
    '<r:registration aor="sip:bob@example.com" id="a7" state="init">' +
    '<r:contact id="c1" state="active" event="shortened" expires="30" q="0.5" retry-after="10" duration-registered="99" callid="abc" cseq="4">' +
    '<r:uri> sip:bob@192.0.2.1 </r:uri>' +
    '<r:display-name xml:lang="en">Bob &amp; co</r:display-name>' +
    '<r:unknown-param name="+sip.instance">"&lt;urn:uuid:1&gt;"</r:unknown-param>' +
    '<r:unknown-param name="reg-id">1</r:unknown-param>' +
    '<x:gruu>ignored</x:gruu>' +
    '</r:contact>' +
    '<x:other/>' +
    '</r:registration>' +
    '</r:reginfo>';
  const document = parseReginfo(xml);
  assert.equal(document.version, 7);
  assert.equal(document.state, 'partial');
  assert.deepEqual(document.registrations[0], {
    aor: 'sip:bob@example.com',
    id: 'a7',
    state: 'init',
    contacts: [
      {
        id: 'c1',
        uri: 'sip:bob@192.0.2.1',
        state: 'active',
        event: 'shortened',
        expires: 30,
        q: 0.5,
        retryAfter: 10,
        durationRegistered: 99,
        callId: 'abc',
        cseq: 4,
        displayName: { text: 'Bob & co', lang: 'en' },
        unknownParams: [
          { name: '+sip.instance', value: '"<urn:uuid:1>"' },
          { name: 'reg-id', value: '1' },
        ],
      },
    ],
  });
  assert.deepEqual(document.warnings, []);
});

test('xml:lang is inherited by display-name', () => {
  const document = parseReginfo(
    `<reginfo xmlns="${NS}" version="0" state="full" xml:lang="fr"><registration aor="a" id="r" state="active">` +
      '<contact id="c" state="active" event="registered"><uri>sip:a@b</uri><display-name>Zoé</display-name></contact>' +
      '</registration></reginfo>',
  );
  assert.deepEqual(document.registrations[0]!.contacts[0]!.displayName, { text: 'Zoé', lang: 'fr' });
});

test('enumerations are read without regard to case; values that are not needed become warnings', () => {
  const document = parseReginfo(
    `<reginfo xmlns="${NS}" version="1" state="Full"><registration aor="a" id="r" state="ACTIVE">` +
      '<contact id="c1" state="Active" event="Created" expires="-1" q="2" cseq="x" retry-after="soon"><uri>sip:a@b</uri></contact>' +
      '<contact id="c2" state="active" event="exploded"><uri>sip:a@c</uri><unknown-param>v</unknown-param></contact>' +
      '<contact id="c3" state="active"><uri>sip:a@d</uri></contact>' +
      '</registration></reginfo>',
  );
  assert.equal(document.state, 'full');
  const [c1, c2, c3] = document.registrations[0]!.contacts;
  assert.equal(document.registrations[0]!.state, 'active');
  assert.equal(c1!.state, 'active');
  assert.equal(c1!.event, 'created');
  assert.equal(c1!.expires, undefined);
  assert.equal(c1!.q, undefined);
  assert.equal(c2!.event, undefined);
  assert.equal(c3!.event, undefined);
  assert.deepEqual(document.warnings, [
    'contact "c1": invalid expires "-1"',
    'contact "c1": invalid retry-after "soon"',
    'contact "c1": invalid cseq "x"',
    'contact "c1": invalid q "2"',
    'contact "c2": <unknown-param> without name',
    'contact "c2": unknown event "exploded"',
    'contact "c3": no event',
  ]);
});

test('bytes: UTF-8 with a byte order mark is read', () => {
  const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), fixtureFile('reginfo', 'kamailio-1-created.xml')]);
  assert.equal(parseReginfo(body).registrations.length, 1);
});

test('errors: empty, encoding, XML, DOCTYPE, root, limits', () => {
  throwsReginfo(() => parseReginfo(''), 'REGINFO_ERR_EMPTY');
  throwsReginfo(() => parseReginfo(' \r\n\t'), 'REGINFO_ERR_EMPTY');
  throwsReginfo(() => parseReginfo(new Uint8Array([0x3c, 0xff, 0xfe])), 'REGINFO_ERR_ENCODING');
  throwsReginfo(() => parseReginfo(`<reginfo xmlns="${NS}" version="0" state="full">`), 'REGINFO_ERR_XML');
  throwsReginfo(() => parseReginfo('<a:reginfo version="0" state="full"/>'), 'REGINFO_ERR_XML');
  throwsReginfo(
    () =>
      parseReginfo(
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
          `<reginfo xmlns="${NS}" version="0" state="full">&x;</reginfo>`,
      ),
    'REGINFO_ERR_DOCTYPE',
  );
  throwsReginfo(() => parseReginfo('<reginfo version="0" state="full"/>'), 'REGINFO_ERR_NOT_REGINFO', /root element/);
  throwsReginfo(
    () => parseReginfo(`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info"/>`),
    'REGINFO_ERR_NOT_REGINFO',
  );
  const big = fixtureFile('reginfo', 'kamailio-3-second-contact.xml');
  throwsReginfo(() => parseReginfo(big, { maxBytes: 100 }), 'REGINFO_ERR_LIMIT', /exceeds the limit of 100/);
  throwsReginfo(() => parseReginfo(big, { maxDepth: 3 }), 'REGINFO_ERR_LIMIT', /deeper than 3/);
  throwsReginfo(() => parseReginfo(big, { maxElements: 4 }), 'REGINFO_ERR_LIMIT', /more than 4 elements/);
  // The reader is reusable after each of these.
  assert.equal(parseReginfo(big).registrations[0]!.contacts.length, 2);
});

test('errors: what a subscriber cannot do without is REGINFO_ERR_INVALID', () => {
  const doc = (root: string, inner = '') => `<reginfo xmlns="${NS}" ${root}>${inner}</reginfo>`;
  const registration = (attributes: string, inner = '') => doc('version="0" state="full"', `<registration ${attributes}>${inner}</registration>`);
  throwsReginfo(() => parseReginfo(doc('state="full"')), 'REGINFO_ERR_INVALID', /version/);
  throwsReginfo(() => parseReginfo(doc('version="-1" state="full"')), 'REGINFO_ERR_INVALID', /version/);
  throwsReginfo(() => parseReginfo(doc('version="1e3" state="full"')), 'REGINFO_ERR_INVALID', /version/);
  throwsReginfo(() => parseReginfo(doc('version="0"')), 'REGINFO_ERR_INVALID', /state/);
  throwsReginfo(() => parseReginfo(doc('version="0" state="some"')), 'REGINFO_ERR_INVALID', /state/);
  throwsReginfo(() => parseReginfo(registration('aor="a" state="active"')), 'REGINFO_ERR_INVALID', /id/);
  throwsReginfo(() => parseReginfo(registration('id="r" state="active"')), 'REGINFO_ERR_INVALID', /aor/);
  throwsReginfo(() => parseReginfo(registration('id="r" aor=" " state="active"')), 'REGINFO_ERR_INVALID', /aor/);
  throwsReginfo(() => parseReginfo(registration('id="r" aor="a" state="gone"')), 'REGINFO_ERR_INVALID', /state/);
  const contact = (attributes: string, inner: string) =>
    registration('id="r" aor="a" state="active"', `<contact ${attributes}>${inner}</contact>`);
  throwsReginfo(() => parseReginfo(contact('state="active" event="created"', '<uri>u</uri>')), 'REGINFO_ERR_INVALID', /id/);
  throwsReginfo(() => parseReginfo(contact('id="c" event="created"', '<uri>u</uri>')), 'REGINFO_ERR_INVALID', /state/);
  throwsReginfo(() => parseReginfo(contact('id="c" state="pending"', '<uri>u</uri>')), 'REGINFO_ERR_INVALID', /state/);
  throwsReginfo(() => parseReginfo(contact('id="c" state="active"', '')), 'REGINFO_ERR_INVALID', /<uri>/);
  throwsReginfo(() => parseReginfo(contact('id="c" state="active"', '<uri> </uri>')), 'REGINFO_ERR_INVALID', /<uri>/);
  throwsReginfo(
    () => parseReginfo(contact('id="c" state="active"', '<uri xmlns="urn:other">u</uri>')),
    'REGINFO_ERR_INVALID',
    /<uri>/,
  );
});
