import type { StatusErrorCode } from '../util/error-codes.js';
import { bytesOf, KeptBody, type KeptBodyStore, type KeptBytes, unkeep } from './kept-body-store.js';
import type { StatusQueue } from './status-queue.js';

/**
 * The state of the subscription itself (RFC 6665 Subscription-State, plus
 * `rejected`), not whether the presentity is online: that is the PIDF
 * `<basic>` inside `presence`.
 */
export type SubscriptionState = 'pending' | 'active' | 'terminated' | 'rejected';

export const SUBSCRIPTION_STATES: ReadonlySet<string> = new Set(['pending', 'active', 'terminated', 'rejected']);

/** Why a status message carries no (or only part of a) document, or why the subscription failed. */
export interface StatusError {
  /** B2B_ERR_* from the engine, or the package reader's code (PIDF_ERR_* for presence). */
  code: StatusErrorCode;
  message: string;
}

/**
 * What a notifier reports about one subscription (`broker.notify(sub, update)`).
 * QSA carries the body as bytes and the notifier's parsed view of it as
 * `document` without knowing its type: each event package has its own reader
 * (PIDF for presence, reginfo for reg, …), and the subscriber knows which
 * packages it asked for (see `isPresenceStatus` in the presence module).
 */
export interface StatusUpdate<TDocument = unknown> {
  state: SubscriptionState;
  /** Subscription-State reason (RFC 6665 §4.1.3), e.g. `timeout`, `rejected`, `noresource`. */
  reason?: string;
  /** Seconds after which the subscriber may try again (Subscription-State retry-after). */
  retryAfter?: number;
  /** Seconds the subscription still runs (Subscription-State expires). */
  expires?: number;
  contentType?: string;
  /**
   * The body as received; kept raw even when it could not be parsed. Read it as a view (it may
   * lie within a larger buffer: a NOTIFY over UDP hands on the datagram's bytes, so `body.buffer`
   * is the whole datagram) and do not write to it.
   */
  body?: Uint8Array;
  /** The body as parsed by the package's reader (absent: no body, or not readable). */
  document?: TDocument;
  /** Set when the body could not be read (a PIDF_ERR_* code for presence), or when the subscription failed (B2B_ERR_*). */
  error?: StatusError;
  /**
   * For a member of a resource list (RFC 4662): the member's URI, which the
   * message carries as its `record` (default: the subscription's record).
   * `state` and `reason` are then those of the member's instance, and the
   * body and `document` are the member's own.
   */
  record?: string;
  /**
   * Set on the messages of a resource list's members: the URI of the list
   * the member belongs to (the subscription's record, or a nested list's URI).
   */
  list?: string;
}

/** What the subscriber side sees of a subscription it made. */
export interface QsaSubscriptionInfo {
  /** Unique within the broker. */
  readonly id: string;
  /** Event package (case-sensitive), e.g. `presence`. */
  readonly package: string;
  /** The URI whose status is asked for (To / Request-URI of the SUBSCRIBE). */
  readonly record: string;
  /** The URI asking (From of the SUBSCRIBE). */
  readonly subscriber: string;
  /** The subscriber's own data, passed through untouched. */
  readonly data: unknown;
  /** False once unsubscribed (and, on a notifier's view, once handed to another notifier). */
  readonly active: boolean;
}

/** The subscriber's handle, returned by `broker.subscribe()`. */
export interface QsaSubscriptionHandle extends QsaSubscriptionInfo {
  readonly queue: StatusQueue;
  /** Wall-clock ms (the broker's Clock) of the subscribe call. */
  readonly createdAt: number;
  /**
   * The last status reported for this subscription (also when later coalesced
   * away in the queue). The message itself while it is queued and in the task
   * that takes it out; later, an equal message (the same object while anybody
   * holds it): the subscription keeps the status compactly (issue 11).
   */
  readonly lastStatus: StatusMessage | undefined;
  /** `lastStatus?.state`, without building a message. */
  readonly lastState: SubscriptionState | undefined;
  /** Name of the notifier currently answering; undefined while pending without a notifier. */
  readonly notifierName: string | undefined;
}

