import { QsaError } from './qsa-error.js';
import {
  createStatusMessage,
  type QsaSubscriptionHandle,
  releaseDocument,
  type StatusMessage,
  type StatusUpdate,
} from './status-message.js';

export const DEFAULT_QUEUE_CAPACITY = 10_000;

export interface StatusQueueOptions {
  /** Name for `broker.getQueue(name)` (the HTTP API addresses queues by name). */
  name?: string;
  /** Maximum number of queued messages; default 10000. */
  capacity?: number;
  /**
   * Sequence number of the first message (default 1): a queue re-created
   * after a restart continues above the ids it handed out before.
   */
  firstSequence?: number;
}

/**
 * Counters; at any time
 * `enqueued = delivered + coalesced + dropped + purged + depth`.
 */
export interface StatusQueueStats {
  /** Messages accepted into the queue. */
  enqueued: number;
  /** Messages handed to a consumer (poll, take, iteration). */
  delivered: number;
  /** Messages removed while full because a newer message of the same subscription superseded them. */
  coalesced: number;
  /** Messages lost: evicted while full though they were their subscription's latest, or discarded by close(). */
  dropped: number;
  /** Messages removed because their subscription ended (unsubscribe). */
  purged: number;
}

/** Internal entry points for the broker; not part of the public API. */
export const ENQUEUE: unique symbol = Symbol('StatusQueue.enqueue');
export const PURGE: unique symbol = Symbol('StatusQueue.purge');
export const ON_CLOSE: unique symbol = Symbol('StatusQueue.onClose');
/**
 * A subscription handle with this property (the broker's records declare it, `undefined`)
 * carries the slots of its own queued messages in its queue, while it has any: the queue
 * then keeps no Map entry per subscription with queued messages, which was added and
 * removed for nearly every message (a consumer that keeps up empties the queue each time)
 * and made V8 rebuild the Map's table (issue 11: about 150–300 B per NOTIFY).
 */
export const OWN_SLOTS: unique symbol = Symbol('StatusQueue.ownSlots');

/** What a subscription handle that carries its own slots looks like to its queue. */
interface SlotsCarrier {
  [OWN_SLOTS]: SubscriptionSlots | undefined;
}

class QueueNode {
  prev: QueueNode | undefined;
  next: QueueNode | undefined;
  /** Neighbours among the queued messages of the same subscription. */
  subPrev: QueueNode | undefined;
  subNext: QueueNode | undefined;
  constructor(
    public message: StatusMessage,
    readonly owner: SubscriptionSlots,
  ) {}
}

/**
 * The queued messages of one subscription, oldest first; a resource list's
 * member messages (`record` set) have slots of their own per member, so that
 * coalescing never replaces one member's state by another's.
 */
class SubscriptionSlots {
  count = 0;
  first: QueueNode | undefined;
  last: QueueNode | undefined;
  constructor(
    readonly key: string,
    readonly subscriptionId: string,
    /** The subscription handle that carries these slots (OWN_SLOTS); undefined: they are in the queue's Map. */
    readonly carrier: SlotsCarrier | undefined,
  ) {}
}

/** The handle itself when it carries its own slots in `queue` (see OWN_SLOTS), else undefined. */
function carrierIn(queue: StatusQueue, subscription: QsaSubscriptionHandle): SlotsCarrier | undefined {
  return subscription.queue === queue && OWN_SLOTS in subscription ? (subscription as unknown as SlotsCarrier) : undefined;
}

/** The slots a message goes to: its subscription's, or its list member's. */
function slotKey(subscriptionId: string, update: StatusUpdate): string {
  return update.record === undefined ? subscriptionId : `${subscriptionId}\n${update.record}`;
}

/**
 * A subscriber's destination queue: FIFO, bounded, pollable and
 * async-iterable.
 *
 * Overflow policy (only when `depth === capacity`; below it every message is
 * kept, so a consumer that keeps up sees every transition):
 * ("Subscription" below means one resource of a resource list subscription
 * for the member messages, those with `record` set.)
 * 1. If the new message's subscription already has messages queued, its
 *    newest queued message is overwritten in place by the new one (same slot,
 *    same sequence number): `coalesced` +1. The subscription's latest state
 *    is what will be delivered, at the position it already had.
 * 2. Otherwise, if some subscription has two or more messages queued (the one
 *    with the most; ties: the first to reach that count), its OLDEST queued
 *    message is removed, since a newer one of it stays queued:
 *    `coalesced` +1; the new message is appended.
 * 3. Otherwise every queued message is the only, hence latest, state of a
 *    distinct subscription and one must go: the oldest message in the queue
 *    (the stalest information) is removed, `dropped` +1, and the new message
 *    is appended. Size the capacity above the number of subscriptions that
 *    share the queue and this never happens.
 *
 * `close()` ends iteration at once: waiting consumers get `done`, queued
 * messages are discarded (counted in `dropped`), and nothing more is accepted.
 */
