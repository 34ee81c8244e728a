/**
 * An SSE stream fed from a ring at the pace its client reads
 * (src/http/ring-stream.ts): a burst larger than the backlog is held by the
 * ring, not dropped and not buffered without bound; a client too slow for
 * the ring gets a gap event; a client that never reads is closed.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { EventRing, type RingEvent } from '../../../src/http/event-ring.js';
import { SSE_STALL_MS, streamRing } from '../../../src/http/ring-stream.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

/** A response whose client reads only when told to: each write waits until `read()`. */
class SlowClient extends Writable {
  readonly received: string[] = [];
  private pending: Array<() => void> = [];

  constructor() {
    super({ highWaterMark: 64, decodeStrings: false });
  }

  override _write(chunk: string, _encoding: BufferEncoding, done: () => void): void {
    this.received.push(String(chunk));
    this.pending.push(done);
  }

  /** The client reads everything written so far (and what that lets through). */
  async read(): Promise<void> {
    for (let round = 0; round < 10_000 && this.pending.length > 0; round++) {
      const next = this.pending.shift();
      next?.();
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  text(): string {
    return this.received.join('');
  }
}

const format = (event: RingEvent<string>): string => `id: ${event.id}\ndata: ${event.value}\n\n`;
const ids = (text: string): number[] => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

function setUp(capacity: number) {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const ring = new EventRing<string>(capacity);
  const client = new SlowClient();
  const stop = streamRing({ res: client as unknown as ServerResponse, ring, after: undefined, maxBacklog: 200, format, scheduler });
  return { clock, ring, client, stop };
}

test('a burst far larger than the backlog reaches a slow client whole, in order, once, and the buffered bytes stay bounded', async () => {
  const { ring, client, stop } = setUp(1000);
  let most = 0;
  for (let id = 1; id <= 500; id++) {
    ring.push({ id, value: `status ${id}` });
    most = Math.max(most, client.writableLength);
  }
  // 500 events of about 30 bytes: about 15 kB, while the response buffered at most the backlog plus one event.
  assert.ok(most <= 200 + 40, `buffered ${most} bytes`);
  await client.read();
  assert.deepEqual(ids(client.text()), Array.from({ length: 500 }, (_, i) => i + 1));
  assert.equal(client.destroyed, false);
  stop();
});

test('a client slower than the ring gets a gap event, then what the ring still holds', async () => {
  const { ring, client, stop } = setUp(50);
  for (let id = 1; id <= 300; id++) ring.push({ id, value: `status ${id}` });
  await client.read();
  const text = client.text();
  const seen = ids(text);
  assert.match(text, /event: gap\ndata: \{"lastEventId":\d+,"reason":"dropped","oldestAvailable":251\}/);
  assert.deepEqual(seen.slice(-50), Array.from({ length: 50 }, (_, i) => 251 + i));
  assert.ok(seen.every((id, i) => i === 0 || id > (seen[i - 1] ?? 0)), 'ids increase');
  stop();
});

test('a client that reads nothing is closed after the stall time; one that reads is not', async () => {
  const stuck = setUp(100);
  for (let id = 1; id <= 100; id++) stuck.ring.push({ id, value: `status ${id}` });
  stuck.clock.advance(SSE_STALL_MS - 1);
  assert.equal(stuck.client.destroyed, false);
  stuck.clock.advance(1);
  assert.equal(stuck.client.destroyed, true);
  stuck.stop();

  const reading = setUp(100);
  for (let id = 1; id <= 100; id++) reading.ring.push({ id, value: `status ${id}` });
  await reading.client.read();
  reading.clock.advance(SSE_STALL_MS * 2);
  assert.equal(reading.client.destroyed, false);
  assert.equal(ids(reading.client.text()).length, 100);
  reading.stop();
});
