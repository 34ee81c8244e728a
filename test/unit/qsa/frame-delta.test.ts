import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RESYNC_RUN, RESYNC_WINDOW, decodeFrameDelta, encodeFrameDelta, frameDeltaHolds } from '../../../src/qsa/frame-delta.js';

// Issue 11: a kept body written as its differences from a frame (docs/establishment.md §16).

const encoder = new TextEncoder();

/** A PIDF of one template: entity, tuple id, basic status and note differ from one presentity to the next. */
function pidf(user: number, seq: number, open: boolean): Uint8Array {
  return encoder.encode(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:user${user}@example.com">\n` +
      `  <tuple id="s${seq}t${seq * 7919}">\n` +
      `    <status><basic>${open ? 'open' : 'closed'}</basic></status>\n` +
      '    <contact priority="0.8">sip:alice@192.0.2.10:5060;transport=udp</contact>\n' +
      `    <note>seq ${seq}</note>\n` +
      '    <timestamp>2026-11-27T04:03:00Z</timestamp>\n' +
      '  </tuple>\n' +
      '  <dm:person id="p1a2b3"><rpid:activities><rpid:on-the-phone/></rpid:activities></dm:person>\n' +
      '</presence>\n',
  );
}

function roundTrip(frame: Uint8Array, body: Uint8Array): { deltaBytes: number; copiedBytes: number } | undefined {
  const out = new Uint8Array(body.length + 16);
  const size = { deltaBytes: 0, copiedBytes: 0 };
  if (!encodeFrameDelta(frame, body, body.length, out, size)) return undefined;
  // At an offset, as in a slab's slot.
  const slab = new Uint8Array(size.deltaBytes + 40);
  slab.set(out.subarray(0, size.deltaBytes), 17);
  const read = new Uint8Array(body.length);
  decodeFrameDelta(frame, slab, 17, body.length, read);
  assert.deepEqual(read, body);
  assert.ok(frameDeltaHolds(frame, slab, 17, body.length, body));
  return size;
}

test('two presentities of one template: only the differing runs are kept (a quarter of the cut between the shared start and end)', () => {
  const frame = pidf(1, 12, true);
  const body = pidf(57_821, 912_345, false);
  const size = roundTrip(frame, body)!;
  let head = 0;
  while (frame[head] === body[head]) head++;
  let tail = 0;
  while (frame[frame.length - 1 - tail] === body[body.length - 1 - tail]) tail++;
  const between = body.length - head - tail;
  assert.ok(size.deltaBytes * 3 < between, `${size.deltaBytes} bytes of delta, ${between} between the shared start and end`);
  assert.ok(size.deltaBytes < 64, `${size.deltaBytes} bytes`);
  assert.ok(size.copiedBytes > body.length - 40);
});

test('the frame itself is one copy edit; a body that shares nothing is not worth a delta', () => {
  const frame = pidf(3, 4, true);
  const self = roundTrip(frame, frame)!;
  assert.equal(self.copiedBytes, frame.length);
  assert.ok(self.deltaBytes <= 6);
  const unlike = new Uint8Array(300).map((_, j) => (j * 17 + ((j * j) >> 3)) & 0xff);
  assert.equal(encodeFrameDelta(frame, unlike, unlike.length, new Uint8Array(400), { deltaBytes: 0, copiedBytes: 0 }), false);
});

test('edits beyond the resync window, long runs (multi-byte lengths) and a body longer than its frame round-trip', () => {
  const frame = encoder.encode('a'.repeat(200) + 'MIDDLE' + 'b'.repeat(15_000));
  // Inserted run longer than the window: no agreement found near, the rest is added as it is.
  const inserted = encoder.encode('a'.repeat(200) + 'x'.repeat(RESYNC_WINDOW + 10) + 'MIDDLE' + 'b'.repeat(15_000));
  assert.equal(roundTrip(frame, inserted)!.copiedBytes, 200, 'after the insertion, the rest is added as it is');
  // A short edit in a long body: copy lengths of two and three bytes.
  const edited = encoder.encode('a'.repeat(200) + 'MIDDLE' + 'b'.repeat(300) + 'c' + 'b'.repeat(14_699));
  const small = roundTrip(frame, edited)!;
  assert.ok(small.deltaBytes < 16, `${small.deltaBytes} bytes`);
  // Longer than the frame: its tail is added.
  const longer = new Uint8Array(frame.length + 50).fill(0x7a);
  longer.set(frame);
  assert.ok(roundTrip(frame, longer)!.deltaBytes < 64);
  // Shorter than the frame, cut within the resync run.
  roundTrip(frame, frame.subarray(0, RESYNC_RUN + 3).slice());
});

test('holds() is false for a change anywhere: a byte, the length, the frame', () => {
  const frame = pidf(1, 12, true);
  const body = pidf(42, 77, false);
  const out = new Uint8Array(body.length);
  assert.ok(encodeFrameDelta(frame, body, body.length, out, { deltaBytes: 0, copiedBytes: 0 }));
  for (let at = 0; at < body.length; at += 7) {
    const changed = body.slice();
    changed[at] = changed[at]! ^ 1;
    assert.equal(frameDeltaHolds(frame, out, 0, body.length, changed), false, `byte ${at}`);
  }
  assert.equal(frameDeltaHolds(frame, out, 0, body.length, body.subarray(0, body.length - 1)), false);
  const otherFrame = frame.slice();
  otherFrame[5] = otherFrame[5]! ^ 1;
  assert.equal(frameDeltaHolds(otherFrame, out, 0, body.length, body), false);
});

test('property: any body against any frame decodes to itself; bodies made by editing the frame compress', () => {
  const bytes = fc.uint8Array({ minLength: 0, maxLength: 600 });
  const edit = fc.record({ at: fc.nat(), cut: fc.nat({ max: 80 }), put: fc.uint8Array({ maxLength: 80 }) });
  fc.assert(
    fc.property(bytes, bytes, fc.array(edit, { maxLength: 6 }), (frame, unrelated, edits) => {
      if (unrelated.length > 0) roundTrip(frame, unrelated);
      let body = frame.slice();
      for (const e of edits) {
        const at = body.length === 0 ? 0 : e.at % body.length;
        const next = new Uint8Array(body.length - Math.min(e.cut, body.length - at) + e.put.length);
        next.set(body.subarray(0, at));
        next.set(e.put, at);
        next.set(body.subarray(at + Math.min(e.cut, body.length - at)), at + e.put.length);
        body = next;
      }
      if (body.length > 0) roundTrip(frame, body);
      return true;
    }),
    { numRuns: 300, seed: 16 },
  );
});
