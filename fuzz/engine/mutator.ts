/**
 * Byte-level mutations in the manner of AFL's "havoc" stage: a stack of
 * random edits (bit flips, interesting octets and numbers, insertions,
 * deletions, duplicated and spliced chunks, dictionary tokens) over an input
 * of the corpus, plus line-level edits, because SIP, YAML and most XML
 * bodies are line-structured: duplicating, dropping or swapping whole lines
 * reaches header-count, ordering and repetition cases that octet edits
 * rarely do.
 */
import { Buffer } from 'node:buffer';
import type { FuzzRng } from './rng.js';

/** Octets that end or start syntax in the formats we parse. */
const INTERESTING_BYTES = [
  0x00, 0x01, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x25, 0x26, 0x27, 0x2c, 0x2d, 0x2f, 0x30, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x40, 0x5b, 0x5c, 0x5d, 0x7b, 0x7d, 0x7f, 0x80, 0xc0, 0xc3, 0xe2, 0xef, 0xfe, 0xff,
];

/** Numbers at the edges of the ranges parsers check (2**31, 2**32, 2**53, 10 digits, signs, exponents). */
const INTERESTING_NUMBERS = [
  '0', '1', '-1', '00', '007', '+1', '99', '100', '699', '700', '999', '1000', '65535', '65536', '2147483647',
  '2147483648', '4294967295', '4294967296', '9999999999', '99999999999', '9007199254740993', '1e3', '1.5', '0x10',
  '-0', 'NaN', 'Infinity', '',
];

/** Octet sequences: line ends, folding, escapes, invalid UTF-8 (lone lead octet, surrogate, overlong NUL). */
const INTERESTING_RAW = [
  '\r\n', '\n', '\r', '\r\n\r\n', '\n\n', '\r\n ', '\r\n\t', ' ', '\t', '  ', '%00', '%', '%zz', '%25', '\\', '\\"', '""',
  '\u0000', '\xff\xfe', '\xc3', '\xed\xa0\x80', '\xc0\x80', '&amp;', '&#0;', '&#x110000;', '&lt;', ']]>', '<![CDATA[', '-->',
  '<!--', '<?', '?>',
];

/** Characters written as UTF-8: accents, CJK, astral, BOM, replacement character, line separator. */
const INTERESTING_TEXT = ['\u00e9', '\u65e5', '\u{1f600}', '\ufeff', '\ufffd', '\u2028'];

export interface MutationContext {
  rng: FuzzRng;
  maxBytes: number;
  dictionary: readonly Uint8Array[];
  /** Another input of the corpus, for splicing. */
  other: () => Uint8Array;
}

const encoded = (list: readonly string[]) => list.map((s) => Buffer.from(s, 'latin1'));
const NUMBERS = encoded(INTERESTING_NUMBERS);
const STRINGS = [...encoded(INTERESTING_RAW), ...INTERESTING_TEXT.map((s) => Buffer.from(s, 'utf8'))];

/** Applies 1..16 stacked mutations; never returns more than maxBytes octets. */
export function mutateBytes(input: Uint8Array, ctx: MutationContext): Uint8Array {
  let bytes: Buffer = Buffer.from(input);
  const count = ctx.rng.geometric(16);
  for (let i = 0; i < count; i++) bytes = mutateOnce(bytes, ctx);
  return bytes.length > ctx.maxBytes ? bytes.subarray(0, ctx.maxBytes) : bytes;
}

