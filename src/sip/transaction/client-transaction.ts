import type { Timer } from '../../util/timer-scheduler.js';
import { createResponse } from '../codec/index.js';
import type { SipRequest, SipResponse } from '../codec/message.js';
import { SipTransportError } from '../transport/errors.js';
import type { SipEndpoint } from '../transport/types.js';
import { serializeForSend, type TransactionContext } from './transaction-context.js';
import type { ClientTransactionUser } from './types.js';

export type ClientTransactionState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/**
 * RFC 3261 §17.1.2 non-INVITE client transaction (Figure 6):
 * Trying → Proceeding → Completed → Terminated.
 * Created and registered by TransactionLayer; `start()` sends the request.
 */
export class NonInviteClientTransaction {
  readonly side = 'client' as const;
  private stateValue: ClientTransactionState = 'trying';
  /**
   * Timer E after its first firing (Trying/Proceeding, unreliable transports), on the scheduler's
   * heap: its interval changes. The first one is always T1, so it waits in the layer's queue for
   * T1 (`firstTimerETicket`, -1 when not there), like Timers F and K: most transactions are
   * answered before it and never reach the heap at all (issue 11).
   */
  private timerE: Timer | undefined;
  private firstTimerETicket = -1;
  /**
   * The ticket of this transaction in the layer's Timer F queue while Trying or
   * Proceeding, of its key in the layer's Timer K queue while Completed (never
   * both: one small integer), -1 when in neither. Both are fixed delays, hence
   * FIFOs, not heap entries (issue 11).
   */
  private fixedTimerTicket = -1;
  /**
   * Completed over UDP: when Timer K ends it. The layer keeps only the key for
   * Timer K (TransactionContext.completeClient), not this object, so nothing
   * tells it when Timer K fires: `state` reads the clock instead.
   */
  private completedUntil = 0;
  /** Current Timer E interval. */
  private interval = 0;
  private user: ClientTransactionUser | undefined;
  /** The request as serialized once by start(), resent as is by Timer E. */
  private data: Buffer | undefined;
  /** False after stopRetransmitting(): Timer E is not armed again. */
  private retransmitting = true;

  /**
   * The request, until Completed: what Timer F and a transport error answer
   * with a local 408/503. A completed transaction only absorbs retransmitted
   * finals for Timer K (T4, 5 s), so it lets go of the request and of its
   * bytes then: in a burst of subscriptions these were 1.5 KB of headers per
   * transaction kept alive 5 s (issue 11).
   */
  request: SipRequest | undefined;

  constructor(
    readonly key: string,
    readonly branch: string,
    request: SipRequest,
    readonly destination: SipEndpoint,
    user: ClientTransactionUser,
    private readonly context: TransactionContext,
  ) {
    this.user = user;
    this.request = request;
  }

  get state(): ClientTransactionState {
    const state = this.stateValue;
    // RFC 3261 §17.1.2.2: Completed → Terminated when Timer K fires.
    if (state === 'completed' && this.context.scheduler.clock.now() >= this.completedUntil) return 'terminated';
    return state;
  }

  /** RFC 3261 §18.1.1: reliability follows the transport actually used. */
  get reliable(): boolean {
    return this.destination.transport !== 'udp';
  }

  /**
   * Enters Trying: serializes the request (once: retransmissions resend these
   * bytes), arms Timers E and F and hands it to the transport (RFC 3261 §17.1.2.2).
   */
  start(): void {
    const data = serializeForSend(this.request!);
    if (data instanceof SipTransportError) {
      // Reported as the transport would report it: asynchronously, as a local 503.
      queueMicrotask(() => this.onTransportError(data));
      return;
    }
    this.data = data;
    if (!this.reliable) {
      // RFC 3261 §17.1.2.2: Timer E only for unreliable transports, first at T1.
      this.interval = this.context.timers.t1;
      this.firstTimerETicket = this.context.firstTimerE.add(this);
    }
    this.fixedTimerTicket = this.context.timerF.add(this);
    this.send();
  }

  /**
   * A response whose top Via branch and CSeq method matched this transaction (RFC 3261 §17.1.3),
   * while Trying or Proceeding: once Completed, the layer answers for it with its key alone.
   */
  receiveResponse(response: SipResponse): void {
    const state = this.stateValue;
    if (state === 'terminated' || state === 'completed') return;
    if (response.status < 200) {
      this.stateValue = 'proceeding';
      const user = this.user;
      if (user?.onProvisional) this.context.callUser(() => user.onProvisional?.(response));
      return;
    }
    this.stopTimerE();
    this.stopTimerF();
    this.request = undefined;
    this.data = undefined;
    if (this.reliable) {
      // RFC 3261 §17.1.2.2: Timer K is 0 on reliable transports: Completed is left at once.
      this.stateValue = 'terminated';
      this.context.forget(this);
    } else {
      this.stateValue = 'completed';
      // Timer K = T4: linger to absorb retransmitted finals. The layer keeps the key alone for it
      // (no closure, which would keep `response`; not this object, which with its destination
      // and strings lived 5 s, long enough to be promoted and die in the old generation: issue 11).
      this.completedUntil = this.context.scheduler.clock.now() + this.context.timers.t4;
      this.fixedTimerTicket = this.context.completeClient(this);
    }
    this.deliverFinal(response, false);
  }

