import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { buildMultipartRelated, fuzzMultipart, MultipartError, parseMultipart, relatedRootPart } from '../../../src/multipart/index.js';
import { SeededRandom } from '../../../src/util/random.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';
import { arbitraryMutation, mutate } from '../../support/xml-arbitraries.js';

/** Bytes that like to look like line ends and delimiters. */
const tricky = fc.array(
  fc.oneof(
    fc.uint8Array({ maxLength: 20 }),
    fc.constantFrom(...['\r\n', '\n', '\r', '--', '\r\n--', '\r\n\r\n', 'Content-ID: <x>', ':'].map((s) => Buffer.from(s))),
  ),
  { maxLength: 12 },
).map((chunks) => new Uint8Array(Buffer.concat(chunks)));

const contentId = fc.stringMatching(/^[a-zA-Z0-9.@:_-]{1,20}$/);

test('property: built multipart/related bodies read back part for part, bytes exact', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.record({ contentId, body: tricky, contentType: fc.constantFrom('application/pidf+xml', 'text/plain;charset="UTF-8"', 'application/octet-stream') }, { noNullPrototype: true }), {
        minLength: 1,
        maxLength: 5,
        selector: (p) => p.contentId,
      }),
      fc.nat(),
      (parts, seed) => {
        const built = buildMultipartRelated({ type: 'application/rlmi+xml', parts, random: new SeededRandom(seed) });
        const parsed = parseMultipart(built.contentType, built.body);
        assert.equal(parsed.boundary, built.boundary);
        assert.equal(parsed.parts.length, parts.length);
        parsed.parts.forEach((part, i) => {
          assert.equal(part.contentId, parts[i]!.contentId);
          assert.equal(part.contentType, parts[i]!.contentType);
          assert.equal(part.contentTransferEncoding, 'binary');
          assert.deepEqual(Buffer.from(part.body), Buffer.from(parts[i]!.body));
        });
        assert.equal(relatedRootPart(parsed), parsed.parts[0]);
      },
    ),
    { numRuns: 500, seed: 31 },
  );
});

test('property: mutated Kamailio bodies, mutated Content-Types and random input never throw anything but MultipartError', () => {
  const inputs = [1, 2, 5].map((n) =>
    Buffer.concat([
      Buffer.from(fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim() + '\n', 'latin1'),
      fixtureFile('rlmi', `kamailio-notify-${n}.multipart`),
    ]),
  );
  fc.assert(
    fc.property(fc.constantFrom(...inputs), arbitraryMutation(), (input, mutation) => fuzzMultipart(mutate(input, mutation))),
    { numRuns: 2000, seed: 32 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => fuzzMultipart(bytes)), { numRuns: 500, seed: 33 });
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 80 }), tricky, (contentType, body) => {
      try {
        parseMultipart(contentType, body, { nested: true });
      } catch (error) {
        assert.ok(error instanceof MultipartError);
      }
    }),
    { numRuns: 500, seed: 34 },
  );
});
