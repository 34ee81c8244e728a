import type { StatusErrorCode } from '../util/error-codes.js';
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
  /** The body as received; kept raw even when it could not be parsed. */
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
  /** The last status reported for this subscription (also when later coalesced away in the queue). */
  readonly lastStatus: StatusMessage | undefined;
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

/** Builds a message with every field present (one object shape for all messages). */
export function createStatusMessage(
  subscription: QsaSubscriptionHandle,
  update: StatusUpdate,
  sequence: number,
  timestamp: number,
): StatusMessage {
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
