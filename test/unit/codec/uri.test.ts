import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatUri, isSipUri, parseSipUri, parseUri, SipParseError, uriEquals } from '../../../src/sip/codec/index.js';

function isUriError(e: unknown): boolean {
  return e instanceof SipParseError && e.code === 'SIP_ERR_PARSE_URI';
}

describe('parseUri', () => {
  test('sip URI with every part', () => {
    const uri = parseSipUri('sip:alice:secret@Atlanta.COM:5061;Transport=TCP;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
    assert.equal(uri.scheme, 'sip');
    assert.equal(uri.user, 'alice');
    assert.equal(uri.password, 'secret');
    assert.equal(uri.host, 'atlanta.com', 'host lower-cased');
    assert.equal(uri.port, 5061);
    assert.deepEqual([...uri.params], [
      ['transport', 'TCP'],
      ['lr', null],
      ['maddr', '239.255.255.1'],
    ]);
    assert.deepEqual([...uri.headers], [
      ['subject', 'project%20x'],
      ['priority', 'urgent'],
    ]);
  });

  test('sips, no user, IPv6 reference', () => {
    const uri = parseSipUri('SIPS:[2001:DB8::1]:5061');
    assert.equal(uri.scheme, 'sips');
    assert.equal(uri.user, undefined);
    assert.equal(uri.host, '[2001:db8::1]');
    assert.equal(uri.port, 5061);
  });

  test('user part may hold ; ? / , (RFC 4475 §3.1.1.9)', () => {
    const uri = parseSipUri('sip:user;par=u%40example.net@example.com');
    assert.equal(uri.user, 'user;par=u%40example.net');
    assert.equal(uri.host, 'example.com');
    assert.equal(uri.params.size, 0);
  });

  test('tel URI', () => {
    const uri = parseUri('tel:+1-201-555-0123;phone-context=example.com');
    assert.equal(uri.scheme, 'tel');
    assert.ok('number' in uri);
    assert.equal(uri.number, '+1-201-555-0123');
    assert.equal(uri.params.get('phone-context'), 'example.com');
  });

  test('unknown schemes are kept opaque', () => {
    const uri = parseUri('urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    assert.deepEqual(uri, { scheme: 'urn', value: 'uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6' });
    assert.equal(formatUri(uri), 'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6');
    assert.ok(!isSipUri(uri));
  });

  test('bad URIs throw SIP_ERR_PARSE_URI', () => {
    for (const text of ['', 'alice@example.com', '1sip:a@b', 'sip:', 'sip:a@', 'sip:a@b:99999', 'sip:a@b:x', 'sip:a b@c', 'sip:a@b;;x', 'sip:a@[::1', 'sip:a@b?h', 'sip:@b', 'sip:a@b/c']) {
      assert.throws(() => parseUri(text), isUriError, text);
    }
    assert.throws(() => parseSipUri('tel:+123'), isUriError);
  });

  test('formatUri gives the text back', () => {
    for (const text of [
      'sip:alice@atlanta.com',
      'sips:alice:pw@atlanta.com:5061;transport=tcp;lr?subject=x&priority=urgent',
      'sip:[2001:db8::1]:5060',
      'tel:+12015550123;phone-context=example.com',
      'sip:user;par=u%40example.net@example.com',
    ]) {
      assert.equal(formatUri(parseUri(text)), text);
    }
  });
});

describe('uriEquals (RFC 3261 §19.1.4 examples)', () => {
  const equal = (a: string, b: string) => uriEquals(parseUri(a), parseUri(b));

  test('equivalent URIs', () => {
    assert.ok(equal('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'));
    assert.ok(equal('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'));
    assert.ok(equal('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'));
    assert.ok(equal('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'));
    assert.ok(
      equal(
        'sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
        'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com',
      ),
    );
    assert.ok(equal('sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'));
  });

  test('a URI equals itself, also with header names that differ only in case (found writing the fuzz target)', () => {
    for (const text of ['sip:a@b?A=1&a=2', 'sip:a@b?a=%20&A=b', 'sip:a@b?Subject=x&subject=x']) assert.ok(equal(text, text), text);
    assert.ok(equal('sip:a@b?Subject=x', 'sip:a@b?subject=x'));
    assert.ok(!equal('sip:a@b?A=1&a=2', 'sip:a@b?a=2'));
  });

  test('non-equivalent URIs', () => {
    assert.ok(!equal('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'));
    assert.ok(!equal('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'));
    assert.ok(!equal('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'));
    assert.ok(!equal('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'));
    assert.ok(!equal('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'));
    assert.ok(!equal('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'));
    assert.ok(!equal('sip:bob@biloxi.com', 'sips:bob@biloxi.com'));
    assert.ok(!equal('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;newparam=6'));
  });

  test('tel and opaque URIs', () => {
    assert.ok(equal('tel:+1-201-555-0123', 'tel:+1.201.555.0123'));
    assert.ok(!equal('tel:+1-201-555-0123', 'tel:+1-201-555-0124'));
    assert.ok(equal('urn:x:y', 'URN:x:y'));
    assert.ok(!equal('urn:x:y', 'urn:x:z'));
  });
});
