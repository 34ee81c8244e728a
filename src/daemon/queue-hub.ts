import type { QsaBroker, StatusMessage, StatusQueue } from '../qsa/index.js';
import type { StatusView } from '../http/api-types.js';
import { EventRing } from '../http/event-ring.js';
import { statusView } from './status-view.js';

/** A named queue the daemon drains into an event ring. */
export interface ServedQueue {
  readonly name: string;
  readonly queue: StatusQueue;
  readonly ring: EventRing<StatusView>;
}

export interface QueueHubOptions {
  broker: QsaBroker;
  /** Events kept per queue for Last-Event-ID resume. */
  ringSize: number;
  /** Queue capacity (see StatusQueue). */
  queueCapacity?: number;
  /** Called for every message taken from a queue, before it reaches the ring. */
  onMessage?: (message: StatusMessage, queue: ServedQueue) => void;
}

/**
 * The named queues of the HTTP API. Each one is drained by one consumer loop
 * (the only reader of the queue) into a bounded ring of recent events, from
 * which every Server-Sent Events stream of that queue reads; the event id is
 * the queue's sequence number, strictly increasing per queue.
 */
export class QueueHub {
  private readonly served = new Map<string, ServedQueue>();
  private readonly loops = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: QueueHubOptions) {}

  /** The named queue, created (with its consumer) on first use. */
  ensure(name: string): ServedQueue {
    const known = this.served.get(name);
    if (known !== undefined && !known.queue.closed) return known;
    if (this.closed) throw new Error('QueueHub is closed');
    // A queue of that name made by someone else is served as well (we become its consumer).
    const queue =
      this.options.broker.getQueue(name) ??
      this.options.broker.createQueue({ name, ...(this.options.queueCapacity !== undefined ? { capacity: this.options.queueCapacity } : {}) });
    const served: ServedQueue = { name, queue, ring: new EventRing<StatusView>(this.options.ringSize) };
    this.served.set(name, served);
    const loop = this.drain(served).finally(() => this.loops.delete(loop));
    this.loops.add(loop);
    return served;
  }

  get(name: string): ServedQueue | undefined {
    return this.served.get(name);
  }

  all(): Iterable<ServedQueue> {
    return this.served.values();
  }

  /** Open SSE streams over all queues. */
  listeners(): number {
    let n = 0;
    for (const s of this.served.values()) n += s.ring.listenerCount;
    return n;
  }

  /** Closes every queue (ending the consumer loops). */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.served.values()) s.queue.close();
    await Promise.all([...this.loops]);
  }

  private async drain(served: ServedQueue): Promise<void> {
    for await (const message of served.queue) {
      this.options.onMessage?.(message, served);
      served.ring.push({ id: message.sequence, value: statusView(message) });
    }
  }
}
