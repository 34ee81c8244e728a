import type { Clock } from '../util/clock.js';
import { flatString } from '../util/copy-string.js';
import type { Random } from '../util/random.js';
import {
  type QsaNotifierErrorEvent,
  notifierErrorChannel,
  notifyChannel,
  subscribeChannel,
  unsubscribeChannel,
} from './qsa-diagnostics.js';
import type { NotifierHost, NotifierOptions, NotifierRegistration, QsaNotifier, QsaSubscription } from './notifier.js';
import { QsaError } from './qsa-error.js';
import {
  type QsaSubscriptionHandle,
  type QsaSubscriptionInfo,
  REREAD_DOCUMENT,
  type RereadableUpdate,
  rereaderOf,
  STATUS_RELEASED,
  SUBSCRIPTION_STATES,
  type SubscriptionState,
  type StatusMessage,
  type StatusUpdate,
} from './status-message.js';
import { ENQUEUE, ON_CLOSE, OWN_SLOTS, PURGE, StatusQueue, type StatusQueueOptions } from './status-queue.js';
import { KeptBodyStore } from './kept-body-store.js';
import { KeptStatus } from './kept-status.js';
import { asSmallInteger } from '../util/small-integer.js';

export interface SubscribeRequest {
  /** Event package; default `presence`. */
  package?: string;
  record: string;
  subscriber: string;
  queue: StatusQueue;
  data?: unknown;
  /**
   * Re-creates a subscription under the id it had (the daemon restoring its
   * stored API subscriptions after a restart). Must not be in use
   * (QSA_ERR_DUPLICATE_SUBSCRIPTION); default: a new id.
   */
  id?: string;
  /** Wall-clock ms of the original creation, with `id`; default: now. */
  createdAt?: number;
}

export interface QsaBrokerOptions {
  clock: Clock;
  /** If given, subscription ids are random 16-character tokens (unguessable over an API); else `s1`, `s2`, … */
  random?: Random;
  /**
   * Told, synchronously, when a notifier callback (subscribe, unsubscribe,
   * accepts) throws; the broker carries on either way. The same event also goes
   * to the `presence-b2b:qsa:notifier-error` channel, which is process-wide:
   * this hook is the one scoped to this broker (the daemon logs and counts here).
   */
  onNotifierError?: (event: QsaNotifierErrorEvent) => void;
  /**
   * A subscription's last status body kept unchanged for this long (ms; it is
   * compacted between once and twice this after it was kept) is compacted
   * against a frame, off the NOTIFY path (src/qsa/kept-body-store.ts); reads
   * return the same bytes. 0 (the default): never.
   */
  keptBodyCompactionMs?: number;
}

class NotifierEntry implements NotifierRegistration {
  active = true;
  readonly package: string;
  constructor(
    readonly broker: QsaBroker,
    pkg: string,
    readonly notifier: QsaNotifier,
    readonly accepts: ((sub: QsaSubscriptionInfo) => boolean) | undefined,
    readonly priority: number,
    readonly name: string,
    readonly order: number,
  ) {
    this.package = pkg;
  }
}

/**
 * Octets besides its body that a queued status may keep alive: a body that is a view into a
 * buffer larger than itself by more is copied into one of its own. A UDP datagram's buffer (the
 * datagram alone, in Node) stays well within it, so that its NOTIFY's body is not copied again:
 * each copy is an ArrayBuffer that V8's scavenges free one by one (issue 11: half of a 2 ms
 * scavenge at 20,000 NOTIFYs/s; docs/latency-tail.md, "The 20,000/s step after the segments").
 */
export const MAX_BYTES_KEPT_BESIDE_BODY = 4096;

