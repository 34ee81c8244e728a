/**
 * One SSE client of a daemon queue (`GET /v1/queues/:name/events`) that times
 * what it receives, for the daemon benchmarks: the first `active` status of
 * each subscription (time to all active), and for each status carrying the
 * simulator's stamp (`<tuple id="s<g>t<ns>">`, pidf-body.ts) the latency from
 * the simulator's send to this client's read (same CLOCK_MONOTONIC), and how
 * often sequence number g was seen (lost / duplicated).
 */
import { type ClientRequest, request as httpRequest } from 'node:http';
import { LatencyHistogram } from './latency-histogram.js';

const STAMP = /tuple id="s(\d+)t(\d+)"/;

export class SseProbe {
  /** Subscription id → monotonic ms of its first `active` status. */
  readonly firstActive = new Map<string, number>();
  readonly latency = new LatencyHistogram();
  /** Events received, gap events received. */
  events = 0;
  gaps = 0;
  /** Monotonic ms of the last event. */
  lastEventAtMs = 0;
  private seen = new Uint8Array(1 << 16);
  /** Stamps with g ≥ this are timed into `latency` (the current measurement window). */
  private timeFrom = Number.MAX_SAFE_INTEGER;
  private text = '';
  private readonly req: ClientRequest;
  private statusCode = 0;

  constructor(url: string, lastEventId = '0') {
    this.req = httpRequest(url, { headers: { 'last-event-id': lastEventId, accept: 'text/event-stream' } }, (res) => {
      this.statusCode = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.onData(chunk));
    });
    this.req.on('error', () => undefined);
    this.req.end();
  }

  get status(): number {
    return this.statusCode;
  }

  /** Times stamps from sequence number `from` on (earlier ones are only counted as seen). */
  beginWindow(from: number): void {
    this.latency.reset();
    this.timeFrom = from;
  }

  /** How many times g was seen, for g in [from, to). */
  seenRange(from: number, to: number): Uint8Array {
    const out = new Uint8Array(Math.max(0, to - from));
    for (let g = from; g < to; g++) out[g - from] = this.seen[g] ?? 0;
    return out;
  }

  private onData(chunk: string): void {
    const now = Number(process.hrtime.bigint()) / 1e6;
    this.text += chunk;
    let end = this.text.indexOf('\n\n');
    while (end >= 0) {
      const block = this.text.slice(0, end);
      this.text = this.text.slice(end + 2);
      end = this.text.indexOf('\n\n');
      if (block.startsWith(':')) continue; // keep-alive comment
      if (block.includes('event: gap')) {
        this.gaps++;
        continue;
      }
      if (!block.includes('event: status')) continue;
      const at = block.indexOf('\ndata: ');
      if (at < 0) continue;
      const lineEnd = block.indexOf('\n', at + 7);
      let data: { subscriptionId?: string; state?: string; body?: string };
      try {
        data = JSON.parse(block.slice(at + 7, lineEnd < 0 ? undefined : lineEnd)) as typeof data;
      } catch {
        continue;
      }
      this.events++;
      this.lastEventAtMs = now;
      if (data.state === 'active' && data.subscriptionId !== undefined && !this.firstActive.has(data.subscriptionId)) {
        this.firstActive.set(data.subscriptionId, now);
      }
      const m = data.body === undefined ? null : STAMP.exec(data.body);
      if (m === null) continue;
      const g = Number(m[1]);
      if (g >= this.seen.length) {
        const bigger = new Uint8Array(Math.max(this.seen.length * 2, g + 1));
        bigger.set(this.seen);
        this.seen = bigger;
      }
      this.seen[g] = Math.min(255, (this.seen[g] ?? 0) + 1);
      if (g >= this.timeFrom && this.seen[g] === 1) this.latency.recordUs((now - Number(m[2]) / 1e6) * 1000);
    }
  }

  close(): void {
    this.req.destroy();
  }
}
