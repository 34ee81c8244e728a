import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusFromBody } from '../../../src/presence/status-from-body.js';
import { fixtureBytes } from './fixtures.js';

test('no body or an empty one: no document, no error (Kamailio: nothing published)', () => {
  assert.deepEqual(statusFromBody(undefined, undefined), {});
  assert.deepEqual(statusFromBody('application/pidf+xml', new Uint8Array(0)), {});
  assert.deepEqual(statusFromBody('application/pidf+xml', '\r\n'), {});
});

test('valid PIDF: presence only', () => {
  const result = statusFromBody('application/pidf+xml', fixtureBytes('kamailio-single-tuple.xml'));
  assert.equal(result.error, undefined);
  assert.equal(result.document?.tuples[0]?.basic, 'open');
  // Parameters and case do not matter; a missing Content-Type is read as PIDF.
  assert.ok(statusFromBody('Application/PIDF+XML; charset=UTF-8', fixtureBytes('rich-dm-rpid.xml')).document);
  assert.ok(statusFromBody(undefined, fixtureBytes('rich-dm-rpid.xml')).document);
});

test('readable but invalid PIDF (baresip <basic>?</basic>): presence AND error PIDF_ERR_INVALID', () => {
  const result = statusFromBody('application/pidf+xml', fixtureBytes('baresip-basic-unknown.xml'));
  assert.equal(result.document?.tuples[0]?.id, 't4109');
  assert.equal(result.document?.tuples[0]?.basic, undefined);
  assert.deepEqual(result.error, {
    code: 'PIDF_ERR_INVALID',
    message: 'PIDF: tuple "t4109": invalid <basic> value "?"',
  });
});

test('unreadable bodies: error with the PidfError code, no presence', () => {
  for (const [file, code] of [
    ['malformed.xml', 'PIDF_ERR_XML'],
    ['doctype-xxe.xml', 'PIDF_ERR_DOCTYPE'],
    ['wrong-namespace.xml', 'PIDF_ERR_NOT_PIDF'],
  ] as const) {
    const result = statusFromBody('application/pidf+xml', fixtureBytes(file));
    assert.equal(result.document, undefined, file);
    assert.equal(result.error?.code, code, file);
  }
  const other = statusFromBody('multipart/related;type="application/rlmi+xml"', '--x\r\n');
  assert.equal(other.error?.code, 'PIDF_ERR_CONTENT_TYPE');
});