/** One message in a destination queue. */
export interface StatusMessage<TDocument = unknown> extends Readonly<StatusUpdate<TDocument>> {
  readonly subscription: QsaSubscriptionHandle;
  readonly subscriptionId: string;
  /** The subscription's record; for a member of a resource list, the member's URI (and `list` is set). */
  readonly record: string;
  readonly subscriber: string;
  readonly package: string;
  /** Per-queue, strictly increasing in delivery order (a coalesced message keeps its slot's number). */
  readonly sequence: number;
  /** Wall-clock ms (the broker's Clock) when the notifier reported it. */
  readonly timestamp: number;
}

/**
 * @internal Set on an update by a notifier whose `document` is a pure
 * function of `contentType` and `body` (presence: a PIDF document is whole in
 * every NOTIFY): such a document can be read again at any time, so a message
 * that has left its queue keeps only its body, and the document it hands out
 * is rebuilt on the next access once nobody holds it (issue 11: the parsed
 * document was 2.3 KB of the 5.3 KB held per subscription at rest, the body
 * 1.1 KB). A symbol, so that it stays out of JSON and of the public types.
 */
export const REREAD_DOCUMENT: unique symbol = Symbol('presence-b2b.qsa.rereadDocument');

/** Reads a message's document again from its content type and body; the same function for every message of a package. */
export type DocumentRereader = (contentType: string | undefined, body: Uint8Array) => unknown;

/** An update that says how its document can be read again (REREAD_DOCUMENT). */
export type RereadableUpdate = StatusUpdate & { [REREAD_DOCUMENT]?: DocumentRereader };

/**
 * The one hidden slot of a message with a re-readable document: the document
 * itself (held) while the message waits in its queue and until the end of
 * the task that takes it out, then nothing, so that the last status a
 * subscription keeps costs its body and not its parsed document. A document
 * read again later is held by a WeakRef (the same object while anybody
 * holds it). How to read it again is the package's (REREADERS).
 *
 * Not a WeakRef from the dequeue on (issue 11): V8's scavenger treats a
 * WeakRef's target as strongly held (only a mark-compact clears it), so at
 * 2,500 NOTIFY/s each last status's document (2.3 KB) was copied by the
 * scavenges and promoted, to die in the old generation at the next
 * mark-compact: most of the bytes that the kept statuses made survive.
 */
const SLOT: unique symbol = Symbol('presence-b2b.qsa.document');

/** The rereader of each package whose messages have lazy documents (one function per package, not one per message). */
const REREADERS = new Map<string, DocumentRereader>();

interface LazyMessage {
  readonly package: string;
  readonly contentType?: string;
  readonly body?: Uint8Array;
  [SLOT]: object | WeakRef<object> | undefined;
}

/** The document while held; read again from the body when it was let go (or collected). */
function lazyDocument(this: LazyMessage): unknown {
  const slot = this[SLOT];
  if (slot instanceof WeakRef) {
    const kept = slot.deref();
    if (kept !== undefined) return kept;
  } else if (slot !== undefined) {
    return slot;
  }
  const reread = REREADERS.get(this.package);
  const document = reread === undefined || this.body === undefined ? undefined : reread(this.contentType, this.body);
  this[SLOT] = document !== null && typeof document === 'object' ? new WeakRef(document) : undefined;
  return document;
}

/** A document set by its user stays as set (held strongly), as on a plain message: the accessor gives way to a data property. */
function setDocument(this: LazyMessage, value: unknown): void {
  this[SLOT] = undefined;
  Object.defineProperty(this, 'document', { value, writable: true, enumerable: true, configurable: true });
}