export class StatusQueue implements AsyncIterable<StatusMessage> {
  readonly name: string | undefined;
  readonly capacity: number;
  private head: QueueNode | undefined;
  private tail: QueueNode | undefined;
  private size = 0;
  private nextSequence = 1;
  private isClosed = false;
  private readonly slots = new Map<string, SubscriptionSlots>();
  /** The member slots (resource lists) of each subscription that has some, for PURGE. */
  private readonly memberSlots = new Map<string, Set<SubscriptionSlots>>();
  /** Subscriptions with ≥ 2 queued messages, by count (only these can be coalesced on overflow). */
  private readonly crowded = new Map<number, Set<SubscriptionSlots>>();
  private maxCrowded = 0;
  private waiters: (() => void)[] = [];
  private readonly counters: StatusQueueStats = { enqueued: 0, delivered: 0, coalesced: 0, dropped: 0, purged: 0 };
  /** @internal set by the broker to forget a named queue when it closes */
  [ON_CLOSE]: ((queue: StatusQueue) => void) | undefined;

  constructor(options: StatusQueueOptions = {}) {
    const capacity = options.capacity ?? DEFAULT_QUEUE_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', `queue capacity must be a positive integer, not ${capacity}`);
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'queue name must be a non-empty string');
    }
    const first = options.firstSequence ?? 1;
    if (!Number.isSafeInteger(first) || first < 1) {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', `firstSequence must be a positive integer, not ${first}`);
    }
    this.capacity = capacity;
    this.name = options.name;
    this.nextSequence = first;
  }

  /** Messages waiting to be consumed. */
  get depth(): number {
    return this.size;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** A snapshot of the counters. */
  get stats(): StatusQueueStats {
    return { ...this.counters };
  }

  /** Takes the oldest message, or undefined if there is none. */
  poll(): StatusMessage | undefined {
    const node = this.head;
    if (node === undefined) return undefined;
    this.unlink(node);
    this.counters.delivered++;
    // Out of the queue, the message keeps its body; its document lives while the consumer holds it.
    releaseDocument(node.message);
    return node.message;
  }

  /**
   * Waits for the next message. Resolves undefined when the queue is closed,
   * or when `signal` aborts (for long polls).
   */
  async take(signal?: AbortSignal): Promise<StatusMessage | undefined> {
    for (;;) {
      const message = this.poll();
      if (message !== undefined) return message;
      if (this.isClosed || signal?.aborted === true) return undefined;
      // Re-poll after waking: an unsubscribe may have purged the message meanwhile.
      await this.waitForMessage(signal);
    }
  }

  /** `for await (const message of queue)`; ends when the queue is closed. Breaking out leaves the queue open. */
  async *[Symbol.asyncIterator](): AsyncGenerator<StatusMessage, void, undefined> {
    for (;;) {
      const message = await this.take();
      if (message === undefined) return;
      yield message;
    }
  }

  /** Ends iteration, discards what is queued and refuses further messages. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.counters.dropped += this.size;
    // Handles carrying slots of this queue let go of them (and of the messages they hold).
    for (let node = this.head; node !== undefined; node = node.next) {
      const carrier = node.owner.carrier;
      if (carrier !== undefined) carrier[OWN_SLOTS] = undefined;
    }
    this.head = undefined;
    this.tail = undefined;
    this.size = 0;
    this.slots.clear();
    this.memberSlots.clear();
    this.crowded.clear();
    this.maxCrowded = 0;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    this[ON_CLOSE]?.(this);
  }

  /**
   * @internal Appends a status for `subscription`, applying the overflow
   * policy. Returns the message as queued, or undefined if the queue is closed.
   */
  [ENQUEUE](subscription: QsaSubscriptionHandle, update: StatusUpdate, timestamp: number): StatusMessage | undefined {
    if (this.isClosed) return undefined;
    const carrier = update.record === undefined ? carrierIn(this, subscription) : undefined;
    const key = slotKey(subscription.id, update);
    let slots = carrier !== undefined ? carrier[OWN_SLOTS] : this.slots.get(key);
    if (this.size >= this.capacity) {
      if (slots !== undefined && slots.last !== undefined) {
        const node = slots.last;
        node.message = createStatusMessage(subscription, update, node.message.sequence, timestamp);
        this.counters.enqueued++;
        this.counters.coalesced++;
        return node.message;
      }
      if (this.maxCrowded >= 2) {
        const victim = this.crowded.get(this.maxCrowded)!.values().next().value as SubscriptionSlots;
        this.unlink(victim.first!);
        this.counters.coalesced++;
      } else {
        this.unlink(this.head!);
        this.counters.dropped++;
      }
    }
    if (slots === undefined) {
      slots = new SubscriptionSlots(key, subscription.id, carrier);
      if (carrier !== undefined) carrier[OWN_SLOTS] = slots;
      else this.slots.set(key, slots);
      if (key !== subscription.id) {
        let members = this.memberSlots.get(subscription.id);
        if (members === undefined) {
          members = new Set();
          this.memberSlots.set(subscription.id, members);
        }
        members.add(slots);
      }
    }
    const message = createStatusMessage(subscription, update, this.nextSequence++, timestamp);
    const node = new QueueNode(message, slots);
    // Append to the queue…
    node.prev = this.tail;
    if (this.tail === undefined) this.head = node;
    else this.tail.next = node;
    this.tail = node;
    this.size++;
    // …and to its subscription's list.
    node.subPrev = slots.last;
    if (slots.last === undefined) slots.first = node;
    else slots.last.subNext = node;
    slots.last = node;
    this.recount(slots, slots.count + 1);
    this.counters.enqueued++;
    const wake = this.waiters.shift();
    if (wake !== undefined) wake();
    return message;
  }

  /** @internal Removes every queued message of a subscription; returns how many. */
  [PURGE](subscription: QsaSubscriptionHandle): number {
    const subscriptionId = subscription.id;
    const all: SubscriptionSlots[] = [...(this.memberSlots.get(subscriptionId) ?? [])];
    const carrier = carrierIn(this, subscription);
    const own = carrier !== undefined ? carrier[OWN_SLOTS] : this.slots.get(subscriptionId);
    if (own !== undefined) all.push(own);
    let removed = 0;
    for (const slots of all) {
      while (slots.first !== undefined) {
        this.unlink(slots.first);
        removed++;
      }
    }
    this.counters.purged += removed;
    return removed;
  }

  private unlink(node: QueueNode): void {
    if (node.prev === undefined) this.head = node.next;
    else node.prev.next = node.next;
    if (node.next === undefined) this.tail = node.prev;
    else node.next.prev = node.prev;
    node.prev = node.next = undefined;
    this.size--;
    const slots = node.owner;
    if (node.subPrev === undefined) slots.first = node.subNext;
    else node.subPrev.subNext = node.subNext;
    if (node.subNext === undefined) slots.last = node.subPrev;
    else node.subNext.subPrev = node.subPrev;
    node.subPrev = node.subNext = undefined;
    this.recount(slots, slots.count - 1);
    if (slots.count === 0) {
      if (slots.carrier !== undefined) slots.carrier[OWN_SLOTS] = undefined;
      else this.slots.delete(slots.key);
      if (slots.key !== slots.subscriptionId) {
        const members = this.memberSlots.get(slots.subscriptionId);
        members?.delete(slots);
        if (members?.size === 0) this.memberSlots.delete(slots.subscriptionId);
      }
    }
  }

  /** Moves a subscription between the count buckets (only counts ≥ 2 are tracked). */
  private recount(slots: SubscriptionSlots, count: number): void {
    const old = slots.count;
    slots.count = count;
    if (old >= 2) {
      const bucket = this.crowded.get(old)!;
      bucket.delete(slots);
      if (bucket.size === 0) this.crowded.delete(old);
    }
    if (count >= 2) {
      let bucket = this.crowded.get(count);
      if (bucket === undefined) {
        bucket = new Set();
        this.crowded.set(count, bucket);
      }
      bucket.add(slots);
      if (count > this.maxCrowded) this.maxCrowded = count;
    }
    while (this.maxCrowded >= 2 && !this.crowded.has(this.maxCrowded)) this.maxCrowded--;
    if (this.maxCrowded < 2) this.maxCrowded = 0;
  }

  private waitForMessage(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal === undefined) {
        this.waiters.push(resolve);
        return;
      }
      const onAbort = (): void => {
        const index = this.waiters.indexOf(wake);
        if (index !== -1) this.waiters.splice(index, 1);
        resolve();
      };
      const wake = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
