/**
 * A fixed-memory latency histogram: 1 µs buckets below 10 ms, 100 µs buckets
 * from 10 ms to 10 s, one overflow bucket. Recording is O(1) and allocates
 * nothing, so the consumer can time every status message at full rate.
 */
const FINE_LIMIT_US = 10_000;
const COARSE_STEP_US = 100;
const COARSE_BUCKETS = 99_900; // 10 ms … 10 s
const OVERFLOW = FINE_LIMIT_US + COARSE_BUCKETS;

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export class LatencyHistogram {
  private readonly buckets = new Uint32Array(OVERFLOW + 1);
  private count = 0;
  private sumUs = 0;
  private maxUs = 0;

  recordUs(us: number): void {
    const v = Math.max(us, 0);
    let i: number;
    if (v < FINE_LIMIT_US) i = v | 0;
    else {
      i = FINE_LIMIT_US + (((v - FINE_LIMIT_US) / COARSE_STEP_US) | 0);
      if (i > OVERFLOW) i = OVERFLOW;
    }
    this.buckets[i] = (this.buckets[i] ?? 0) + 1;
    this.count++;
    this.sumUs += v;
    if (v > this.maxUs) this.maxUs = v;
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
    this.sumUs = 0;
    this.maxUs = 0;
  }

  private quantileUs(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i <= OVERFLOW; i++) {
      seen += this.buckets[i] ?? 0;
      if (seen >= rank) {
        if (i < FINE_LIMIT_US) return i + 1; // upper edge of the 1 µs bucket
        if (i === OVERFLOW) return this.maxUs;
        return FINE_LIMIT_US + (i - FINE_LIMIT_US + 1) * COARSE_STEP_US;
      }
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      p50Ms: ms(Math.min(this.quantileUs(0.5), this.maxUs)),
      p90Ms: ms(Math.min(this.quantileUs(0.9), this.maxUs)),
      p99Ms: ms(Math.min(this.quantileUs(0.99), this.maxUs)),
      p999Ms: ms(Math.min(this.quantileUs(0.999), this.maxUs)),
      maxMs: ms(this.maxUs),
      meanMs: this.count === 0 ? 0 : ms(this.sumUs / this.count),
    };
  }
}
