import { randomBytes } from 'node:crypto';

/**
 * Randomness, injected: tags, branches and Call-IDs need unpredictable values
 * in production (RFC 3261 §19.3 asks for at least 32 bits of randomness in
 * tags) and reproducible ones in tests; jitter needs a uniform number.
 */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** `length` characters of [0-9a-z], for tags, branches and Call-IDs. */
  token(length: number): string;
}

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Uniform integer in [min, max] (both included). */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random.next() * (max - min + 1));
}

/** Cryptographically strong randomness, drawn from a refilled pool to keep it cheap per call. */
export class CryptoRandom implements Random {
  private pool: Buffer = Buffer.alloc(0);
  private offset = 0;

  private byte(): number {
    if (this.offset >= this.pool.length) {
      this.pool = randomBytes(4096);
      this.offset = 0;
    }
    return this.pool[this.offset++]!;
  }

  next(): number {
    // 48 random bits give a double in [0, 1) with no visible bias.
    let value = 0;
    for (let i = 0; i < 6; i++) value = value * 256 + this.byte();
    return value / 2 ** 48;
  }

  token(length: number): string {
    // The characters go into a scratch buffer and leave as one flat string: appending them
    // one by one made a string per character (a Call-ID, a tag, a branch and an id per
    // subscription, issue 11).
    const chars = length <= TOKEN_SCRATCH.length ? TOKEN_SCRATCH : Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) {
      // 252 = 7 * 36: rejecting the top values keeps every character equally likely.
      let b = this.byte();
      while (b >= 252) b = this.byte();
      chars[i] = ALPHABET_CODES[b % 36]!;
    }
    return chars.toString('latin1', 0, length);
  }
}

/** The alphabet as character codes, and the buffer tokens are written into (one thread: shared). */
const ALPHABET_CODES = Buffer.from(ALPHABET, 'latin1');
const TOKEN_SCRATCH = Buffer.allocUnsafe(64);

/** Deterministic randomness for tests (mulberry32). */
export class SeededRandom implements Random {
  private state: number;

  constructor(seed = 1) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  token(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += ALPHABET[Math.floor(this.next() * 36)];
    return out;
  }
}
