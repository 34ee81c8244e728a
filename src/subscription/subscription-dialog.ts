import { dialogIdentity } from '../store/stored-dialog.js';
import type { DigestCredentials, DigestSession } from '../sip/auth/digest-client.js';
import type { DialogState } from '../sip/dialog/dialog-state.js';
import type { OutgoingRequestHandle } from '../sip/ua/types.js';
import type { QsaSubscription, StatusUpdate } from '../qsa/index.js';
import { reportedUpdateOf } from '../qsa/qsa-broker.js';
import type { Timer } from '../util/timer-scheduler.js';
import type { NotifyReader } from './notify-reader.js';

/**
 * Where one SIP subscription stands. SER had nine states (docs/ser-presence-b2b.md §2.3); the
 * "destroy requested while a request is in flight" states become the
 * `memberCount === 0` condition on `subscribing`/`refreshing`.
 * - waiting: no dialog; a timer starts the next attempt (start delay or error retry)
 * - subscribing: initial SUBSCRIBE sent, no final answer yet
 * - active: confirmed; the refresh timer runs
 * - refreshing: in-dialog SUBSCRIBE sent
 * - unsubscribing: Expires: 0 sent, no final answer yet
 * - terminating: Expires: 0 accepted; waiting (wait_for_term_notify) for the terminated NOTIFY
 * - final: no dialog and no timer: a final answer (rejected, noresource, …) was
 *   reported; it stays so until its subscribers leave (final_retry_time 0)
 * - destroyed: gone
 */
export type SubscriptionDialogState =
  | 'waiting'
  | 'subscribing'
  | 'active'
  | 'refreshing'
  | 'unsubscribing'
  | 'terminating'
  | 'final'
  | 'destroyed';

/**
 * A dialog's timer slot: `timer` runs the next step (refresh, retry, start
 * delay, wait for the terminating NOTIFY; one at a time). Timer N, which
 * guards the first NOTIFY (RFC 6665 §4.1.2.4), is `timerNTicket`.
 */
export type DialogTimerSlot = 'timer';

/**
 * What a restart (issue 10) still owes a dialog, or the resume in flight:
 * - resume: a stored dialog, rebuilt; its in-dialog refresh waits for its turn (RestartPacer)
 * - new: its stored dialog is of no use (expired, or the resume was refused); a new one waits for its turn
 * - resuming: the resuming refresh is in flight: a 481 or a timeout falls back to a new dialog
 */
export type RestartStep = 'resume' | 'new' | 'resuming';

const NOTIFY_RECEIVED = 1;
const CONFIRMED = 2;
const ESTABLISHED = 4;
const STORED = 8;
const HANDED_OVER = 16;
const TARGET_MOVED = 32;
const CONFIRMING_RESUME = 64;
const CONFIRMING_ANSWER = 128;

/** A counter's value in its byte: 0..255, saturating. */
function saturate(value: number): number {
  return value <= 0 ? 0 : value >= 0xff ? 0xff : value | 0;
}

/**
 * What a dialog holds only while something unusual goes on: more than one
 * subscriber, a digest challenge, failures being backed off, a restart's
 * resume, counters of redirects and retries. A held dialog at rest has none
 * of it, so these live in an object of their own that the dialog makes when
 * one is set and lets go when all are back to their defaults: each field of
 * the dialog itself costs 8 bytes on every held dialog (issue 11).
 */
class DialogRarities {
  others: QsaSubscription[] | undefined = undefined;
  auth: DigestSession | undefined = undefined;
  subscriberCredentials: DigestCredentials | undefined = undefined;
  restart: RestartStep | undefined = undefined;
  failures = 0;
  counts = 0;

  /** Every field at its default (USUAL_RARITIES, and no other members): the dialog need not keep this object. */
  usual(): boolean {
    if (this.others !== undefined) return false;
    for (const field of RARITY_FIELDS) if (this[field] !== USUAL_RARITIES[field]) return false;
    return true;
  }
}

/** The rarities written through SubscriptionDialog.setRarity (the members have their own methods). */
type RarityField = 'auth' | 'subscriberCredentials' | 'restart' | 'failures' | 'counts';

/** Each rarity's default: the value a held dialog at rest has. */
const USUAL_RARITIES: { readonly [K in RarityField]: DialogRarities[K] } = {
  auth: undefined,
  subscriberCredentials: undefined,
  restart: undefined,
  failures: 0,
  counts: 0,
};
const RARITY_FIELDS = Object.keys(USUAL_RARITIES) as RarityField[];

/**
 * One SIP subscription and the internal subscriptions it serves: a flat
 * record (no closures, no per-record timers beyond two heap entries) so that
 * a process can hold hundreds of thousands. `members` and `dialog` change
 * only through the SubscriptionRegistry, which indexes them; the timers only
 * through arm() and cancelTimer().
 */
