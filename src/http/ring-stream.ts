import type { ServerResponse } from 'node:http';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import type { EventRing, RingEvent } from './event-ring.js';

/** How long a stream may stay over its backlog without its client reading before it is closed. */
export const SSE_STALL_MS = 30_000;

export interface RingStreamOptions<T> {
  res: ServerResponse;
  ring: EventRing<T>;
  /** The id the client has seen (Last-Event-ID), or undefined for everything the ring holds. */
  after: number | undefined;
  /** Bytes the response may buffer before the stream waits for the client to read. */
  maxBacklog: number;
  format: (event: RingEvent<T>) => string;
  scheduler: TimerScheduler;
  stallMs?: number;
}

/**
 * Streams a ring to one SSE client, at the pace the client reads.
 *
 * Events can arrive in bursts far larger than a socket's buffer (cluster
 * mode: the status relay hands a node thousands of rows at once when it
 * catches up). Past `maxBacklog` the stream stops writing and waits for
 * `drain`, then writes what the ring has after the last id sent; the ring
 * is what holds the events meanwhile, so the memory stays bounded by the
 * ring and the backlog. If the ring dropped some before the client read
 * them, the client gets the same `gap` event as a resume would give it
 * (HTML Living Standard, Server-sent events §9.2.4: it may resume from its
 * last id). A client that reads nothing for `stallMs` is closed.
 *
 * Returns the function that stops the stream's listening.
 */
export function streamRing<T>(options: RingStreamOptions<T>): () => void {
  const { res, ring, maxBacklog, format } = options;
  let lastSent = options.after;
  let stall: Timer | undefined;

  const send = (event: RingEvent<T>): void => {
    res.write(format(event));
    lastSent = event.id;
  };
  const catchUp = (): void => {
    stall?.cancel();
    stall = undefined;
    if (res.destroyed) return;
    if (lastSent !== undefined && ring.missedAfter(lastSent)) {
      res.write(`event: gap\ndata: ${JSON.stringify({ lastEventId: lastSent, reason: 'dropped', oldestAvailable: ring.oldestId ?? null })}\n\n`);
    }
    for (const event of ring.since(lastSent)) send(event);
  };

  for (const event of ring.since(lastSent)) send(event);
  const unsubscribe = ring.subscribe((event) => {
    if (stall !== undefined) return; // waiting for the client: the ring keeps the event
    if (res.writableLength > maxBacklog) {
      stall = options.scheduler.after(options.stallMs ?? SSE_STALL_MS, () => res.destroy());
      res.once('drain', catchUp);
      return;
    }
    send(event);
  });
  return () => {
    unsubscribe();
    stall?.cancel();
    stall = undefined;
  };
}