const DOCUMENT_ACCESSOR: PropertyDescriptor = { get: lazyDocument, set: setDocument, enumerable: true, configurable: true };
const SLOT_PROPERTY = { value: undefined as object | undefined, writable: true, enumerable: false, configurable: true };

/** Messages taken out of their queues in this task, whose documents are let go when it ends. */
let leaving: LazyMessage[] = [];

/**
 * @internal Called on a message's subscription handle (when it has it) at the
 * end of the task that took the message out of its queue, if the message
 * still holds the document it was queued with (so nobody replaced it): the
 * broker's record then keeps that last status compactly (issue 11).
 */
export const STATUS_RELEASED: unique symbol = Symbol('presence-b2b.qsa.statusReleased');

interface ReleaseListener {
  [STATUS_RELEASED]?: (message: StatusMessage) => void;
}

function letDocumentsGo(): void {
  const messages = leaving;
  leaving = [];
  for (const message of messages) {
    // Only a document still held from the queue: one read again meanwhile is a WeakRef already,
    // and one set by a user cleared the slot.
    const slot = message[SLOT];
    if (slot === undefined || slot instanceof WeakRef) continue;
    message[SLOT] = undefined;
    const subscription = (message as unknown as StatusMessage).subscription as unknown as ReleaseListener;
    subscription[STATUS_RELEASED]?.(message as unknown as StatusMessage);
  }
}

/** @internal The rereader of a package's lazy documents, once one of its messages was built (createStatusMessage). */
export function rereaderOf(pkg: string): DocumentRereader | undefined {
  return REREADERS.get(pkg);
}

/**
 * @internal The message has left its queue: its document (if re-readable) is
 * let go at the end of this task (a consumer that reads it in the same task
 * gets the same object); later it is read again from the body when asked, and
 * is then the same one while anybody holds it. The end of the task is a
 * setImmediate for all the messages taken in it (memory housekeeping, no
 * protocol timing: nothing a test drives with its clock).
 */
export function releaseDocument(message: StatusMessage): void {
  const lazy = message as unknown as Partial<LazyMessage>;
  const slot = lazy[SLOT];
  if (slot === undefined || slot instanceof WeakRef) return;
  if (leaving.length === 0) setImmediate(letDocumentsGo);
  leaving.push(lazy as LazyMessage);
}

/**
 * A kept update's body: a slot in the broker's KeptBodyStore (the one the
 * broker's kept status holds too) when there is a broker, else the bytes;
 * `body` reads a copy of it. Private (#): out of Object.entries, JSON and
 * deep comparisons, where `body` stands for it.
 */
abstract class BodyKeptUpdate {
  #body: KeptBytes;
  constructor(body: KeptBytes) {
    this.#body = body;
  }

  /** The body's bytes: a Uint8Array of the reader's own when it is kept in a store. */
  get body(): Uint8Array {
    return bytesOf(this.#body);
  }

  /** @internal Holds `body` (a reference taken already) instead of the present one, whose reference it gives back. */
  hold(body: KeptBytes): void {
    const previous = this.#body;
    this.#body = body;
    // The same body again: it has one reference more, released here (never its last).
    if (previous instanceof KeptBody) previous.release();
  }

  /** @internal Another reference to the body, for another holder (undefined: not in a store). */
  share(): KeptBody | undefined {
    const body = this.#body;
    if (!(body instanceof KeptBody)) return undefined;
    body.refs++;
    return body;
  }

  /** @internal Nobody will write it again: the body leaves the store (still readable). */
  letGo(): void {
    this.#body = unkeep(this.#body);
  }
}

/**
 * The usual kept update (an active status with a body whose document can be
 * read again): five fields of one shape, written in place at each NOTIFY by
 * compactUpdate, so that a dialog's last status is not a new object per
 * NOTIFY that lives until the next one (what a scavenge copied, issue 11).
 */
class UsualKeptUpdate extends BodyKeptUpdate implements StatusUpdate {
  [REREAD_DOCUMENT]: DocumentRereader;
  constructor(
    public state: StatusUpdate['state'],
    public expires: number | undefined,
    public contentType: string | undefined,
    body: KeptBytes,
    reread: DocumentRereader,
  ) {
    super(body);
    this[REREAD_DOCUMENT] = reread;
  }

