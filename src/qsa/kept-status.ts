import { bytesOf, type KeptBodyStore, type KeptBytes, KeptBody, unkeep } from './kept-body-store.js';
import {
  createStatusMessage,
  type QsaSubscriptionHandle,
  REREAD_DOCUMENT,
  type RereadableUpdate,
  rereaderOf,
  type StatusMessage,
  type StatusUpdate,
} from './status-message.js';

/** The fields of a status that most statuses do not have (an active NOTIFY has none of them). */
interface RareFields {
  reason: string | undefined;
  retryAfter: number | undefined;
  error: StatusUpdate['error'];
  record: string | undefined;
  list: string | undefined;
  /** The timestamp when it is not a whole number of ms at or after the broker's epoch. */
  timestamp: number | undefined;
}

/** 2^30: `time` holds the distance from the epoch modulo this, `timeHigh` the quotient (each a small integer). */
const TIME_SPLIT = 0x40000000;

/**
 * A subscription's last status once its message has been taken out of the
 * queue and the task that took it has ended (QsaSubscriptionHandle.lastStatus):
 * the message's fields, written over the previous ones at each status, its
 * document read again from the body when asked. Only for messages whose
 * document can be read again (REREAD_DOCUMENT): any other stays kept as the
 * message itself.
 *
 * Why (issue 11): the message object itself (≈200 B with its property
 * array and timestamp box) was new at every NOTIFY and lived until the
 * subscription's next one, seconds later: every scavenge copied it and then
 * promoted it. Written in place, the last status costs no object per NOTIFY;
 * only its body (bytes outside the JavaScript heap, in a Uint8Array) is new.
 */
export class KeptStatus {
  state: StatusUpdate['state'] = 'pending';
  expires: number | undefined = undefined;
  contentType: string | undefined = undefined;
  /** The body: a slot in the broker's store, or (not kept there: no store, empty, too large, or given back) the bytes themselves. */
  body: KeptBytes | undefined = undefined;
  sequence = 0;
  /**
   * The timestamp as its distance from the broker's epoch in whole ms:
   * `timeHigh` · 2^30 + `time`, two small integers held in the fields
   * themselves. One field holding the distance would be a heap number (a
   * 16-byte box per kept status, one more object to mark) as soon as any
   * value outside the small-integer range was ever written to it (issue 11).
   * `timeHigh` is −1 when the timestamp is not a whole number of ms at or
   * after the epoch: it is then `rare.timestamp`.
   */
  time = 0;
  timeHigh = 0;
  rare: RareFields | undefined = undefined;
  /** The message last built from these fields, while anybody holds it (the same object for every reader). */
  rebuilt: WeakRef<StatusMessage> | undefined = undefined;

  /** Takes `message`'s fields; its body into `store` (without one: the message's Uint8Array as it is). */
  write(message: StatusMessage, epoch: number, store: KeptBodyStore | undefined): void {
    this.state = message.state;
    this.expires = message.expires;
    this.contentType = message.contentType;
    const previous = this.body;
    const body = message.body;
    this.body = body === undefined || store === undefined ? body : store.keep(body);
    // After keep: the same body kept again stays where it is.
    if (previous instanceof KeptBody) previous.release();
    this.sequence = message.sequence;
    const distance = message.timestamp - epoch;
    const whole = Number.isSafeInteger(distance) && distance >= 0;
    this.time = whole ? (distance % TIME_SPLIT) | 0 : 0;
    this.timeHigh = whole ? Math.floor(distance / TIME_SPLIT) | 0 : -1;
    const timestamp = whole ? undefined : message.timestamp;
    const record = message.record === message.subscription.record ? undefined : message.record;
    this.rare =
      message.reason === undefined &&
      message.retryAfter === undefined &&
      message.error === undefined &&
      record === undefined &&
      message.list === undefined &&
      timestamp === undefined
        ? undefined
        : { reason: message.reason, retryAfter: message.retryAfter, error: message.error, record, list: message.list, timestamp };
    this.rebuilt = undefined;
  }

  /** The message these fields came from, built again (equal to it: the same fields, the document read again from the body). */
  message(subscription: QsaSubscriptionHandle, epoch: number): StatusMessage {
    const held = this.rebuilt?.deref();
    if (held !== undefined) return held;
    const body = this.body;
    const update: RereadableUpdate = { state: this.state, expires: this.expires, contentType: this.contentType, body: body === undefined ? undefined : bytesOf(body) };
    const rare = this.rare;
    if (rare !== undefined) {
      update.reason = rare.reason;
      update.retryAfter = rare.retryAfter;
      update.error = rare.error;
      update.record = rare.record;
      update.list = rare.list;
    }
    const reread = rereaderOf(subscription.package);
    if (reread !== undefined) update[REREAD_DOCUMENT] = reread;
    const high = this.timeHigh;
    const timestamp = high >= 0 ? epoch + (high * TIME_SPLIT + this.time) : rare!.timestamp!;
    const message = createStatusMessage(subscription, update, this.sequence, timestamp);
    this.rebuilt = new WeakRef(message);
    return message;
  }

  /** The subscription ends: its body leaves the store (a Uint8Array of its own, for a handle still read afterwards). */
  letGo(): void {
    const body = this.body;
    if (body instanceof KeptBody) this.body = unkeep(body);
  }
}