/** The subscriber-side record of one subscription (what `subscribe()` returns). */
class SubscriptionRecord implements QsaSubscriptionHandle {
  active = true;
  /**
   * The last status as its message: while it is queued and until the end of
   * the task that takes it out; for good when it cannot be kept compactly
   * (a document that cannot be read again from the body). See `lastStatus`.
   */
  private recent: StatusMessage | undefined = undefined;
  /** The last status once `recent` has been let go, in fields written in place (issue 11). */
  private kept: KeptStatus | undefined = undefined;
  /** The notifier's view of it while a notifier holds it (set and cleared in one place each: handTo, unsubscribe, withdraw). */
  assignment: Assignment | undefined;
  /** The notifier holding it: its assignment's (not a field of its own, 8 B less per subscription, issue 11). */
  get holder(): NotifierEntry | undefined {
    return this.assignment?.holder;
  }
  /** @internal The slots of this subscription's queued messages in its queue, while it has some (status-queue.ts, OWN_SLOTS). */
  [OWN_SLOTS]: unknown = undefined;
  readonly package: string;
  constructor(
    readonly broker: QsaBroker,
    readonly id: string,
    pkg: string,
    readonly record: string,
    readonly subscriber: string,
    readonly data: unknown,
    readonly queue: StatusQueue,
    createdAt: number,
  ) {
    this.package = pkg;
    // A whole number of ms is kept as its distance from the broker's epoch (a small integer held
    // in the field itself, not a 16-byte box per subscription); a fraction as it is (issue 11).
    // The difference of two large whole numbers is a heap number: asSmallInteger makes it a small one.
    this.created = Number.isInteger(createdAt) ? asSmallInteger(createdAt - broker.epoch) : createdAt;
  }

  private readonly created: number;

  get createdAt(): number {
    const created = this.created;
    return Number.isInteger(created) ? this.broker.epoch + created : created;
  }

  get notifierName(): string | undefined {
    return this.holder?.name;
  }

  /**
   * The last status reported: the message itself while it is queued and in
   * the task that takes it out; after that, when its document can be read
   * again from its body, a message equal to it, built from the kept fields
   * (the same object while anybody holds it).
   */
  get lastStatus(): StatusMessage | undefined {
    return this.recent ?? this.kept?.message(this, this.broker.epoch);
  }

  get lastState(): SubscriptionState | undefined {
    return (this.recent ?? this.kept)?.state;
  }

  /** @internal The broker queued `message` for this subscription. */
  reported(message: StatusMessage): void {
    this.recent = message;
  }

  /** @internal End of the task that took `message` out of its queue (status-message.ts): keep it compactly if it is still the last. */
  [STATUS_RELEASED](message: StatusMessage): void {
    if (this.recent !== message) return;
    const kept = this.kept ?? new KeptStatus();
    // Its body goes to the broker's store while the subscription lives (an ended one is not released from it again).
    kept.write(message, this.broker.epoch, this.active ? this.broker.keptBodies : undefined);
    this.kept = kept;
    this.recent = undefined;
  }

  /** @internal The subscription ended: its kept body leaves the broker's store (the handle can still be read). */
  ended(): void {
    this.kept?.letGo();
  }

  /** No cycles (lastStatus → subscription → lastStatus) and no queue internals in JSON. */
  toJSON(): object {
    return {
      id: this.id,
      package: this.package,
      record: this.record,
      subscriber: this.subscriber,
      active: this.active,
      createdAt: this.createdAt,
      notifier: this.notifierName,
      state: this.lastState ?? 'pending',
    };
  }
}

/** One notifier's view of a subscription; revoked (active = false) when it stops answering it. */
class Assignment implements QsaSubscription {
  active = true;
  constructor(
    readonly target: SubscriptionRecord,
    readonly holder: NotifierEntry,
  ) {}

  get id(): string {
    return this.target.id;
  }
  get package(): string {
    return this.target.package;
  }
  get record(): string {
    return this.target.record;
  }
  get subscriber(): string {
    return this.target.subscriber;
  }
  get data(): unknown {
    return this.target.data;
  }

  toJSON(): object {
    return { id: this.id, package: this.package, record: this.record, subscriber: this.subscriber, active: this.active };
  }
}

interface PackageState {
  /** Sorted: priority descending, then registration order. */
  notifiers: NotifierEntry[];
}

function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new QsaError('QSA_ERR_INVALID_ARGUMENT', `${what} must be a non-empty string`);
  }
  return value;
}

/**
 * The Query Status API broker: subscribers ask for the status of a record as
 * seen by a subscriber, into a queue; notifiers (per event package) answer.
 *
 * - Exactly one notifier answers a subscription: the highest-priority (then
 *   earliest registered) notifier whose `accepts` returns true. Without one
 *   the subscription waits, pending and silent, until one registers.
 * - A notifier registering late is handed the waiting subscriptions it
 *   accepts (not those another notifier already holds).
 * - Unregistering a notifier hands its subscriptions to the next accepting
 *   notifier (whose `subscribe` is called); the old notifier's views turn
 *   inactive and its `unsubscribe` is NOT called: cleaning up its own state
 *   is its business, as in SER's QSA.
 * - Once `unsubscribe()` returns, no message of that subscription is in, or
 *   will reach, its queue.
 * Names of packages are compared case-sensitively. Everything is synchronous.
 */
