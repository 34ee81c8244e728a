import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildMultipartRelated,
  findPartByContentId,
  MultipartError,
  parseMultipart,
  relatedRootPart,
} from '../../../src/multipart/index.js';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { type Random, SeededRandom } from '../../../src/util/random.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';

function throwsMultipart(fn: () => unknown, code: string, pattern?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MultipartError, `expected MultipartError, got ${String(error)}`);
    assert.ok(error instanceof PresenceB2BError);
    assert.equal(error.code, code);
    if (pattern !== undefined) assert.match(error.message, pattern);
    return true;
  });
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const CT = 'multipart/related;type="text/plain";boundary="b1"';

test('the Kamailio 5.6 RLMI NOTIFY body: three parts, the root named by start, bodies exact', () => {
  const contentType = fixtureFileText('rlmi', 'kamailio-notify-2.content-type').trim();
  const multipart = parseMultipart(contentType, fixtureFile('rlmi', 'kamailio-notify-2.multipart'));
  assert.equal(multipart.mediaType, 'multipart/related');
  assert.equal(multipart.boundary, 'mrZbhmDOy2iBZRIrGZYEI6WP');
  assert.equal(multipart.params.get('type'), 'application/rlmi+xml');
  assert.equal(multipart.params.get('start'), '<1795755195.sip:friends@example.com.820205017>');
  assert.equal(multipart.preamble.length, 0);
  assert.equal(multipart.epilogue.length, 0);
  assert.deepEqual(
    multipart.parts.map((p) => [p.contentId, p.mediaType, p.contentTransferEncoding]),
    [
      ['1795755195.sip:friends@example.com.820205017', 'application/rlmi+xml', 'binary'],
      ['1795755195.sip:alice@example.com.2125710023', 'application/pidf+xml', 'binary'],
      ['1795755195.sip:carol@example.com.1635897326', 'application/pidf+xml', 'binary'],
    ],
  );
  const root = relatedRootPart(multipart);
  assert.equal(root, multipart.parts[0]);
  assert.equal(root.params.get('charset'), 'UTF-8');
  assert.equal(root.contentType, 'application/rlmi+xml;charset="UTF-8"');
  assert.ok(text(root.body).startsWith('<?xml version="1.0"?>\n<list uri="sip:friends@example.com"'));
  assert.ok(text(root.body).endsWith('</list>\n'), 'the CRLF before the delimiter is not part of the body');
  const alice = findPartByContentId(multipart, '<1795755195.sip:alice@example.com.2125710023>');
  assert.ok(text(alice!.body).endsWith('</presence>\r\n'));
  assert.equal(findPartByContentId(multipart, '1795755195.sip:carol@example.com.1635897326'), multipart.parts[2]);
  assert.equal(findPartByContentId(multipart, 'nope'), undefined);
  assert.deepEqual(alice!.headers[0], { name: 'Content-Transfer-Encoding', value: 'binary' });
});