export class SubscriptionDialog {
  state: SubscriptionDialogState = 'waiting';
  /**
   * The QSA subscriptions served, in the order they joined (changed through
   * SubscriptionRegistry.join/leave/dropMembers only): the first in a field,
   * any others in an array made when a second joins. Most dialogs serve one
   * subscriber: no array of one element (a JSArray and its backing store,
   * 56 B and two objects per held dialog, issue 11).
   */
  private first: QsaSubscription | undefined = undefined;
  /**
   * The fields a held dialog at rest leaves at their defaults (DialogRarities): made when one of
   * them is set, let go when all are back. Six fields less on every held dialog, 48 B for 8
   * (issue 11, docs/establishment.md §17).
   */
  private rare: DialogRarities | undefined = undefined;
  /** The current SIP dialog, undefined while waiting (SubscriptionRegistry.setSipDialog). */
  dialog: DialogState | undefined = undefined;
  /** Expires we ask for: default_expiration, raised by a 423's Min-Expires. */
  requestedExpires = 0;
  /** Expires of the SUBSCRIBE in flight. */
  lastRequestedExpires = 0;
  /** Clock time at which the granted subscription lapses. */
  expiresAt: number | undefined = undefined;
  /** Bumped whenever an attempt is abandoned, so that its late answers are ignored. */
  generation = 0;
  /** The SUBSCRIBE in flight, so that dropping the dialog can stop its retransmissions. */
  inflight: OutgoingRequestHandle | undefined = undefined;
  /** Clock time of the last SUBSCRIBE sent (the 2 s loop guard). */
  lastSubscribeAt: number | undefined = undefined;
  /**
   * Addresses the SUBSCRIBEs of the current SIP dialog were sent to (resolved
   * first hops), where its NOTIFYs are expected from (notify-source.ts);
   * undefined until the first is sent.
   */
  hops: readonly string[] | undefined = undefined;
  /**
   * What the members were last told (lastStatus): the update kept here, or,
   * for the usual status (an active NOTIFY's whole document) once the first
   * member's broker record holds it, that member, whose record is read back
   * (issue 11: a dialog with one subscriber kept the same status twice, the
   * broker's and a 64-byte kept update here). The member stays the source
   * after it leaves (its ended record keeps its last status) until the next
   * status; the engine keeps a copy of its own when it is revoked
   * (SUBSCRIPTION_REVOKED).
   */
  kept: StatusUpdate | QsaSubscription | undefined = undefined;

  /** What the members were last told: a subscriber that joins learns it at once. */
  get lastStatus(): StatusUpdate | undefined {
    const kept = this.kept;
    return kept === undefined || 'state' in kept ? kept : reportedUpdateOf(kept);
  }
  /** The event package's side: Accept, resource list or not, the readers of the current SIP dialog's bodies. */
  reader: NotifyReader | undefined = undefined;
  /**
   * The key of its snapshot in the store (issue 10): the identity, or the
   * stored key it resumed; undefined when it is not persisted (no store, or
   * it is ending).
   */
  storeKey: string | undefined = undefined;
  private timer: Timer | undefined = undefined;
  /**
   * Timer N (RFC 6665 §4.1.2.4) while it runs: the ticket of this dialog in
   * the engine's Timer N queue (a fixed 64·T1, so a FIFO rather than an entry
   * and a closure on the scheduler's heap per establishment, issue 11); -1
   * when not running. The queue's expiry counts only if the ticket is still
   * this one: setting -1 cancels it.
   */
  timerNTicket = -1;
  /**
   * The eight yes/no facts below, one bit each: a boolean field costs 8 bytes
   * per held dialog (Node is built without pointer compression), eight of them
   * 64 where this number costs 8 (issue 11).
   */
  private flags = 0;

  /** Consecutive failures since the last success (the backoff exponent). */
  get failures(): number {
    return this.rare?.failures ?? 0;
  }
  set failures(value: number) {
    this.setRarity('failures', value);
  }
  /** The digest challenge being answered in the current SIP dialog (RFC 3261 §22.2), with its nonce count. */
  get auth(): DigestSession | undefined {
    return this.rare?.auth;
  }
  set auth(value: DigestSession | undefined) {
    this.setRarity('auth', value);
  }
  /** The subscriber's credentials for that challenge. */
  get subscriberCredentials(): DigestCredentials | undefined {
    return this.rare?.subscriberCredentials;
  }
  set subscriberCredentials(value: DigestCredentials | undefined) {
    this.setRarity('subscriberCredentials', value);
  }
  /** What a restart still owes it (RestartStep); undefined once it is an ordinary dialog. */
  get restart(): RestartStep | undefined {
    return this.rare?.restart;
  }
  set restart(value: RestartStep | undefined) {
    this.setRarity('restart', value);
  }