export class QsaBroker implements NotifierHost {
  private readonly clock: Clock;
  /** @internal Whole ms of the wall clock when the broker was made: what subscriptions' createdAt count from. */
  readonly epoch: number;
  private readonly random: Random | undefined;
  private readonly byId = new Map<string, SubscriptionRecord>();
  private readonly packages = new Map<string, PackageState>();
  private readonly queues = new Map<string, StatusQueue>();
  private idCounter = 0;
  private notifierCounter = 0;
  private queuedCount = 0;
  private readonly onNotifierError: ((event: QsaNotifierErrorEvent) => void) | undefined;
  /** @internal The bodies of the subscriptions' last statuses, and of the engine's kept updates (keptBodiesOf). */
  readonly keptBodies: KeptBodyStore;

  constructor(options: QsaBrokerOptions) {
    this.clock = options.clock;
    this.epoch = Math.floor(options.clock.wallTime());
    this.random = options.random;
    this.onNotifierError = options.onNotifierError;
    this.keptBodies = new KeptBodyStore({ clock: options.clock, compactAfterMs: options.keptBodyCompactionMs ?? 0 });
  }

  /** Stops the kept bodies' compaction timer (bodies already kept stay readable); a broker of a closed B2B calls it. */
  stopCompaction(): void {
    this.keptBodies.stopCompaction();
  }

  /** Live subscriptions. */
  get size(): number {
    return this.byId.size;
  }

  /** Status messages queued since the start, whichever notifier reported them. */
  get messagesQueued(): number {
    return this.queuedCount;
  }

  /** Creates a destination queue; a named one can be found again with getQueue() until it is closed. */
  createQueue(options: StatusQueueOptions = {}): StatusQueue {
    const name = options.name;
    if (name !== undefined && this.queues.has(name)) {
      throw new QsaError('QSA_ERR_DUPLICATE_QUEUE', `a queue named ${JSON.stringify(name)} exists already`);
    }
    const queue = new StatusQueue(options);
    if (name !== undefined) {
      this.queues.set(name, queue);
      queue[ON_CLOSE] = (closed) => {
        if (this.queues.get(name) === closed) this.queues.delete(name);
      };
    }
    return queue;
  }

  getQueue(name: string): StatusQueue | undefined {
    return this.queues.get(name);
  }