  /**
   * Stops retransmitting (Timer E) but keeps the transaction, and Timer F, so
   * that a final response that still comes reaches the user, who can act on it
   * (e.g. end a subscription the request created after all). For a request
   * whose sender lost interest; on a reliable transport there is nothing to stop.
   */
  stopRetransmitting(): void {
    if (this.stateValue !== 'trying' && this.stateValue !== 'proceeding') return;
    this.retransmitting = false;
    this.stopTimerE();
  }

  /** Stops silently: no more retransmissions, and the user hears nothing more. */
  abandon(): void {
    this.user = undefined;
    this.terminate();
  }

  private send(): void {
    const data = this.data;
    if (data !== undefined) this.context.transport.send(data, this.destination, (error) => this.onTransportError(error));
  }

  /** @internal The first Timer E fired (the layer's queue for T1). */
  onFirstTimerE(): void {
    this.firstTimerETicket = -1;
    this.onTimerE();
  }

  /** @internal Timer E fired (through `timerE`: one function for every transaction, no closure each). */
  onTimerE(): void {
    const state = this.stateValue;
    if ((state !== 'trying' && state !== 'proceeding') || !this.retransmitting) return;
    const { t2 } = this.context.timers;
    // RFC 3261 §17.1.2.2: in Trying, E doubles up to T2; in Proceeding it is reset to T2.
    this.interval = state === 'trying' ? Math.min(2 * this.interval, t2) : t2;
    this.timerE = this.context.scheduler.afterCall(this.interval, timerE, this);
    this.context.counters.requestRetransmissions++;
    this.send();
  }

  /** @internal Timer F fired (the layer's Timer F queue). */
  onTimerF(): void {
    this.fixedTimerTicket = -1;
    const state = this.stateValue;
    if (state !== 'trying' && state !== 'proceeding') return;
    // RFC 3261 §17.1.2.2: Timer F → Terminated, the TU is told of the timeout (as a 408, §8.1.3.1).
    this.context.counters.timeouts++;
    this.terminate();
    this.deliverFinal(createResponse(this.request!, 408, 'Request Timeout'), true);
  }

  private onTransportError(error: Error): void {
    const state = this.stateValue;
    if (state !== 'trying' && state !== 'proceeding') return;
    // RFC 3261 §17.1.4 / §8.1.3.1: a transport failure is reported to the TU as a 503.
    this.context.counters.transportErrors++;
    this.terminate();
    const response = createResponse(this.request!, 503, transportFailureReason(error));
    localCauses.set(response, error);
    this.deliverFinal(response, true);
  }

  /** @internal Ends the transaction (Timer F, a transport error, abandon()). */
  terminate(): void {
    const state = this.stateValue;
    if (state === 'terminated') return;
    this.stateValue = 'terminated';
    if (state === 'completed') {
      // Abandoned while Completed: the layer holds its key (no effect once Timer K has fired).
      this.context.endCompletedClient(this.key, this.fixedTimerTicket);
      this.fixedTimerTicket = -1;
      return;
    }
    this.stopTimerE();
    this.stopTimerF();
    this.context.forget(this);
  }

  private stopTimerE(): void {
    if (this.firstTimerETicket >= 0) {
      this.context.firstTimerE.cancel(this.firstTimerETicket, this);
      this.firstTimerETicket = -1;
    }
    this.timerE?.cancel();
    this.timerE = undefined;
  }

  /** Out of the Timer F queue (Trying, Proceeding): the queue lets go of the transaction at once. */
  private stopTimerF(): void {
    if (this.fixedTimerTicket < 0) return;
    this.context.timerF.cancel(this.fixedTimerTicket, this);
    this.fixedTimerTicket = -1;
  }

  /** Hands the one final response to the user; clears the reference so it can never happen twice. */
  private deliverFinal(response: SipResponse, locallyGenerated: boolean): void {
    const user = this.user;
    this.user = undefined;
    if (user) this.context.callUser(() => user.onFinal(response, locallyGenerated));
  }
}

/** The transactions' timers: module functions given the transaction (TimerScheduler.afterCall), not a closure per timer. */
const timerE = (transaction: NonInviteClientTransaction): void => transaction.onTimerE();

/** The transport error behind each local 503, for localFailureCause(). */
const localCauses = new WeakMap<SipResponse, Error>();

/**
 * The transport error a locally generated 503 stands for (RFC 3261 §8.1.3.1),
 * so that the user can tell an untrusted certificate (SIP_ERR_TRANSPORT_TLS_VERIFY)
 * from a refused connection; undefined for any other response.
 */
export function localFailureCause(response: SipResponse): Error | undefined {
  return localCauses.get(response);
}

/** A reason phrase naming the transport failure: text only, no CR/LF (RFC 3261 §25.1 Reason-Phrase). */
export function transportFailureReason(error: Error): string {
  const code = (error as { code?: unknown }).code;
  const detail = typeof code === 'string' ? code : error.message;
  return `Service Unavailable (transport error: ${sanitizeReason(detail)})`;
}

/** Keeps a reason phrase on one line and short. */
export function sanitizeReason(text: string): string {
  let out = '';
  for (let i = 0; i < text.length && out.length < 120; i++) {
    const c = text.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? ' ' : text[i];
  }
  return out.trim();
}
