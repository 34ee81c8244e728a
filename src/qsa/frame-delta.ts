/**
 * A body written as its differences from a frame (another body of the same
 * kind, kept once): how the kept-body store keeps a last status that stayed
 * unchanged for a while (kept-body-store.ts, docs/establishment.md §13 and
 * §16). The documents of one presence server are one template filled in: two
 * PIDFs of different presentities differ in the entity, the tuple id, the
 * basic status and a note, a few short runs each, with the same markup
 * around them. Cutting only the shared start and end kept everything from the
 * first difference to the last (≈ 200 bytes of a 700-byte PIDF); this keeps
 * the differing runs alone (≈ 50 bytes).
 *
 * The delta is a list of edits, each three unsigned LEB128 numbers and some
 * bytes:
 *
 *   copy  c  the next c bytes of the body are the frame's at the frame cursor (which moves on by c)
 *   skip  s  the frame cursor moves on by s (frame bytes the body does not have)
 *   add   a  the next a bytes of the body follow here, as they are
 *
 * until the body's length (kept beside the delta, not in it) is reached. The
 * encoder is greedy: it copies while the bytes agree, and at a difference
 * looks for the nearest point (fewest bytes skipped and added, each at most
 * RESYNC_WINDOW) from which RESYNC_RUN bytes agree again; with none, the rest
 * of the body is added as it is. Any body round-trips, whatever it shares with
 * the frame; what it shares decides only whether the delta is worth keeping.
 *
 * I/O-free and allocation-free: the caller gives the arrays and the result's
 * object (the store's sweep compacts 100,000 bodies without making garbage, so
 * that V8 sees the process idle and gives its young generation back).
 */

/** Bytes that must agree for the encoder to take up copying again after a difference. */
export const RESYNC_RUN = 8;
/** How far (bytes of the body, and of the frame) the encoder looks for the next agreement after a difference. */
export const RESYNC_WINDOW = 64;

/** What encodeFrameDelta wrote (filled in by it). */
export interface FrameDeltaSize {
  /** Bytes of the delta written into `out`. */
  deltaBytes: number;
  /** Bytes of the body the delta takes from the frame (copy edits). */
  copiedBytes: number;
}

/**
 * Writes the delta of the first `length` bytes of `body` against `frame` into
 * `out` and its size into `size`: true, or false if it would not be shorter
 * than `length` (or than `out`), in which case `out` holds nothing of use.
 */
export function encodeFrameDelta(frame: Uint8Array, body: Uint8Array, length: number, out: Uint8Array, size: FrameDeltaSize): boolean {
  const frameLength = frame.length;
  const most = Math.min(length - 1, out.length);
  let at = 0; // in out
  let i = 0; // in body
  let f = 0; // in frame
  let copied = 0;
  for (;;) {
    let copy = 0;
    while (i + copy < length && f + copy < frameLength && body[i + copy] === frame[f + copy]) copy++;
    i += copy;
    f += copy;
    copied += copy;
    let skip = 0;
    let add = 0;
    if (i < length) {
      const resync = nearestAgreement(frame, f, body, i, length);
      if (resync < 0) add = length - i;
      else {
        skip = resync >>> 16;
        add = resync & 0xffff;
      }
    }
    if (at + leb128Bytes(copy) + leb128Bytes(skip) + leb128Bytes(add) + add > most) return false;
    at = writeLeb128(out, at, copy);
    at = writeLeb128(out, at, skip);
    at = writeLeb128(out, at, add);
    for (let k = 0; k < add; k++) out[at + k] = body[i + k]!;
    at += add;
    i += add;
    f += skip;
    if (i >= length) {
      size.deltaBytes = at;
      size.copiedBytes = copied;
      return true;
    }
  }
}

/**
 * After a difference at body[i] / frame[f]: the nearest (skip, add), both at
 * most RESYNC_WINDOW and by their sum first, from which RESYNC_RUN bytes of
 * the body and the frame agree, as skip << 16 | add; -1 if there is none.
 */
function nearestAgreement(frame: Uint8Array, f: number, body: Uint8Array, i: number, length: number): number {
  const frameRoom = frame.length - f - RESYNC_RUN;
  const bodyRoom = length - i - RESYNC_RUN;
  if (frameRoom < 0 || bodyRoom < 0) return -1;
  const maxSkip = Math.min(RESYNC_WINDOW, frameRoom);
  const maxAdd = Math.min(RESYNC_WINDOW, bodyRoom);
  for (let sum = 1; sum <= maxSkip + maxAdd; sum++) {
    const lowAdd = Math.max(0, sum - maxSkip);
    const highAdd = Math.min(sum, maxAdd);
    for (let add = lowAdd; add <= highAdd; add++) {
      const skip = sum - add;
      let k = 0;
      while (k < RESYNC_RUN && body[i + add + k] === frame[f + skip + k]) k++;
      if (k === RESYNC_RUN) return (skip << 16) | add;
    }
  }
  return -1;
}

/** Writes the body of `length` bytes that the delta at `delta[start…]` makes of `frame` into `out`. */
export function decodeFrameDelta(frame: Uint8Array, delta: Uint8Array, start: number, length: number, out: Uint8Array): void {
  walkEdits(frame, delta, start, length, out, true);
}

/** True if `bytes` (exactly `length` of them) are the body the delta at `delta[start…]` makes of `frame`; no copy made. */
export function frameDeltaHolds(frame: Uint8Array, delta: Uint8Array, start: number, length: number, bytes: Uint8Array): boolean {
  return bytes.byteLength === length && walkEdits(frame, delta, start, length, bytes, false);
}

/**
 * Goes through the delta's edits once: writes the body into `body` (`write`),
 * or compares it with `body` and stops at the first difference (false).
 * Byte loops rather than set(subarray()) or compare(): no view object per
 * edit, and the runs are short.
 */
function walkEdits(frame: Uint8Array, delta: Uint8Array, start: number, length: number, body: Uint8Array, write: boolean): boolean {
  let at = start;
  let o = 0;
  let f = 0;
  while (o < length) {
    at = readEdit(delta, at);
    const copy = editCopy;
    const add = editAdd;
    if (o + copy + add > length || f + copy > frame.length) return false;
    if (write) {
      for (let k = 0; k < copy; k++) body[o + k] = frame[f + k]!;
      for (let k = 0; k < add; k++) body[o + copy + k] = delta[at + k]!;
    } else {
      for (let k = 0; k < copy; k++) if (body[o + k] !== frame[f + k]) return false;
      for (let k = 0; k < add; k++) if (body[o + copy + k] !== delta[at + k]) return false;
    }
    o += copy + add;
    f += copy + editSkip;
    at += add;
  }
  return true;
}

/** The last edit readEdit read (module variables: no object per edit). */
let editCopy = 0;
let editSkip = 0;
let editAdd = 0;

/** Reads the edit at `delta[at]` into editCopy, editSkip, editAdd; returns where its added bytes begin. */
function readEdit(delta: Uint8Array, at: number): number {
  editCopy = readLeb128(delta, at);
  editSkip = readLeb128(delta, nextAt);
  editAdd = readLeb128(delta, nextAt);
  return nextAt;
}

/** Bytes of `value` in unsigned LEB128. */
function leb128Bytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : 3;
}

function writeLeb128(out: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[at++] = value;
  return at;
}

/** Where the last readLeb128 stopped (a module variable: no object per number read). */
let nextAt = 0;

function readLeb128(bytes: Uint8Array, at: number): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[at++]!;
    value |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
    shift += 7;
  }
  nextAt = at;
  return value;
}