  /** Asks for the status of `record` as seen by `subscriber`, delivered into `queue`. */
  subscribe(request: SubscribeRequest): QsaSubscriptionHandle {
    const pkg = requireText(request.package ?? 'presence', 'package');
    const record = requireText(request.record, 'record');
    const subscriber = requireText(request.subscriber, 'subscriber');
    const queue = request.queue;
    if (!(queue instanceof StatusQueue)) {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'queue must be a StatusQueue (broker.createQueue())');
    }
    if (queue.closed) throw new QsaError('QSA_ERR_QUEUE_CLOSED', 'cannot subscribe into a closed queue');
    let id: string;
    if (request.id === undefined) {
      id = this.newId();
    } else {
      id = requireText(request.id, 'id');
      if (this.byId.has(id)) throw new QsaError('QSA_ERR_DUPLICATE_SUBSCRIPTION', `a subscription with id ${JSON.stringify(id)} exists already`);
    }
    const createdAt = request.createdAt ?? this.clock.wallTime();
    if (typeof createdAt !== 'number' || !Number.isFinite(createdAt)) throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'createdAt must be a finite number');
    // Kept for the life of the subscription: each in its own flat storage, neither a rope
    // (a string built by concatenation keeps a 32-byte node per piece) nor a slice of a request.
    const sub = new SubscriptionRecord(this, flatString(id), pkg, flatString(record), flatString(subscriber), request.data, queue, createdAt);
    this.byId.set(sub.id, sub);
    this.assign(sub);
    if (subscribeChannel.hasSubscribers && sub.active) {
      subscribeChannel.publish({ subscription: sub, notifier: sub.holder?.name });
    }
    return sub;
  }

  /**
   * Ends a subscription: its notifier's `unsubscribe` is called, and its
   * messages still queued are removed. Accepts the handle or its id. Returns
   * false if it had ended already (or the id is unknown).
   */
  unsubscribe(handle: QsaSubscriptionHandle | string): boolean {
    let sub: SubscriptionRecord | undefined;
    if (typeof handle === 'string') {
      sub = this.byId.get(handle);
      if (sub === undefined) return false;
    } else if (handle instanceof SubscriptionRecord && handle.broker === this) {
      sub = handle;
    } else {
      throw new QsaError('QSA_ERR_UNKNOWN_SUBSCRIPTION', 'not a subscription handle of this broker');
    }
    if (!sub.active) return false;
    // As SER's qsa unsubscribe(): stop notifications first, then tell the notifier.
    sub.active = false;
    this.byId.delete(sub.id);
    const assignment = sub.assignment;
    const holder = sub.holder;
    sub.assignment = undefined;
    if (assignment !== undefined && holder !== undefined) {
      assignment.active = false;
      this.callNotifier(holder, 'unsubscribe', assignment);
    }
    const purged = sub.queue[PURGE](sub);
    sub.ended();
    if (unsubscribeChannel.hasSubscribers) unsubscribeChannel.publish({ subscription: sub, purged });
    return true;
  }

  /**
   * Registers a notifier for `pkg`. It is handed, at once, every waiting
   * subscription of the package that it accepts.
   */
  registerNotifier(pkg: string, notifier: QsaNotifier, options: NotifierOptions = {}): NotifierRegistration {
    requireText(pkg, 'package');
    if (notifier === null || typeof notifier !== 'object' || typeof notifier.subscribe !== 'function') {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'notifier must implement subscribe() and unsubscribe()');
    }
    if (typeof notifier.unsubscribe !== 'function') {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'notifier must implement subscribe() and unsubscribe()');
    }
    const priority = options.priority ?? 0;
    if (typeof priority !== 'number' || Number.isNaN(priority)) {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'priority must be a number');
    }
    const order = ++this.notifierCounter;
    const entry = new NotifierEntry(
      this,
      pkg,
      notifier,
      options.accepts,
      priority,
      options.name ?? `notifier-${order}`,
      order,
    );
    const state = this.packageState(pkg);
    // Insert after every notifier of higher or equal priority (equal: earlier registration wins).
    let index = state.notifiers.length;
    while (index > 0 && state.notifiers[index - 1]!.priority < priority) index--;
    state.notifiers.splice(index, 0, entry);
    // Late registration: catch up with the subscriptions nobody holds (snapshot: callbacks may subscribe).
    for (const sub of this.subscriptionsOf(pkg)) {
      if (!entry.active) break;
      if (sub.active && sub.holder === undefined && this.accepts(entry, sub)) this.handTo(sub, entry);
    }
    return entry;
  }

  /**
   * Unregisters a notifier; its subscriptions go to the next accepting
   * notifier, or wait for one. Returns false if it was unregistered already.
   */
  unregisterNotifier(registration: NotifierRegistration): boolean {
    if (!(registration instanceof NotifierEntry) || registration.broker !== this) {
      throw new QsaError('QSA_ERR_UNKNOWN_NOTIFIER', 'not a notifier registration of this broker');
    }
    if (!registration.active) return false;
    registration.active = false;
    const state = this.packages.get(registration.package);
    if (state === undefined) return true;
    const index = state.notifiers.indexOf(registration);
    if (index !== -1) state.notifiers.splice(index, 1);
    const orphans: SubscriptionRecord[] = [];
    for (const sub of this.subscriptionsOf(registration.package)) {
      if (sub.holder === registration) orphans.push(sub);
    }
    for (const sub of orphans) {
      const revoked = sub.assignment;
      if (revoked !== undefined) revoked.active = false;
      sub.assignment = undefined;
      // Before another notifier may report for it: what the revoked one reported is still the record's last status.
      if (revoked !== undefined) this.tellRevoked(registration, revoked);
    }
    for (const sub of orphans) {
      if (sub.active && sub.holder === undefined) this.assign(sub);
    }
    return true;
  }

  /**
   * A notifier reports the status of a subscription it holds. Returns true if
   * a message was queued; false (and nothing happens) if `sub` is no longer
   * active for this notifier or its queue is closed.
   */
  notify(sub: QsaSubscription, update: StatusUpdate): boolean {
    if (!(sub instanceof Assignment) || sub.holder.broker !== this) {
      throw new QsaError('QSA_ERR_UNKNOWN_SUBSCRIPTION', 'not a subscription handed out by this broker');
    }
    if (!sub.active) return false;
    if (update === null || typeof update !== 'object' || !SUBSCRIPTION_STATES.has(update.state)) {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', `invalid subscription state ${JSON.stringify(update?.state)}`);
    }
    // Each field by name: a loop over their names read them with a computed key, a generic
    // lookup on every NOTIFY (issue 11).
    checkOptionalName(update.record, 'record');
    checkOptionalName(update.list, 'list');
    const target = sub.target;
    let stored = update;
    const body = update.body;
    if (body !== undefined && !(body instanceof Uint8Array)) {
      throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'body must be a Uint8Array');
    }
    // A view into a much larger buffer (a TCP read) would keep all of it alive in the queue: copied. A UDP
    // datagram's own buffer (the NOTIFY reader hands on its view) keeps at most its headers besides.
    if (body !== undefined && body.buffer.byteLength - body.byteLength > MAX_BYTES_KEPT_BESIDE_BODY) stored = { ...update, body: new Uint8Array(body) };
    const message = target.queue[ENQUEUE](target, stored, this.clock.wallTime());
    if (message === undefined) return false;
    this.queuedCount++;
    target.reported(message);
    if (notifyChannel.hasSubscribers) notifyChannel.publish({ subscription: target, message });
    return true;
  }

  /** Live subscriptions, in creation order. */
  *subscriptions(): IterableIterator<QsaSubscriptionHandle> {
    for (const sub of this.byId.values()) yield sub;
  }

  get(id: string): QsaSubscriptionHandle | undefined {
    return this.byId.get(id);
  }

  /**
   * The packages some registered notifier serves, sorted: those a
   * subscription can be answered for (one of another package waits, pending,
   * until a notifier for it registers). The HTTP API and the CLI accept these only.
   */
  servedPackages(): string[] {
    const served: string[] = [];
    for (const [pkg, state] of this.packages) if (state.notifiers.length > 0) served.push(pkg);
    return served.sort();
  }

  /** Registered notifiers of a package, in the order they are tried. */
  notifiers(pkg: string): NotifierRegistration[] {
    return [...(this.packages.get(pkg)?.notifiers ?? [])];
  }

  private newId(): string {
    // Restored subscriptions keep their ids: skip any in use.
    for (;;) {
      const id = this.random === undefined ? 's' + ++this.idCounter : this.random.token(16);
      if (!this.byId.has(id)) return id;
    }
  }

  /**
   * The live subscriptions of `pkg`, in creation order, as a list (callbacks may
   * subscribe meanwhile). Found by a pass over all of them rather than kept in a
   * set per package: only a notifier's registration or unregistration asks, and a
   * set entry cost 33 bytes per held subscription (issue 11).
   */
  private subscriptionsOf(pkg: string): SubscriptionRecord[] {
    const found: SubscriptionRecord[] = [];
    for (const sub of this.byId.values()) if (sub.package === pkg) found.push(sub);
    return found;
  }

  private packageState(pkg: string): PackageState {
    let state = this.packages.get(pkg);
    if (state === undefined) {
      state = { notifiers: [] };
      this.packages.set(pkg, state);
    }
    return state;
  }

  /** Hands `sub` to the first notifier (in priority order) that accepts it, if any. */
  private assign(sub: SubscriptionRecord): void {
    const state = this.packages.get(sub.package);
    if (state === undefined) return;
    for (const entry of [...state.notifiers]) {
      if (!entry.active) continue;
      if (this.accepts(entry, sub)) {
        this.handTo(sub, entry);
        return;
      }
    }
  }

  private handTo(sub: SubscriptionRecord, entry: NotifierEntry): void {
    const assignment = new Assignment(sub, entry);
    sub.assignment = assignment;
    this.callNotifier(entry, 'subscribe', assignment);
  }

  private tellRevoked(entry: NotifierEntry, sub: Assignment): void {
    const listener = (entry.notifier as RevocationListener)[SUBSCRIPTION_REVOKED];
    if (listener === undefined) return;
    try {
      listener.call(entry.notifier, sub);
    } catch (error) {
      this.reportNotifierError(entry, 'unsubscribe', sub, error);
    }
  }

  private accepts(entry: NotifierEntry, sub: SubscriptionRecord): boolean {
    if (entry.accepts === undefined) return true;
    try {
      return entry.accepts(sub) === true;
    } catch (error) {
      this.reportNotifierError(entry, 'accepts', sub, error);
      return false;
    }
  }

  private callNotifier(entry: NotifierEntry, callback: 'subscribe' | 'unsubscribe', sub: Assignment): void {
    try {
      if (callback === 'subscribe') entry.notifier.subscribe(sub);
      else entry.notifier.unsubscribe(sub);
    } catch (error) {
      this.reportNotifierError(entry, callback, sub, error);
    }
  }

  private reportNotifierError(
    entry: NotifierEntry,
    callback: 'subscribe' | 'unsubscribe' | 'accepts',
    sub: { id: string; package: string; record: string; subscriber: string },
    error: unknown,
  ): void {
    const hook = this.onNotifierError;
    if (hook === undefined && !notifierErrorChannel.hasSubscribers) return;
    const event: QsaNotifierErrorEvent = {
      notifier: entry.name,
      callback,
      subscriptionId: sub.id,
      package: sub.package,
      record: sub.record,
      subscriber: sub.subscriber,
      error,
    };
    if (hook !== undefined) {
      try {
        hook(event);
      } catch {
        // A failing reporter (a broken logger) must not break the broker; the channel below still hears it.
      }
    }
    if (notifierErrorChannel.hasSubscribers) notifierErrorChannel.publish(event);
  }

}

