import type { QsaBroker, StatusMessage, StatusQueue } from '../qsa/index.js';
import type { StatusView } from '../http/api-types.js';
import { EventRing } from '../http/event-ring.js';
import type { StoredQueue } from '../store/stored-queue.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import { EventIdLeases } from './event-id-lease.js';
import type { QueueRelay } from './relayed-queues.js';
import { ClosedError } from '../util/closed-error.js';
import { statusView } from './status-view.js';

/** A named queue the daemon drains into an event ring. */
export interface ServedQueue {
  readonly name: string;
  readonly queue: StatusQueue;
  readonly ring: EventRing<StatusView>;
}

export interface QueueHubOptions {
  broker: QsaBroker;
  /** Where the queues and their event-id high-water marks are kept. */
  store: SubscriptionStore;
  /** Events kept per queue for Last-Event-ID resume. */
  ringSize: number;
  /** Queue capacity (see StatusQueue). */
  queueCapacity?: number;
  /** Event ids reserved in the store at a time (see EventIdLeases). */
  leaseSize?: number;
  /** Called for every message taken from a queue, before it reaches the ring. */
  onMessage?: (message: StatusMessage, queue: ServedQueue) => void;
  /** A reservation of event ids that could not be stored. */
  onStoreError?: (error: unknown) => void;
  /**
   * Told when handling one message threw (onMessage, or a listener of the
   * ring); the consumer goes on with the next message. Without it the loop
   * would end on the first exception and the queue would never be read again.
   */
  onError?: (error: unknown, queue: string, subscriptionId: string) => void;
  /**
   * Cluster mode: the status relay. Each message taken from a queue is
   * appended to the table the nodes share, and the rings are filled from it,
   * with the table's ids (see `relayed` below).
   */
  relay?: QueueRelay;
}

/**
 * The named queues of the HTTP API. Each one is drained by one consumer loop
 * (the only reader of the queue) into a bounded ring of recent events, from
 * which every Server-Sent Events stream of that queue reads; the event id is
 * the queue's sequence number, strictly increasing per queue and, through
 * the store, across restarts.
 */
export class QueueHub {
  private readonly served = new Map<string, ServedQueue>();
  private readonly starting = new Map<string, Promise<ServedQueue>>();
  private readonly loops = new Set<Promise<void>>();
  private readonly leases: EventIdLeases;
  private closed = false;
  /** Drops of queues since replaced by a new one of the same name. */
  private retiredDrops = 0;
  /** Coalescings of queues since replaced by a new one of the same name. */
  private retiredCoalesced = 0;

  constructor(private readonly options: QueueHubOptions) {
    this.leases = new EventIdLeases({
      store: options.store,
      ...(options.leaseSize !== undefined ? { leaseSize: options.leaseSize } : {}),
      ...(options.onStoreError !== undefined ? { onError: options.onStoreError } : {}),
    });
  }

  /**
   * The named queue, created (with its consumer) on first use. A new queue is
   * stored, with its first reservation of event ids, before it is handed out.
   */
  ensure(name: string): Promise<ServedQueue> {
    const known = this.served.get(name);
    if (known !== undefined && !known.queue.closed) return Promise.resolve(known);
    let pending = this.starting.get(name);
    if (pending === undefined) {
      // One start per name, however many requests ask at once.
      // A queue closed under us continues its numbering; a new one starts at 1.
      pending = this.start(name, (known?.ring.newestId ?? 0) + 1).finally(() => this.starting.delete(name));
      this.starting.set(name, pending);
    }
    return pending;
  }

