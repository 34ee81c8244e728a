import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mappedBuffer, mappedFloat64Array, mappedInt32Array, unmapNow } from '../../../src/util/mapped-memory.js';

// Issue 11 (docs/establishment.md §15): memory for what a burst holds for a while is mapped by V8
// (a resizable ArrayBuffer's backing store), outside glibc's malloc, so that it goes back to the
// system when let go.

test('mapped memory: zeroed views of the length asked for, over a resizable buffer of exactly that size', () => {
  const bytes = mappedBuffer(65_536);
  assert.ok(Buffer.isBuffer(bytes));
  assert.equal(bytes.length, 65_536);
  assert.equal(bytes.byteOffset, 0);
  assert.ok(bytes.every((b) => b === 0));
  const ints = mappedInt32Array(1024);
  const doubles = mappedFloat64Array(1024);
  assert.equal(ints.length, 1024);
  assert.equal(doubles.length, 1024);
  for (const view of [bytes, ints, doubles]) {
    const buffer = view.buffer as ArrayBuffer & { resizable: boolean; maxByteLength: number };
    assert.equal(buffer.resizable, true, 'V8 maps a resizable buffer itself');
    assert.equal(buffer.maxByteLength, view.byteLength, 'and never grows it');
  }
});

test('mapped memory: the bulk copies the callers use read and write the same bytes as on a plain Buffer', () => {
  const bytes = mappedBuffer(4096);
  assert.equal(bytes.write('z9hG4bK\u00e9x', 10, 'utf8'), 10);
  bytes.set(Buffer.from('SIP/2.0 200 OK'), 100);
  assert.equal(bytes.toString('utf8', 10, 20), 'z9hG4bK\u00e9x');
  assert.equal(Buffer.from(bytes.subarray(100, 114)).toString(), 'SIP/2.0 200 OK');
  const ints = mappedInt32Array(8).fill(-1);
  const wider = mappedInt32Array(16);
  wider.set(ints.subarray(2, 6), 12);
  assert.deepEqual([...wider.subarray(10)], [0, 0, -1, -1, -1, -1]);
});

test('mapped memory: unmapNow gives the pages back at once; every view of the buffer then reads as empty', () => {
  const bytes = mappedBuffer(64 * 1024);
  bytes.fill(7);
  const other = new Int32Array(bytes.buffer, 4096, 16);
  unmapNow(bytes);
  assert.equal(bytes.buffer.byteLength, 0, 'the buffer holds no memory now');
  assert.equal(bytes.length, 0);
  assert.equal(other.length, 0, 'another view of it too');
  assert.equal(bytes[0], undefined);
});
