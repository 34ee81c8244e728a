/**
 * A fixed-memory latency histogram: 1 µs buckets below 10 ms, 10 µs buckets
 * up to 1 s, 1 ms buckets up to 120 s (storms drain for tens of seconds), one
 * overflow bucket. Recording is O(1) and allocates nothing, so the consumer
 * can time every status message at full rate. Quantiles are reported as the
 * upper edge of their bucket, never above the largest value recorded.
 */
const TIER1_LIMIT_US = 10_000;
const TIER2_STEP_US = 10;
const TIER2_LIMIT_US = 1_000_000;
const TIER3_STEP_US = 1000;
const TIER3_LIMIT_US = 120_000_000;
const TIER2_BASE = TIER1_LIMIT_US;
const TIER3_BASE = TIER2_BASE + (TIER2_LIMIT_US - TIER1_LIMIT_US) / TIER2_STEP_US;
const OVERFLOW = TIER3_BASE + (TIER3_LIMIT_US - TIER2_LIMIT_US) / TIER3_STEP_US;

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

function bucketOf(us: number): number {
  if (us < TIER1_LIMIT_US) return us | 0;
  if (us < TIER2_LIMIT_US) return TIER2_BASE + (((us - TIER1_LIMIT_US) / TIER2_STEP_US) | 0);
  if (us < TIER3_LIMIT_US) return TIER3_BASE + (((us - TIER2_LIMIT_US) / TIER3_STEP_US) | 0);
  return OVERFLOW;
}

function upperEdgeUs(i: number): number {
  if (i < TIER2_BASE) return i + 1;
  if (i < TIER3_BASE) return TIER1_LIMIT_US + (i - TIER2_BASE + 1) * TIER2_STEP_US;
  if (i < OVERFLOW) return TIER2_LIMIT_US + (i - TIER3_BASE + 1) * TIER3_STEP_US;
  return Number.POSITIVE_INFINITY;
}

export class LatencyHistogram {
  private readonly buckets = new Uint32Array(OVERFLOW + 1);
  private count = 0;
  private sumUs = 0;
  private maxUs = 0;

  recordUs(us: number): void {
    const v = Math.max(us, 0);
    const i = bucketOf(v);
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
      if (seen >= rank) return Math.min(upperEdgeUs(i), this.maxUs);
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      p50Ms: ms(this.quantileUs(0.5)),
      p90Ms: ms(this.quantileUs(0.9)),
      p99Ms: ms(this.quantileUs(0.99)),
      p999Ms: ms(this.quantileUs(0.999)),
      maxMs: ms(this.maxUs),
      meanMs: this.count === 0 ? 0 : ms(this.sumUs / this.count),
    };
  }
}