  /**
   * Re-creates the stored queues at start: each numbers its events from just
   * above its stored high-water mark. One store transaction for all of them.
   */
  async restore(queues: readonly StoredQueue[]): Promise<void> {
    const fresh = queues.filter((q) => !this.served.has(q.name));
    if (this.options.relay === undefined) await this.leases.open(fresh.map((q) => ({ name: q.name, firstId: q.eventIdHighWater + 1 })));
    for (const q of fresh) this.serve(q.name, q.eventIdHighWater + 1);
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

  /**
   * All named queues together, for the metrics: how many, messages waiting,
   * messages dropped and messages coalesced since the start (a queue
   * re-created under the same name keeps the counts of the one it replaced).
   */
  totals(): { count: number; depth: number; dropped: number; coalesced: number } {
    let depth = 0;
    let dropped = this.retiredDrops;
    let coalesced = this.retiredCoalesced;
    for (const s of this.served.values()) {
      depth += s.queue.depth;
      dropped += s.queue.stats.dropped;
      coalesced += s.queue.stats.coalesced;
    }
    return { count: this.served.size, depth, dropped, coalesced };
  }

  /** Event ids issued above a durable reservation (should stay 0). */
  get eventIdOverruns(): number {
    return this.leases.overruns;
  }

  /** Closes every queue (ending the consumer loops). */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.served.values()) s.queue.close();
    await Promise.all([...this.loops]);
  }

  private async start(name: string, firstId: number): Promise<ServedQueue> {
    if (this.closed) throw new ClosedError('QueueHub');
    if (this.options.relay !== undefined) await this.storeRelayed([name]);
    else await this.leases.open([{ name, firstId }]);
    if (this.closed) throw new ClosedError('QueueHub');
    return this.serve(name, firstId);
  }

  private serve(name: string, firstSequence: number): ServedQueue {
    // A queue of that name made by someone else is served as well (we become its consumer);
    // its numbering is its own, so its ring takes any increasing ids.
    const existing = this.options.broker.getQueue(name);
    const queue =
      existing ??
      this.options.broker.createQueue({
        name,
        firstSequence,
        ...(this.options.queueCapacity !== undefined ? { capacity: this.options.queueCapacity } : {}),
      });
    const relay = this.options.relay;
    // Relayed, the ring holds the table's ids, not the local queue's numbers.
    const ringFirstId = relay !== undefined || existing !== undefined ? 1 : firstSequence;
    const served: ServedQueue = { name, queue, ring: new EventRing<StatusView>(this.options.ringSize, ringFirstId) };
    const replaced = this.served.get(name);
    if (replaced !== undefined) {
      this.retiredDrops += replaced.queue.stats.dropped;
      this.retiredCoalesced += replaced.queue.stats.coalesced;
    }
    this.served.set(name, served);
    relay?.open(name, served.ring);
    const loop = this.drain(served).finally(() => this.loops.delete(loop));
    this.loops.add(loop);
    return served;
  }

  private async drain(served: ServedQueue): Promise<void> {
    for await (const message of served.queue) {
      try {
        const relay = this.options.relay;
        if (relay === undefined) this.leases.issued(served.name, message.sequence);
        this.options.onMessage?.(message, served);
        if (relay !== undefined) relay.append(served.name, statusView(message));
        else served.ring.push({ id: message.sequence, value: statusView(message) });
      } catch (error) {
        this.reportError(error, served.name, message.subscriptionId);
      }
    }
  }

  // ------------------------------------------------------------------ cluster mode (status relay)

  /**
   * The queue `name` with every event committed before the call in its ring,
   * for a client resuming with an id this node may not have read yet, or
   * asking for a queue made on another node (served from then on). Without
   * a relay: the queue as `get` has it.
   */
  async resume(name: string): Promise<ServedQueue | undefined> {
    const relay = this.options.relay;
    if (relay === undefined || this.closed) return this.served.get(name);
    if (this.served.get(name) === undefined && (await relay.isStored(name))) {
      const known = this.served.get(name);
      if (known === undefined && !this.closed) this.serve(name, 1);
    }
    const served = this.served.get(name);
    if (served !== undefined) await relay.catchUp();
    return served;
  }

  /** Relayed queues are stored without reserving ids (the relay takes them from the same mark when appending). */
  private async storeRelayed(names: readonly string[]): Promise<void> {
    await this.options.store.raiseQueueHighWater(names.map((name) => ({ name, eventId: 0 })));
  }

  private reportError(error: unknown, queue: string, subscriptionId: string): void {
    const onError = this.options.onError;
    if (onError === undefined) {
      // Nobody to tell: rethrow outside the loop (an uncaught exception, as any bug), and keep consuming.
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    try {
      onError(error, queue, subscriptionId);
    } catch {
      // The reporter failed too (a broken logger): the consumer must keep reading the queue regardless.
    }
  }
}
