import type { DigestCredentials, DigestSession } from '../sip/auth/digest-client.js';
import type { DialogState } from '../sip/dialog/dialog-state.js';
import type { OutgoingRequestHandle } from '../sip/ua/types.js';
import type { QsaSubscription, StatusUpdate } from '../qsa/index.js';
import type { Timer } from '../util/timer-scheduler.js';

/**
 * Where one SIP subscription stands. SER had nine states (docs/ser-presence-b2b.md §2.3); the
 * "destroy requested while a request is in flight" states become the
 * `members.length === 0` condition on `subscribing`/`refreshing`.
 * - waiting: no dialog; a timer starts the next attempt (start delay or error retry)
 * - subscribing: initial SUBSCRIBE sent, no final answer yet
 * - active: confirmed; the refresh timer runs
 * - refreshing: in-dialog SUBSCRIBE sent
 * - unsubscribing: Expires: 0 sent, no final answer yet
 * - terminating: Expires: 0 accepted; waiting (wait_for_term_notify) for the terminated NOTIFY
 * - destroyed: gone
 */
export type SubscriptionDialogState = 'waiting' | 'subscribing' | 'active' | 'refreshing' | 'unsubscribing' | 'terminating' | 'destroyed';

/**
 * One SIP subscription and the internal subscriptions it serves: a flat
 * record (no closures, no per-record timers beyond two heap entries) so that
 * a process can hold hundreds of thousands.
 */
export class SubscriptionDialog {
  state: SubscriptionDialogState = 'waiting';
  readonly members: QsaSubscription[] = [];
  dialog: DialogState | undefined = undefined;
  /** Expires we ask for: default_expiration, raised by a 423's Min-Expires. */
  requestedExpires = 0;
  /** Expires of the SUBSCRIBE in flight. */
  lastRequestedExpires = 0;
  /** Clock time at which the granted subscription lapses. */
  expiresAt: number | undefined = undefined;
  /** Refresh, retry, start-delay or wait-for-terminate timer (one at a time). */
  timer: Timer | undefined = undefined;
  /** Timer N (RFC 6665 §4.1.2.4). */
  timerN: Timer | undefined = undefined;
  inflight: OutgoingRequestHandle | undefined = undefined;
  /** Bumped whenever an attempt is abandoned, so that its late answers are ignored. */
  generation = 0;
  notifyReceived = false;
  redirects = 0;
  redirectTarget = '';
  intervalRetries = 0;
  authAttempts = 0;
  auth: DigestSession | undefined = undefined;
  subscriberCredentials: DigestCredentials | undefined = undefined;
  lastSubscribeAt = Number.NEGATIVE_INFINITY;
  lastStatus: StatusUpdate | undefined = undefined;

  constructor(
    readonly id: string,
    readonly identity: string,
    readonly record: string,
    readonly subscriber: string,
    readonly pkg: string,
  ) {}
}