/**
 * @internal The store where a notifier keeps the bodies of the updates it
 * holds between reports (the engine's kept update), the same as the broker's
 * so that both hold one slot: the broker's of `sub`, or undefined for a
 * subscription of another sink (a test's fake) or none.
 */
export function keptBodiesOf(sub: QsaSubscription | undefined): KeptBodyStore | undefined {
  return sub instanceof Assignment ? sub.holder.broker.keptBodies : undefined;
}

/**
 * @internal Called on a notifier (when it has it) for each subscription taken
 * from it by `unregisterNotifier`, before any other notifier is handed it: a
 * notifier that reads its last report back from the broker (reportedUpdateOf)
 * instead of keeping it must keep its own copy from then on, since the
 * subscription's last status will be another notifier's.
 */
export const SUBSCRIPTION_REVOKED: unique symbol = Symbol('presence-b2b.qsa.subscriptionRevoked');

interface RevocationListener {
  [SUBSCRIPTION_REVOKED]?: (sub: QsaSubscription) => void;
}

/**
 * @internal Whether `sub` was handed out by a broker (not a test's fake),
 * whose record keeps the last status reported for it: a notifier may then
 * read that status back (reportedUpdateOf) rather than keep it twice.
 */
export function keepsReportedStatus(sub: QsaSubscription | undefined): boolean {
  return sub instanceof Assignment;
}

