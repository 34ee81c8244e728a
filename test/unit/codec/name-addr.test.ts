import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatNameAddr, parseNameAddr, SipParseError } from '../../../src/sip/codec/index.js';

describe('parseNameAddr', () => {
  test('quoted display name with escapes, header params lower-cased', () => {
    const n = parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com;LR> ; TAG = 98asjd8 ;Expires=60;x');
    assert.equal(n.displayName, 'J Rosenberg \\"');
    assert.equal(n.uri, 'sip:jdrosen@example.com;LR');
    assert.deepEqual([...n.params], [
      ['tag', '98asjd8'],
      ['expires', '60'],
      ['x', null],
    ]);
  });

  test('token display name, no space before <', () => {
    assert.deepEqual(parseNameAddr('caller<sip:caller@example.com>;tag=323'), {
      displayName: 'caller',
      uri: 'sip:caller@example.com',
      params: new Map([['tag', '323']]),
    });
    assert.equal(parseNameAddr('Bob   Smith <sip:b@example.com>').displayName, 'Bob   Smith');
    assert.equal(parseNameAddr('<sip:b@example.com>').displayName, undefined);
    assert.equal(parseNameAddr('"" <sip:b@example.com>').displayName, undefined);
  });

  test('addr-spec: parameters after ; are header parameters (RFC 3261 §20.10)', () => {
    const n = parseNameAddr('sip:+19725552222@gw1.example.net;unknownparam;tag=x');
    assert.equal(n.uri, 'sip:+19725552222@gw1.example.net');
    assert.deepEqual([...n.params.keys()], ['unknownparam', 'tag']);
    assert.equal(parseNameAddr('sip:b@example.com ;  tag = 1918181833n').params.get('tag'), '1918181833n');
  });

  test('quoted parameter values keep their quotes', () => {
    const n = parseNameAddr('<sip:a@b>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"');
    assert.equal(n.params.get('+sip.instance'), '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"');
  });

  test('errors', () => {
    for (const text of ['', '"unterminated <sip:a@b>', '<sip:a@b', 'Bob <nouri>', '<sip:a@b> junk', '<sip:a@b>;;tag=1', '<sip:a@b>;tag=', 'nobody', '"x" sip:a@b']) {
      assert.throws(
        () => parseNameAddr(text),
        (e: unknown) => e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_NAME_ADDR',
        text,
      );
    }
  });
});

describe('formatNameAddr', () => {
  test('always uses <>, quotes display names that are not tokens', () => {
    assert.equal(formatNameAddr({ uri: 'sip:a@b', params: new Map([['tag', '1']]) }), '<sip:a@b>;tag=1');
    assert.equal(formatNameAddr({ displayName: 'Bob', uri: 'sip:a@b', params: new Map() }), 'Bob <sip:a@b>');
    assert.equal(
      formatNameAddr({ displayName: 'Doe, "J"', uri: 'sip:a@b', params: new Map([['lr', null]]) }),
      '"Doe, \\"J\\"" <sip:a@b>;lr',
    );
  });

  test('round trip', () => {
    for (const text of ['"A \\"B\\"" <sip:a@b;lr>;tag=x;y', 'Bob <sip:a@b>', '<tel:+123>;expires=5']) {
      const n = parseNameAddr(text);
      assert.deepEqual(parseNameAddr(formatNameAddr(n)), n);
    }
  });
});
