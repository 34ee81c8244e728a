import type { FuzzRng } from './rng.js';

/**
 * The inputs worth mutating: the seeds and every input that reached a block
 * no earlier input did. Recent finds are picked more often (they are the
 * frontier); the oldest finds (never the seeds) make room past `capacity`.
 */
export class Corpus {
  private readonly entries: Uint8Array[] = [];
  private seedCount = 0;

  constructor(
    private readonly rng: FuzzRng,
    private readonly capacity = 20_000,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  addSeed(input: Uint8Array): void {
    this.entries.splice(this.seedCount, 0, input);
    this.seedCount++;
  }

  add(input: Uint8Array): void {
    if (this.entries.length >= this.capacity) this.entries.splice(this.seedCount, 1);
    this.entries.push(input);
  }

  pick(): Uint8Array {
    const n = this.entries.length;
    if (n === 0) return new Uint8Array(0);
    if (n > this.seedCount && this.rng.chance(0.3)) {
      const recent = Math.min(64, n - this.seedCount);
      return this.entries[n - 1 - this.rng.below(recent)]!;
    }
    return this.entries[this.rng.below(n)]!;
  }
}