  /** As the plain kept update it stands for (state, expires, contentType, body). */
  toJSON(): object {
    return { state: this.state, expires: this.expires, contentType: this.contentType, body: this.body };
  }
}

/**
 * A kept update with a body whose document can be read again and one of the
 * rare fields (a reason, Retry-After, an error, another record, a list): a
 * terminated NOTIFY's status, kept until the dialog is made again. Its body
 * in the store too: as a Uint8Array of its own, each was an ArrayBuffer that
 * the GC's array buffer sweep went through at every mark-compact while it was
 * held (issue 11: W4's 100,000 "deactivated" statuses, kept for the up to
 * 100 s the paced re-SUBSCRIBEs take, 16-25 ms of the largest GC pauses;
 * docs/latency-tail.md, "Kept bodies of terminated statuses").
 */
class RareKeptUpdate extends BodyKeptUpdate implements StatusUpdate {
  [REREAD_DOCUMENT]: DocumentRereader;
  readonly state: StatusUpdate['state'];
  readonly reason: string | undefined;
  readonly retryAfter: number | undefined;
  readonly expires: number | undefined;
  readonly contentType: string | undefined;
  readonly error: StatusUpdate['error'];
  readonly record: string | undefined;
  readonly list: string | undefined;
  constructor(update: StatusUpdate, body: KeptBytes, reread: DocumentRereader) {
    super(body);
    this.state = update.state;
    this.reason = update.reason;
    this.retryAfter = update.retryAfter;
    this.expires = update.expires;
    this.contentType = update.contentType;
    this.error = update.error;
    this.record = update.record;
    this.list = update.list;
    this[REREAD_DOCUMENT] = reread;
  }