  /**
   * Four small counters, a byte each (they stay far below 255: a few retries,
   * max_redirects at most 100; a byte saturates rather than wraps): one number
   * instead of four, kept with the rarities (all four are 0 on a held dialog).
   */
  private get counts(): number {
    return this.rare?.counts ?? 0;
  }
  private set counts(value: number) {
    this.setRarity('counts', value);
  }

  /** Writes one rarity: a value off its default makes the object; the last one back to its default lets it go. */
  private setRarity<K extends RarityField>(field: K, value: DialogRarities[K]): void {
    if (value !== USUAL_RARITIES[field]) {
      this.rarities()[field] = value;
      return;
    }
    if (this.rare === undefined) return;
    this.rare[field] = value;
    this.letGoIfUsual();
  }

  private rarities(): DialogRarities {
    let rare = this.rare;
    if (rare === undefined) {
      rare = new DialogRarities();
      this.rare = rare;
    }
    return rare;
  }

  private letGoIfUsual(): void {
    if (this.rare?.usual() === true) this.rare = undefined;
  }

  /** Consecutive answers to stale=true challenges (at most two in a row). */
  get staleAnswers(): number {
    return (this.counts >>> 0) & 0xff;
  }
  set staleAnswers(value: number) {
    this.counts = (this.counts & ~(0xff << 0)) | (saturate(value) << 0);
  }
  /** 3xx followed in this attempt (max_redirects). */
  get redirects(): number {
    return (this.counts >>> 8) & 0xff;
  }
  set redirects(value: number) {
    this.counts = (this.counts & ~(0xff << 8)) | (saturate(value) << 8);
  }
  /** 423s answered with a longer Expires since the last refresh. */
  get intervalRetries(): number {
    return (this.counts >>> 16) & 0xff;
  }
  set intervalRetries(value: number) {
    this.counts = (this.counts & ~(0xff << 16)) | (saturate(value) << 16);
  }
  /** Digest attempts on non-stale challenges (one per challenge). */
  get authAttempts(): number {
    return (this.counts >>> 24) & 0xff;
  }
  set authAttempts(value: number) {
    this.counts = (this.counts & ~(0xff << 24)) | (saturate(value) << 24);
  }
  /** A NOTIFY came in the current SIP dialog (Timer N is then moot). */
  get notifyReceived(): boolean {
    return (this.flags & NOTIFY_RECEIVED) !== 0;
  }
  set notifyReceived(value: boolean) {
    this.flags = value ? this.flags | NOTIFY_RECEIVED : this.flags & ~NOTIFY_RECEIVED;
  }
  /** A 2xx came for the current SIP dialog. */
  get confirmed(): boolean {
    return (this.flags & CONFIRMED) !== 0;
  }
  set confirmed(value: boolean) {
    this.flags = value ? this.flags | CONFIRMED : this.flags & ~CONFIRMED;
  }
  /** The current SIP dialog succeeded: a 2xx and a NOTIFY that did not end it. */
  get established(): boolean {
    return (this.flags & ESTABLISHED) !== 0;
  }
  set established(value: boolean) {
    this.flags = value ? this.flags | ESTABLISHED : this.flags & ~ESTABLISHED;
  }
  /** A snapshot of the current SIP dialog is in the store, or on its way: a drop must delete it. */
  get stored(): boolean {
    return (this.flags & STORED) !== 0;
  }
  set stored(value: boolean) {
    this.flags = value ? this.flags | STORED : this.flags & ~STORED;
  }
  /**
   * Handed over to another node (cluster, docs/cluster.md): forgotten here
   * without a word on the wire; a late answer to its last SUBSCRIBE is ignored
   * (no unSUBSCRIBE: the dialog is the new owner's now).
   */
  get handedOver(): boolean {
    return (this.flags & HANDED_OVER) !== 0;
  }
  set handedOver(value: boolean) {
    this.flags = value ? this.flags | HANDED_OVER : this.flags & ~HANDED_OVER;
  }
  /** Resumed with another Contact than the stored one: the resume moves the target (one confirming refresh follows). */
  get targetMoved(): boolean {
    return (this.flags & TARGET_MOVED) !== 0;
  }
  set targetMoved(value: boolean) {
    this.flags = value ? this.flags | TARGET_MOVED : this.flags & ~TARGET_MOVED;
  }
  /** The refresh that confirms a moved resume is due or in flight: a 481 to it counts as lostAfterResume. */
  get confirmingResume(): boolean {
    return (this.flags & CONFIRMING_RESUME) !== 0;
  }
  set confirmingResume(value: boolean) {
    this.flags = value ? this.flags | CONFIRMING_RESUME : this.flags & ~CONFIRMING_RESUME;
  }