test('the same body with bare LF line ends reads the same', () => {
  const contentType = fixtureFileText('rlmi', 'kamailio-notify-2.content-type').trim();
  const crlf = fixtureFile('rlmi', 'kamailio-notify-2.multipart');
  const lf = Buffer.from(crlf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  const a = parseMultipart(contentType, crlf);
  const b = parseMultipart(contentType, lf);
  assert.deepEqual(
    b.parts.map((p) => [p.contentId, text(p.body)]),
    a.parts.map((p) => [p.contentId, text(p.body).replace(/\r\n/g, '\n')]),
  );
});

test('preamble, epilogue, transport padding, a part without headers, folded headers, text that only looks like a delimiter', () => {
  const body =
    'This is the preamble.\r\n--b1 \t\r\n' +
    'content-type: text/plain;\r\n  charset=us-ascii\r\nX-Other:  v \r\n\r\n' +
    'line one\r\n--b1x is text\r\nnot --b1 either\r\n' +
    '--b1\r\n\r\nno headers here\r\n' +
    '--b1\r\n' +
    '--b1--  \r\nThe epilogue.\r\n';
  const multipart = parseMultipart(CT, body);
  assert.equal(text(multipart.preamble), 'This is the preamble.');
  assert.equal(text(multipart.epilogue), 'The epilogue.\r\n');
  assert.equal(multipart.parts.length, 3);
  const [first, second, third] = multipart.parts;
  assert.deepEqual(first!.headers, [
    { name: 'content-type', value: 'text/plain; charset=us-ascii' },
    { name: 'X-Other', value: 'v' },
  ]);
  assert.equal(first!.params.get('charset'), 'us-ascii');
  assert.equal(text(first!.body), 'line one\r\n--b1x is text\r\nnot --b1 either');
  assert.deepEqual(second!.headers, []);
  assert.equal(second!.mediaType, 'text/plain', 'RFC 2046 §5.1 default');
  assert.equal(text(second!.body), 'no headers here');
  assert.deepEqual([third!.headers, third!.body.length], [[], 0]);
});

test('a body starting right at the first delimiter; a close delimiter at the very end without CRLF', () => {
  const multipart = parseMultipart(CT, '--b1\r\nContent-ID: <a>\r\n\r\nx\r\n--b1--');
  assert.deepEqual([multipart.parts[0]!.contentId, text(multipart.parts[0]!.body)], ['a', 'x']);
  assert.equal(multipart.epilogue.length, 0);
});

test('nested multiparts are parsed on request, within the depth limit', () => {
  const inner = buildMultipartRelated({
    type: 'text/plain',
    boundary: 'inner',
    parts: [{ contentType: 'text/plain', contentId: 'i1', body: 'deep' }],
  });
  const outer = buildMultipartRelated({
    type: 'text/plain',
    boundary: 'outer',
    parts: [
      { contentType: 'text/plain', contentId: 'o1', body: 'top' },
      { contentType: inner.contentType, contentId: 'o2', body: inner.body },
    ],
  });
  const flat = parseMultipart(outer.contentType, outer.body);
  assert.equal(flat.parts[1]!.multipart, undefined);
  const nested = parseMultipart(outer.contentType, outer.body, { nested: true });
  assert.equal(text(nested.parts[1]!.multipart!.parts[0]!.body), 'deep');
  throwsMultipart(() => parseMultipart(outer.contentType, outer.body, { nested: true, maxDepth: 1 }), 'MULTIPART_ERR_LIMIT', /deeper/);
  throwsMultipart(() => parseMultipart(outer.contentType, outer.body, { nested: true, maxParts: 2 }), 'MULTIPART_ERR_LIMIT', /parts/);
});

test('errors: Content-Type, boundary, empty, truncated', () => {
  throwsMultipart(() => parseMultipart('text/plain', '--b1\r\n\r\nx\r\n--b1--'), 'MULTIPART_ERR_CONTENT_TYPE', /not a multipart/);
  throwsMultipart(() => parseMultipart('multipart/', 'x'), 'MULTIPART_ERR_CONTENT_TYPE');
  throwsMultipart(() => parseMultipart('multipart/related;boundary="b1', 'x'), 'MULTIPART_ERR_CONTENT_TYPE');
  throwsMultipart(() => parseMultipart('multipart/related', '--b1\r\n\r\nx\r\n--b1--'), 'MULTIPART_ERR_BOUNDARY', /no boundary/);
  throwsMultipart(() => parseMultipart('multipart/related;boundary=""', 'x'), 'MULTIPART_ERR_BOUNDARY');
  throwsMultipart(() => parseMultipart(`multipart/related;boundary=${'a'.repeat(201)}`, 'x'), 'MULTIPART_ERR_BOUNDARY');
  throwsMultipart(() => parseMultipart('multipart/related;boundary="a "', 'x'), 'MULTIPART_ERR_BOUNDARY', /space/);
  throwsMultipart(() => parseMultipart('multipart/related;boundary="a\u00e9"', 'x'), 'MULTIPART_ERR_BOUNDARY');
  throwsMultipart(() => parseMultipart(CT, ''), 'MULTIPART_ERR_BOUNDARY', /no delimiter/);
  throwsMultipart(() => parseMultipart(CT, 'just text\r\n--b2\r\n'), 'MULTIPART_ERR_BOUNDARY', /no delimiter/);
  throwsMultipart(() => parseMultipart(CT, '--b1x\r\n\r\nx'), 'MULTIPART_ERR_BOUNDARY', /no delimiter/);
  throwsMultipart(() => parseMultipart(CT, '--b1'), 'MULTIPART_ERR_BOUNDARY');
  throwsMultipart(() => parseMultipart(CT, '--b1\r\n\r\nx\r\n--b1\r\n\r\ny'), 'MULTIPART_ERR_BOUNDARY', /close delimiter/);
  throwsMultipart(() => parseMultipart(CT, '--b1\r\n\r\nx\r\n--b1-'), 'MULTIPART_ERR_BOUNDARY', /close delimiter/);
  throwsMultipart(() => parseMultipart(CT, '--b1--\r\n'), 'MULTIPART_ERR_EMPTY');
});

test('errors: headers, transfer encoding, duplicate Content-ID, start, limits', () => {
  throwsMultipart(() => parseMultipart(CT, '--b1\r\nno colon\r\n\r\nx\r\n--b1--'), 'MULTIPART_ERR_HEADER', /malformed/);
  throwsMultipart(() => parseMultipart(CT, '--b1\r\n: empty name\r\n\r\nx\r\n--b1--'), 'MULTIPART_ERR_HEADER');
  throwsMultipart(() => parseMultipart(CT, '--b1\r\nbody without blank line\r\n--b1--'), 'MULTIPART_ERR_HEADER');
  throwsMultipart(() => parseMultipart(CT, '--b1\r\n folded: first\r\n\r\nx\r\n--b1--'), 'MULTIPART_ERR_HEADER', /continuation/);
  throwsMultipart(() => parseMultipart(CT, '--b1\r\nContent-Type: text\r\n\r\nx\r\n--b1--'), 'MULTIPART_ERR_HEADER', /Content-Type/);
  throwsMultipart(
    () => parseMultipart(CT, '--b1\r\nContent-Transfer-Encoding: base64\r\n\r\neA==\r\n--b1--'),
    'MULTIPART_ERR_ENCODING',
    /base64/,
  );
  throwsMultipart(
    () => parseMultipart(CT, '--b1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nx\r\n--b1--'),
    'MULTIPART_ERR_ENCODING',
  );
  assert.equal(parseMultipart(CT, '--b1\r\nContent-Transfer-Encoding: 8BIT\r\n\r\nx\r\n--b1--').parts[0]!.contentTransferEncoding, '8bit');
  throwsMultipart(
    () => parseMultipart(CT, '--b1\r\nContent-ID: <a>\r\n\r\nx\r\n--b1\r\nContent-ID: a\r\n\r\ny\r\n--b1--'),
    'MULTIPART_ERR_CONTENT_ID',
  );
  const withStart = parseMultipart('multipart/related;boundary=b1;start="<zz>"', '--b1\r\nContent-ID: <a>\r\n\r\nx\r\n--b1--');
  throwsMultipart(() => relatedRootPart(withStart), 'MULTIPART_ERR_START');
  const withoutStart = parseMultipart(CT, '--b1\r\nContent-ID: <a>\r\n\r\nx\r\n--b1\r\nContent-ID: <b>\r\n\r\ny\r\n--b1--');
  assert.equal(relatedRootPart(withoutStart).contentId, 'a', 'RFC 2387 §3.2: the first part by default');
  throwsMultipart(() => parseMultipart(CT, '--b1\r\n\r\nx\r\n--b1--', { maxBytes: 10 }), 'MULTIPART_ERR_LIMIT', /exceeds/);
  throwsMultipart(
    () => parseMultipart(CT, '--b1\r\n\r\nx\r\n--b1\r\n\r\ny\r\n--b1--', { maxParts: 1 }),
    'MULTIPART_ERR_LIMIT',
    /more than 1 parts/,
  );
  throwsMultipart(
    () => parseMultipart(CT, `--b1\r\nX: ${'v'.repeat(100)}\r\n\r\nx\r\n--b1--`, { maxHeaderBytes: 50 }),
    'MULTIPART_ERR_LIMIT',
    /header section/,
  );
});

test('builder: what an RLS sends, read back', () => {
  const built = buildMultipartRelated({
    type: 'application/rlmi+xml',
    boundary: 'simple-boundary',
    parts: [
      { contentType: 'application/rlmi+xml;charset="UTF-8"', contentId: 'root@x', body: '<list/>' },
      { contentType: 'application/pidf+xml', contentId: 'sip:alice@example.com.1', body: Buffer.from('<presence/>') },
    ],
  });
  assert.equal(built.contentType, 'multipart/related;type="application/rlmi+xml";start="<root@x>";boundary="simple-boundary"');
  assert.equal(
    Buffer.from(built.body).toString('latin1'),
    '--simple-boundary\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root@x>\r\n' +
      'Content-Type: application/rlmi+xml;charset="UTF-8"\r\n\r\n<list/>\r\n' +
      '--simple-boundary\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <sip:alice@example.com.1>\r\n' +
      'Content-Type: application/pidf+xml\r\n\r\n<presence/>\r\n--simple-boundary--\r\n',
  );
  const parsed = parseMultipart(built.contentType, built.body);
  assert.equal(relatedRootPart(parsed).contentId, 'root@x');
  assert.deepEqual(parsed.parts.map((p) => text(p.body)), ['<list/>', '<presence/>']);
});

test('builder: random boundaries come from the injected Random and avoid the parts', () => {
  const a = buildMultipartRelated({ type: 't/x', random: new SeededRandom(5), parts: [{ contentType: 't/x', body: 'x' }] });
  const b = buildMultipartRelated({ type: 't/x', random: new SeededRandom(5), parts: [{ contentType: 't/x', body: 'x' }] });
  assert.equal(a.boundary, b.boundary);
  assert.equal(a.boundary.length, 24);
  assert.doesNotMatch(a.contentType, /start=/, 'no start without a Content-ID');
  // A Random whose first token occurs in the body: the next one is taken.
  const tokens = ['aaaa', 'bbbb'];
  const scripted: Random = { next: () => 0, token: () => tokens.shift()! };
  const c = buildMultipartRelated({ type: 't/x', random: scripted, parts: [{ contentType: 't/x', body: 'x--aaaa' }] });
  assert.equal(c.boundary, 'bbbb');
  const stuck: Random = { next: () => 0, token: () => 'same' };
  throwsMultipart(
    () => buildMultipartRelated({ type: 't/x', random: stuck, parts: [{ contentType: 't/x', body: '--same' }] }),
    'MULTIPART_ERR_ARGUMENT',
  );
});

test('builder: unusable input is MULTIPART_ERR_ARGUMENT', () => {
  const part = { contentType: 'text/plain', contentId: 'a', body: 'x' };
  const cases: Parameters<typeof buildMultipartRelated>[0][] = [
    { type: 'text/plain', parts: [] },
    { type: '', parts: [part] },
    { type: 'text/"plain"', parts: [part] },
    { type: 'text/plain', parts: [part], boundary: '' },
    { type: 'text/plain', parts: [part], boundary: 'ends with space ' },
    { type: 'text/plain', parts: [part], boundary: 'x'.repeat(71) },
    { type: 'text/plain', parts: [part], boundary: 'semi;colon' },
    { type: 'text/plain', parts: [{ ...part, body: 'a\r\n--bb\r\n' }], boundary: 'bb' },
    { type: 'text/plain', parts: [part, part] },
    { type: 'text/plain', parts: [{ ...part, contentId: 'a>b' }] },
    { type: 'text/plain', parts: [{ ...part, contentId: '' }] },
    { type: 'text/plain', parts: [part], start: 'other' },
    { type: 'text/plain', parts: [{ ...part, contentType: 'text/plain\r\nX: injected' }] },
    { type: 'text/plain', parts: [{ ...part, headers: [{ name: 'Bad Name', value: 'v' }] }] },
    { type: 'text/plain', parts: [{ ...part, headers: [{ name: 'X', value: 'a\nb' }] }] },
  ];
  for (const input of cases) throwsMultipart(() => buildMultipartRelated(input), 'MULTIPART_ERR_ARGUMENT');
});
