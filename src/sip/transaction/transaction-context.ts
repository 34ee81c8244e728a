import type { TimerScheduler } from '../../util/timer-scheduler.js';
import { serializeSipMessage } from '../codec/serializer.js';
import type { SipMessage } from '../codec/message.js';
import { SipTransportError } from '../transport/errors.js';
import type { SipTransport } from '../transport/types.js';
import type { NonInviteClientTransaction } from './client-transaction.js';
import type { FixedDelayExpiry } from './fixed-delay-expiry.js';
import type { SipEndpoint, ReceivedFrom } from '../transport/types.js';
import type { TransactionStats } from './transaction-stats.js';
import type { TransactionTimerSettings } from './types.js';

/** What a transaction needs from the layer that owns it; one shared object, so each transaction stays small. */
export interface TransactionContext {
  readonly transport: SipTransport;
  readonly scheduler: TimerScheduler;
  readonly timers: TransactionTimerSettings;
  readonly counters: TransactionStats;
  /** Runs a transaction-user callback: an exception is counted and reported, never propagated. */
  callUser(callback: () => void): void;
  /** The transaction reached Terminated: forget it. */
  forget(transaction: { readonly key: string; readonly side: 'client' | 'server' }): void;
  /**
   * A server transaction completed over UDP with the final `response`: the layer keeps a
   * compact record of it for Timer J (64·T1, RFC 3261 §17.2.2) that answers retransmissions
   * in its place, and forgets the transaction object. Returns the record's ticket.
   */
  keepCompleted(
    transaction: { readonly key: string; readonly source: ReceivedFrom; readonly destinationUnlessSource: SipEndpoint | undefined },
    response: Uint8Array,
    bodyless?: BodylessFinal,
  ): number;
  /** True while the record `ticket` (keepCompleted) is kept: Timer J has not fired, no transport failure. */
  completedIsKept(ticket: number): boolean;
  /** Ends the record `ticket` now (a transport failure, RFC 3261 §17.2.4). */
  dropCompleted(ticket: number): void;
  /**
   * Client transactions' Timer F (64·T1) and Timer K (T4): fixed delays, so
   * one FIFO each rather than an entry each on the scheduler's heap (issue 11).
   */
  readonly timerF: FixedDelayExpiry<NonInviteClientTransaction>;
  /** The first Timer E of client transactions over UDP: always T1, so a FIFO too; later ones change interval and use the heap. */
  readonly firstTimerE: FixedDelayExpiry<NonInviteClientTransaction>;
  /**
   * A client transaction completed over UDP: for Timer K (T4, RFC 3261 §17.1.2.2) the layer keeps
   * its key alone, which absorbs retransmitted finals in its place, and lets go of the object.
   * Returns the key's ticket in the layer's Timer K queue.
   */
  completeClient(transaction: NonInviteClientTransaction): number;
  /** The completed client transaction `key` ends before Timer K (abandoned): the layer forgets its key now. */
  endCompletedClient(key: string, ticket: number): void;
}

/**
 * How a final without a body was written from its request (serializeBodylessResponse), when it
 * added no To tag: it copies the request's Via, From, To, Call-ID and CSeq and adds these
 * headers, so the same octets can be written again from a retransmission of the request (which
 * matches the transaction, RFC 3261 §17.2.3, and carries the same fields) instead of being kept.
 */
export interface BodylessFinal {
  readonly status: number;
  readonly reason: string | undefined;
  readonly headers: ReadonlyArray<readonly [string, string]>;
}

/** RFC 3261 §17.1.1.1: Timer F and Timer J are 64·T1. */
export function sixtyFourT1(timers: TransactionTimerSettings): number {
  return 64 * timers.t1;
}

/**
 * The bytes a transaction sends, and sends again on retransmission (RFC 3261
 * §17.1.2.2, §17.2.2): each message is serialized once. A message that cannot
 * be serialized is a transport failure of the transaction (§17.1.4, §17.2.4).
 */
export function serializeForSend(message: SipMessage): Buffer | SipTransportError {
  try {
    return serializeSipMessage(message);
  } catch (error) {
    return new SipTransportError('SIP_ERR_TRANSPORT_SERIALIZE', 'Cannot serialize message', { cause: error });
  }
}