function mutateOnce(bytes: Buffer, ctx: MutationContext): Buffer {
  const { rng } = ctx;
  const n = bytes.length;
  const at = () => rng.below(n + 1);
  const chunk = () => Math.min(n, rng.chance(0.7) ? rng.between(1, 8) : rng.between(1, 64));
  switch (rng.below(17)) {
    case 0: {
      if (n === 0) return insert(bytes, 0, ctx.rng.pick(STRINGS));
      const i = rng.below(n);
      bytes[i] = bytes[i]! ^ (1 << rng.below(8));
      return bytes;
    }
    case 1: {
      if (n === 0) return bytes;
      bytes[rng.below(n)] = rng.pick(INTERESTING_BYTES);
      return bytes;
    }
    case 2: {
      if (n === 0) return bytes;
      bytes[rng.below(n)] = rng.below(256);
      return bytes;
    }
    case 3:
      return insert(bytes, at(), randomBytes(rng, rng.between(1, 8)));
    case 4:
      return insert(bytes, at(), rng.pick(STRINGS));
    case 5:
      return replaceNumber(bytes, rng);
    case 6: {
      // delete a chunk
      if (n === 0) return bytes;
      const len = chunk();
      const i = rng.below(n - len + 1);
      return Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + len)]);
    }
    case 7: {
      // duplicate a chunk in place, sometimes many times (length and count limits)
      if (n === 0) return bytes;
      const len = chunk();
      const i = rng.below(n - len + 1);
      const times = rng.chance(0.9) ? 1 : rng.between(2, Math.max(2, Math.floor(ctx.maxBytes / Math.max(1, 4 * len))));
      const piece = bytes.subarray(i, i + len);
      return Buffer.concat([bytes.subarray(0, i + len), ...new Array<Buffer>(Math.min(times, 4096)).fill(piece), bytes.subarray(i + len)]);
    }
    case 8: {
      // copy a chunk over another place
      if (n < 2) return bytes;
      const len = chunk();
      const from = rng.below(n - len + 1);
      const to = rng.below(n - len + 1);
      bytes.copyWithin(to, from, from + len);
      return bytes;
    }
    case 9:
    case 10: {
      if (ctx.dictionary.length === 0) return insert(bytes, at(), rng.pick(STRINGS));
      const token = rng.pick(ctx.dictionary);
      if (rng.chance(0.5) || n < token.length) return insert(bytes, at(), token);
      const i = rng.below(n - token.length + 1);
      return Buffer.concat([bytes.subarray(0, i), token, bytes.subarray(i + token.length)]);
    }
    case 11: {
      // splice with another corpus input: head of one, tail of the other
      const other = ctx.other();
      if (other.length === 0) return bytes;
      return Buffer.concat([bytes.subarray(0, at()), other.subarray(rng.below(other.length))]);
    }
    case 12: {
      // insert a chunk of another input
      const other = ctx.other();
      if (other.length === 0) return bytes;
      const len = Math.min(other.length, rng.between(1, 128));
      const i = rng.below(other.length - len + 1);
      return insert(bytes, at(), other.subarray(i, i + len));
    }
    case 13:
      return lineEdit(bytes, rng, ctx.maxBytes);
    case 14:
      return lineEdit(bytes, rng, ctx.maxBytes);
    case 15:
      // truncate
      return bytes.subarray(0, at());
    default: {
      // change the case of a letter (header names, methods, hex digits)
      if (n === 0) return bytes;
      const i = rng.below(n);
      const c = bytes[i]!;
      if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) bytes[i] = c ^ 0x20;
      return bytes;
    }
  }
}

function insert(bytes: Buffer, at: number, piece: Uint8Array): Buffer {
  return Buffer.concat([bytes.subarray(0, at), piece, bytes.subarray(at)]);
}

function randomBytes(rng: FuzzRng, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = rng.below(256);
  return out;
}

/** Replaces a run of ASCII digits (or inserts, when there is none) by an interesting number. */
function replaceNumber(bytes: Buffer, rng: FuzzRng): Buffer {
  const n = bytes.length;
  const start = rng.below(n + 1);
  let i = start;
  while (i < n && !(bytes[i]! >= 0x30 && bytes[i]! <= 0x39)) i++;
  if (i >= n) return insert(bytes, start, rng.pick(NUMBERS));
  let j = i;
  while (j < n && bytes[j]! >= 0x30 && bytes[j]! <= 0x39) j++;
  return Buffer.concat([bytes.subarray(0, i), rng.pick(NUMBERS), bytes.subarray(j)]);
}

/** Splits after each LF; the last line may lack one. */
function lines(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl < 0) break;
    out.push(bytes.subarray(start, nl + 1));
    start = nl + 1;
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

/** Duplicates (once or many times), deletes, swaps or moves whole lines. */
function lineEdit(bytes: Buffer, rng: FuzzRng, maxBytes: number): Buffer {
  const list = lines(bytes);
  if (list.length === 0) return bytes;
  const i = rng.below(list.length);
  const j = rng.below(list.length);
  switch (rng.below(5)) {
    case 0:
      list.splice(i, 1);
      break;
    case 1:
      list.splice(i, 0, list[i]!);
      break;
    case 2: {
      // many copies: header-count and size limits
      const copies = Math.min(2000, Math.floor(maxBytes / Math.max(1, list[i]!.length)), rng.between(2, 300));
      list.splice(i, 0, ...new Array<Buffer>(Math.max(1, copies)).fill(list[i]!));
      break;
    }
    case 3: {
      const t = list[i]!;
      list[i] = list[j]!;
      list[j] = t;
      break;
    }
    default: {
      const [line] = list.splice(i, 1);
      list.splice(j, 0, line!);
      break;
    }
  }
  return Buffer.concat(list);
}
