import type { FuzzRng } from './rng.js';

/**
 * The inputs worth mutating: the seeds and every input that reached a block
 * no earlier input did. Recent finds are picked more often (they are the
 * frontier); the oldest finds (never the seeds) make room past `capacity`
 * inputs or `maxBytes` octets, so that a long run stays far from the
 * worker's heap limit (which would look like a crash).
 */
export class Corpus {
  private readonly entries: Uint8Array[] = [];
  private seedCount = 0;
  private bytes = 0;

  constructor(
    private readonly rng: FuzzRng,
    private readonly capacity = 20_000,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  get size(): number {
    return this.entries.length;
  }

  addSeed(input: Uint8Array): void {
    this.entries.splice(this.seedCount, 0, input);
    this.seedCount++;
    this.bytes += input.length;
  }

  add(input: Uint8Array): void {
    while (this.entries.length > this.seedCount && (this.entries.length >= this.capacity || this.bytes + input.length > this.maxBytes)) {
      this.bytes -= this.entries.splice(this.seedCount, 1)[0]!.length;
    }
    this.entries.push(input);
    this.bytes += input.length;
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
