import { Buffer } from 'node:buffer';

/**
 * Memory that V8 maps itself (mmap), outside glibc's malloc: the backing
 * store of a resizable ArrayBuffer (ES2024) is reserved and committed by V8's
 * page allocator, and unmapped when the buffer is collected, so its pages go
 * back to the system at once.
 *
 * Why (issue 11, docs/establishment.md §15): a plain ArrayBuffer, Buffer or
 * typed array of more than a few bytes is malloc'd. Memory a burst takes and
 * frees in the middle of glibc's main heap stays resident (glibc gives back
 * only the top of its heap), so what a burst of establishments needed for a
 * while (Timer J's responses, the kept bodies) stayed in the process's RSS at
 * rest. Blocks above glibc's mmap threshold do not help: once one is freed,
 * glibc raises the threshold and the next ones land in the main heap.
 *
 * The views made here are fixed-length and the buffer is never resized. A
 * byte stored or read one at a time through such a view costs more than
 * through a plain one in Node 20's optimized code (2× in a tight loop, up to
 * 20× measured in Timer J's key copy): bulk copies (Buffer#write,
 * TypedArray#set, Buffer#copy) cost the same, so use those.
 */

/** The resizable form of ArrayBuffer (Node 20's V8 has it; the ES2022 lib this builds against does not declare it). */
interface ResizableArrayBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

/** `bytes` zero bytes in memory of their own, outside malloc. */
function mappedArrayBuffer(bytes: number): ArrayBuffer {
  return new ResizableArrayBuffer(bytes, { maxByteLength: bytes });
}

/** A Buffer of `bytes` bytes over memory of its own, outside malloc. */
export function mappedBuffer(bytes: number): Buffer {
  return Buffer.from(mappedArrayBuffer(bytes), 0, bytes);
}

/** An Int32Array of `length` zeros over memory of its own, outside malloc. */
export function mappedInt32Array(length: number): Int32Array {
  return new Int32Array(mappedArrayBuffer(length * 4), 0, length);
}

/** A Float64Array of `length` zeros over memory of its own, outside malloc. */
export function mappedFloat64Array(length: number): Float64Array {
  return new Float64Array(mappedArrayBuffer(length * 8), 0, length);
}

/**
 * Gives the pages of a mapped view's memory back to the system now, not when
 * the garbage collector frees its buffer. The collector frees buffers in the
 * atomic pause of a mark-compact (V8's array buffer sweep, on the main thread
 * with --single-threaded-gc), and unmapping costs per page touched: 720
 * mapped 64 KB chunks, as a burst of 100,000 NOTIFYs leaves in Timer J, took
 * 9.5 ms of one full GC, against 4.6 ms once each was given back first
 * (docs/latency-tail.md, "Mapped memory given back before the GC"). Here the
 * cost falls where the memory is let go, a little at a time. Every view of
 * the buffer reads as empty afterwards: call it only on memory let go.
 */
export function unmapNow(view: ArrayBufferView): void {
  (view.buffer as ResizableArrayBuffer).resize(0);
}