  /** As the plain kept update it stands for (its fields that are set, and body). */
  toJSON(): object {
    const plain: Record<string, unknown> = {};
    for (const key of UPDATE_FIELDS) {
      const value = key === 'body' ? this.body : this[key];
      if (value !== undefined) plain[key] = value;
    }
    return plain;
  }
}

/**
 * @internal Whether `update` is of the usual kind (a status with a body whose
 * document can be read again, none of the rare fields), which
 * compactUpdate keeps in one fixed shape.
 */
export function isUsualUpdate(update: StatusUpdate): boolean {
  return (update as RereadableUpdate)[REREAD_DOCUMENT] !== undefined && update.body !== undefined && !hasRareField(update);
}

/** Whether `update` has one of the fields most statuses lack (an active NOTIFY has none): the usual kind has none. */
function hasRareField(update: StatusUpdate): boolean {
  return update.reason !== undefined || update.retryAfter !== undefined || update.error !== undefined || update.record !== undefined || update.list !== undefined;
}


/**
 * @internal `update` as kept by a notifier between NOTIFYs (a dialog's last
 * status): when its document can be read again, a copy without the document
 * (a message built from it reads it from the body when asked), of one fixed
 * shape for the usual update and another for one with a rare field, its body
 * kept in `store` (the broker's, keptBodiesOf) if given; any other update as
 * it is. `previous`, the kept update it replaces, is written over when both
 * are of the usual shape, and otherwise let go: the caller must hold it alone
 * (it is never handed out: the broker copies what it queues).
 */
export function compactUpdate(update: StatusUpdate, previous?: StatusUpdate, store?: KeptBodyStore): StatusUpdate {
  const reread = (update as RereadableUpdate)[REREAD_DOCUMENT];
  if (reread === undefined || update.body === undefined) return replaced(previous, update);
  if (previous === update) return update;
  // Its body in the store; another kept update's (a join's) shared rather than copied again.
  const body = update instanceof BodyKeptUpdate ? (update.share() ?? update.body) : store === undefined ? update.body : store.keep(update.body);
  if (!hasRareField(update)) {
    // The usual one (an active NOTIFY with a body): five fields, no empty ones (each costs 8 bytes per subscription).
    if (previous instanceof UsualKeptUpdate) {
      previous.state = update.state;
      previous.expires = update.expires;
      previous.contentType = update.contentType;
      previous.hold(body);
      previous[REREAD_DOCUMENT] = reread;
      return previous;
    }
    return replaced(previous, new UsualKeptUpdate(update.state, update.expires, update.contentType, body, reread));
  }
  return replaced(previous, new RareKeptUpdate(update, body, reread));
}

/** `next` replaces `previous`: a kept update's body leaves the store. */
function replaced(previous: StatusUpdate | undefined, next: StatusUpdate): StatusUpdate {
  if (previous instanceof BodyKeptUpdate && previous !== next) previous.letGo();
  return next;
}

/**
 * @internal A kept update (compactUpdate) whose holder goes (its dialog
 * ended): its body leaves the store; it can still be read.
 */
export function letGoKeptUpdate(update: StatusUpdate | undefined): void {
  if (update instanceof BodyKeptUpdate) update.letGo();
}

/** The fields of an update in the order a kept update has them (what withDocument copies). */
const UPDATE_FIELDS = ['state', 'reason', 'retryAfter', 'expires', 'contentType', 'body', 'error', 'record', 'list'] as const;

/**
 * @internal `update` with its document present (read again from the body if
 * compactUpdate left it out), and without the fields compactUpdate left
 * undefined: what the update was when it was reported.
 */
export function withDocument(update: StatusUpdate): StatusUpdate {
  const reread = (update as RereadableUpdate)[REREAD_DOCUMENT];
  if (reread === undefined || update.document !== undefined) return update;
  const body = update.body;
  if (body === undefined) return update;
  const full: StatusUpdate = { state: update.state };
  for (const key of UPDATE_FIELDS) {
    const value = key === 'body' ? body : update[key];
    if (value !== undefined) (full as unknown as Record<string, unknown>)[key] = value;
  }
  full.document = reread(update.contentType, body);
  return full;
}

/** Builds a message with every field present (one object shape for all messages). */
export function createStatusMessage(
  subscription: QsaSubscriptionHandle,
  update: StatusUpdate,
  sequence: number,
  timestamp: number,
): StatusMessage {
  const reread = (update as RereadableUpdate)[REREAD_DOCUMENT];
  if (reread !== undefined && update.body !== undefined) {
    if (REREADERS.get(subscription.package) !== reread) REREADERS.set(subscription.package, reread);
    // The same fields, `document` an accessor over the hidden slot, added last (one shape for these messages too).
    const message = {
      subscription,
      subscriptionId: subscription.id,
      record: update.record ?? subscription.record,
      subscriber: subscription.subscriber,
      package: subscription.package,
      list: update.list,
      state: update.state,
      reason: update.reason,
      retryAfter: update.retryAfter,
      expires: update.expires,
      contentType: update.contentType,
      body: update.body,
      error: update.error,
      sequence,
      timestamp,
    };
    const document = update.document;
    SLOT_PROPERTY.value = document !== null && typeof document === 'object' ? document : undefined;
    Object.defineProperty(message, SLOT, SLOT_PROPERTY);
    SLOT_PROPERTY.value = undefined;
    Object.defineProperty(message, 'document', DOCUMENT_ACCESSOR);
    return message as StatusMessage;
  }
  return {
    subscription,
    subscriptionId: subscription.id,
    record: update.record ?? subscription.record,
    subscriber: subscription.subscriber,
    package: subscription.package,
    list: update.list,
    state: update.state,
    reason: update.reason,
    retryAfter: update.retryAfter,
    expires: update.expires,
    contentType: update.contentType,
    body: update.body,
    document: update.document,
    error: update.error,
    sequence,
    timestamp,
  };
}