  /**
   * A NOTIFY of the current SIP dialog came again after we answered it: a refresh
   * 64·T1 + 1 s later confirms the server still has the subscription (PresenceEngine.answerLost).
   */
  get confirmingAnswer(): boolean {
    return (this.flags & CONFIRMING_ANSWER) !== 0;
  }
  set confirmingAnswer(value: boolean) {
    this.flags = value ? this.flags | CONFIRMING_ANSWER : this.flags & ~CONFIRMING_ANSWER;
  }

  /** The QSA subscriptions served, in the order they joined: a new array (for inspection; the engine's paths use memberCount, firstMember, memberAt). */
  get members(): QsaSubscription[] {
    const first = this.first;
    if (first === undefined) return [];
    const others = this.rare?.others;
    return others === undefined ? [first] : [first, ...others];
  }

  /** How many QSA subscriptions it serves. */
  get memberCount(): number {
    return this.first === undefined ? 0 : 1 + (this.rare?.others?.length ?? 0);
  }

  /** The first QSA subscription it serves (the one whose broker keeps its bodies), if any. */
  get firstMember(): QsaSubscription | undefined {
    return this.first;
  }

  /** Whether QSA subscription `id` is among its members. */
  hasMember(id: string): boolean {
    if (this.first?.id === id) return true;
    const others = this.rare?.others;
    if (others === undefined) return false;
    for (const member of others) if (member.id === id) return true;
    return false;
  }

  /** The member at `index` (0 ≤ index < memberCount). */
  memberAt(index: number): QsaSubscription | undefined {
    return index === 0 ? this.first : this.rare?.others?.[index - 1];
  }

  /** @internal SubscriptionRegistry.join: `sub` served from now on, after the others. */
  addMember(sub: QsaSubscription): void {
    if (this.first === undefined) this.first = sub;
    else {
      const rare = this.rarities();
      if (rare.others === undefined) rare.others = [sub];
      else rare.others.push(sub);
    }
  }

  /** @internal SubscriptionRegistry.leave: `sub` no longer served; false if it was not. */
  removeMember(sub: QsaSubscription): boolean {
    const rare = this.rare;
    const others = rare?.others;
    if (this.first === sub) {
      this.first = others?.shift();
    } else {
      const index = others?.indexOf(sub) ?? -1;
      if (index < 0) return false;
      others!.splice(index, 1);
    }
    if (others !== undefined && others.length === 0) {
      rare!.others = undefined;
      this.letGoIfUsual();
    }
    return true;
  }

  /** @internal SubscriptionRegistry.dropMembers: none served any more. */
  clearMembers(): void {
    this.first = undefined;
    if (this.rare !== undefined) {
      this.rare.others = undefined;
      this.letGoIfUsual();
    }
  }

  /** `d<n>` made when asked (inspection, diagnostics): a number per held dialog, not a string (issue 11). */
  get id(): string {
    const key = this.key;
    return typeof key === 'number' ? `d${key}` : key;
  }

  /**
   * Package, record and subscriber joined by newlines (the key of a stored
   * dialog, dialogIdentity): made when asked, not kept, since the three are
   * fields already and the registry finds a shared dialog by its record
   * (issue 11: a string of ≈ 80 B per held dialog).
   */
  get identity(): string {
    return dialogIdentity(this.pkg, this.record, this.subscriber);
  }

  constructor(
    /** The id, or its number (id `d<n>`). */
    private readonly key: string | number,
    readonly record: string,
    readonly subscriber: string,
    readonly pkg: string,
  ) {}

  /** Arms `slot` with `timer`, cancelling what the slot held: one timer per slot. */
  arm(slot: DialogTimerSlot, timer: Timer): void {
    this.cancelTimer(slot);
    this[slot] = timer;
  }

  /** Cancels the timer in `slot`, if any: the one place a dialog timer is cancelled. */
  cancelTimer(slot: DialogTimerSlot): void {
    const timer = this[slot];
    if (timer === undefined) return;
    this[slot] = undefined;
    timer.cancel();
  }

  /** When the timer in `slot` fires (clock ms); +Infinity when none is pending. */
  timerDueAt(slot: DialogTimerSlot): number {
    const timer = this[slot];
    return timer?.pending === true ? timer.at : Number.POSITIVE_INFINITY;
  }

  /** Cancels both timers. */
  clearTimers(): void {
    this.cancelTimer('timer');
    this.timerNTicket = -1;
  }
}