/**
 * @internal The last update reported for `sub`, as its record keeps it (issue
 * 11: a notifier serving one subscriber need not keep the same status a second
 * time): the update's fields, without the ones it did not have; for a package
 * whose documents can be read again from the body, without the document (read
 * again when asked, as from a kept update, compactUpdate), its body a copy. Equal to the update
 * last reported for `sub` as long as `sub` is active (no other notifier can
 * report for it meanwhile) or ended; undefined when nothing was reported or
 * `sub` is not a broker's.
 */
export function reportedUpdateOf(sub: QsaSubscription | undefined): StatusUpdate | undefined {
  if (!(sub instanceof Assignment)) return undefined;
  const message = sub.target.lastStatus;
  if (message === undefined) return undefined;
  const update: RereadableUpdate = { state: message.state };
  if (message.reason !== undefined) update.reason = message.reason;
  if (message.retryAfter !== undefined) update.retryAfter = message.retryAfter;
  if (message.expires !== undefined) update.expires = message.expires;
  if (message.contentType !== undefined) update.contentType = message.contentType;
  const body = message.body;
  // A copy of the reader's own, as a kept update's `body` reads: the message may be one that others hold.
  if (body !== undefined) update.body = new Uint8Array(body);
  if (message.error !== undefined) update.error = message.error;
  if (message.record !== sub.target.record) update.record = message.record;
  if (message.list !== undefined) update.list = message.list;
  const reread = body === undefined ? undefined : rereaderOf(sub.package);
  if (reread !== undefined) update[REREAD_DOCUMENT] = reread;
  else if (message.document !== undefined) update.document = message.document;
  return update;
}

/** A status update's `record` or `list`, when given, is a non-empty string. */
function checkOptionalName(value: unknown, field: 'record' | 'list'): void {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new QsaError('QSA_ERR_INVALID_ARGUMENT', `${field}, when given, must be a non-empty string`);
  }
}
