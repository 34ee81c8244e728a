import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeXmlBody, isQValue, parseNonNegativeInteger, parseXmlBoolean, parseXmlEnum, qValueOf, readXmlDocument, readXmlTree } from '../../../src/xml/index.js';

/** A reader's coded error, with codes of this test's own (the readers' real codes are registered ones). */
class TestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
const codes = { EMPTY: 'T_EMPTY', ENCODING: 'T_ENCODING', XML: 'T_XML', DOCTYPE: 'T_DOCTYPE', LIMIT: 'T_LIMIT' } as const;
const limits = { maxBytes: 1000, maxDepth: 4, maxElements: 10 };
const read = (body: string | Uint8Array) => readXmlDocument(body, 'test', limits, codes, (code, message, options) => new TestError(code, message, options));

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error: unknown) => error instanceof TestError && error.code === code);
}

test('the tree: namespaces by URI, unqualified attributes, inherited xml:lang, text with CDATA, comments dropped', () => {
  const root = read(
    '<?xml version="1.0"?><a:root xmlns:a="urn:a" xmlns="urn:d" x="1" a:y="2" xml:lang="en">' +
      '<child>one<!-- c --><![CDATA[ <two> ]]>&amp;</child><?pi x?><a:other xml:lang="fr"><deep/></a:other></a:root>',
  );
  assert.deepEqual([root.uri, root.local, [...root.attributes], root.lang], ['urn:a', 'root', [['x', '1']], 'en']);
  const [child, other] = root.children;
  assert.deepEqual([child!.uri, child!.local, child!.text, child!.lang], ['urn:d', 'child', 'one <two> &', 'en']);
  assert.deepEqual([other!.uri, other!.lang, other!.children[0]!.lang], ['urn:a', 'fr', 'fr']);
});

test('coded errors only, and the shared reader is reusable after each', () => {
  throwsCode(() => read(''), 'T_EMPTY');
  throwsCode(() => read(new Uint8Array([0xff])), 'T_ENCODING');
  throwsCode(() => read('x'.repeat(1001)), 'T_LIMIT');
  throwsCode(() => read('<a><b></a>'), 'T_XML');
  throwsCode(() => read('<p:a/>'), 'T_XML');
  throwsCode(() => read('<a/><b/>'), 'T_XML');
  throwsCode(() => read('<!DOCTYPE a><a/>'), 'T_DOCTYPE');
  throwsCode(() => read('<a><a><a><a><a/></a></a></a></a>'), 'T_LIMIT');
  throwsCode(() => read(`<a>${'<b/>'.repeat(10)}</a>`), 'T_LIMIT');
  assert.equal(read('<a><b/></a>').children.length, 1);
});

test('a re-entrant read (from inside an error factory) gets a reader of its own', () => {
  let inner: string | undefined;
  assert.throws(() =>
    readXmlTree('<a>', 'outer', limits, (problem, message) => {
      inner = readXmlTree('<b/>', 'inner', limits, () => new Error('no')).local;
      return new TestError('T_' + problem, message);
    }),
  );
  assert.equal(inner, 'b');
});

test('decodeXmlBody: byte order marks dropped, messages carry the label', () => {
  const fail = (problem: string, message: string) => new TestError(problem, message);
  assert.equal(decodeXmlBody(new Uint8Array([0xef, 0xbb, 0xbf, 0x3c, 0x61, 0x2f, 0x3e]), 100, 'L', fail), '<a/>');
  assert.equal(decodeXmlBody('\ufeff<a/>', 100, 'L', fail), '<a/>');
  assert.throws(() => decodeXmlBody('<a/>', 3, 'L', fail), { message: 'L: body of 4 bytes exceeds the limit of 3' });
});

test('value readers', () => {
  assert.deepEqual(['0', '1', '0.5', '0.123', '1.000', '1.5', '2', '.5', '0.1234', ''].map(isQValue), [true, true, true, true, true, false, false, false, false, false]);
  assert.deepEqual(['0', ' 42 ', '+7', '-1', '1e3', '', '+', '9007199254740993'].map((v) => parseNonNegativeInteger(v)), [0, 42, 7, undefined, undefined, undefined, undefined, undefined]);
  assert.equal(parseNonNegativeInteger('700', 699), undefined);
  assert.deepEqual(['true', '1', ' false ', '0', 'TRUE', 'yes'].map(parseXmlBoolean), [true, true, false, false, undefined, undefined]);
  assert.deepEqual(['Trying', ' early ', 'EARLY', 'ringing', undefined].map((v) => parseXmlEnum(v, ['trying', 'early'] as const)), ['trying', 'early', 'early', undefined, undefined]);
});

test('qValueOf gives Number(value) for every qvalue and undefined for anything else', () => {
  const forms: string[] = ['0', '1', '0.', '1.', '1.0', '1.00', '1.000'];
  for (let d = 0; d < 10; d++) {
    forms.push(`0.${d}`);
    for (let e = 0; e < 10; e++) {
      forms.push(`0.${d}${e}`);
      for (let f = 0; f < 10; f++) forms.push(`0.${d}${e}${f}`);
    }
  }
  for (const form of forms) assert.equal(qValueOf(form), isQValue(form) ? Number(form) : undefined, form);
  for (const bad of ['1.5', '2', '.5', '0.1234', '', ' 0.5', '0.5 ', '1.001', '01', '0,5', '+0.5']) assert.equal(qValueOf(bad), undefined, bad);
});
