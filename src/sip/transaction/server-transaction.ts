import type { Timer } from '../../util/timer-scheduler.js';
import type { SipRequest, SipResponse } from '../codec/message.js';
import { serializeBodylessResponse } from '../codec/bodyless-response.js';
import { SipTransportError } from '../transport/errors.js';
import type { ReceivedFrom, SipEndpoint } from '../transport/types.js';
import { type BodylessFinal, serializeForSend, sixtyFourT1, type TransactionContext } from './transaction-context.js';

export type ServerTransactionState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/**
 * RFC 3261 §17.2.2 non-INVITE server transaction (Figure 8):
 * Trying → Proceeding → Completed → Terminated.
 * A retransmitted request never reaches the transaction user again: in Trying
 * it is dropped, in Proceeding/Completed the last response is sent again.
 */
export class NonInviteServerTransaction {
  readonly side = 'server' as const;
  private stateValue: ServerTransactionState = 'trying';
  /**
   * The last response as serialized once when it was given: what a
   * retransmitted request gets again. A final over UDP is not kept here but
   * in the layer's table of completed transactions (see `keptTicket`). It
   * holds no string or buffer of the received packet.
   */
  private lastResponse: Buffer | undefined;
  /**
   * Its record in the layer's table of completed UDP transactions, which
   * answers retransmissions for Timer J in its place (RFC 3261 §17.2.2), or -1.
   */
  private keptTicket = -1;
  /** Before the final, when the user did not answer at once: a guard of 64·T1 (see `start`). */
  private timer: Timer | undefined;

  constructor(
    readonly key: string,
    /** The request, until the final response: a completed transaction keeps only what it must resend. */
    public request: SipRequest | undefined,
    readonly source: ReceivedFrom,
    /**
     * Where responses go when it is not the source's own address and port (see
     * responseDestination; kept with a completed transaction's record); undefined:
     * the source's address and port (RFC 3581 §4 rport, the usual case).
     */
    readonly destinationUnlessSource: SipEndpoint | undefined,
    private readonly context: TransactionContext,
  ) {}

  /** Where responses go (RFC 3261 §18.2.2, RFC 3581 §4): see responseDestination(). */
  get responseDestination(): SipEndpoint {
    const source = this.source;
    return this.destinationUnlessSource ?? { transport: source.transport, host: source.remoteAddress, port: source.remotePort };
  }

  get state(): ServerTransactionState {
    // Completed over UDP: terminated once the layer's record of it is gone (Timer J, or a transport failure).
    if (this.keptTicket >= 0 && this.stateValue === 'completed' && !this.context.completedIsKept(this.keptTicket)) return 'terminated';
    return this.stateValue;
  }

  /** True once a final response has been sent (or the transaction ended without one). */
  get finalSent(): boolean {
    return this.stateValue === 'completed' || this.stateValue === 'terminated';
  }

  get reliable(): boolean {
    return this.source.transport !== 'udp';
  }

  /**
   * Arms the guard for a user that has not given a final response yet (the
   * layer calls this after handing the request up, and only then: a request
   * answered at once, as a NOTIFY is, never needs it).
   */
  start(): void {
    if (this.finalSent || this.timer !== undefined) return;
    // Not in RFC 3261: a user that never answers would keep this transaction for
    // ever. After 64·T1 the client has given up anyway (its Timer F, RFC 4320 §4.1),
    // so the transaction is dropped then.
    this.timer = this.context.scheduler.after(sixtyFourT1(this.context.timers), () => this.expire());
  }

  /** The transaction user answers (RFC 3261 §17.2.2). A second final, or any response after it, is discarded. */
  respond(response: SipResponse): void {
    if (this.finalSent) {
      this.context.counters.lateResponsesDiscarded++;
      return;
    }
    this.respondWith(response.status, serializeForSend(response));
  }

  /**
   * `respond(createResponse(request, status, reason, { toTag, headers }))` for a
   * response without a body, serialized straight from the request (the same
   * octets, no response object): the 200 to every NOTIFY.
   */
  respondBodyless(
    status: number,
    reason: string | undefined,
    toTag: string | undefined,
    headers: ReadonlyArray<readonly [string, string]>,
    stateless = false,
  ): void {
    const request = this.request;
    if (this.finalSent || request === undefined) {
      this.context.counters.lateResponsesDiscarded++;
      return;
    }
    let data: Buffer | SipTransportError;
    try {
      // Into Node's Buffer pool: a final kept for Timer J is copied into the shared chunk of
      // kept finals (CompletedServerTransactions), so memory of its own would be one malloc for nothing
      // (the same bytes per NOTIFY with either: notify-path.js --alloc).
      data = serializeBodylessResponse(request, status, reason, toTag, headers);
    } catch (error) {
      data = new SipTransportError('SIP_ERR_TRANSPORT_SERIALIZE', 'Cannot serialize message', { cause: error });
    }
    // Without a To tag of ours, a retransmission of the request is enough to write it again: Timer J
    // then keeps how, not the octets (issue 11; CompletedServerTransactions.keep).
    this.respondWith(status, data, stateless && status >= 200, toTag === undefined ? { status, reason, headers } : undefined);
  }

  /**
   * `stateless` (a final only): RFC 3261 §8.2.7 stateless UAS behaviour. The
   * response goes out and the transaction ends at once, with no record kept
   * for Timer J; a retransmission of the request is then a new request, and
   * is answered the same way again. For refusals that keep no state of their
   * own (a NOTIFY from an unexpected source, or of no dialog): kept for 64·T1
   * each, a flood of them would hold ~0.5 KB per request for 32 s.
   */
  private respondWith(status: number, data: Buffer | SipTransportError, stateless = false, bodyless?: BodylessFinal): void {
    if (data instanceof SipTransportError) {
      this.onTransportError();
      return;
    }
    this.lastResponse = data;
    if (status < 200) {
      this.stateValue = 'proceeding';
    } else {
      this.stateValue = 'completed';
      // A completed transaction only resends these bytes: drop the request.
      this.request = undefined;
      this.timer?.cancel();
      this.timer = undefined;
      // RFC 3261 §17.2.2: Timer J = 64·T1 on unreliable transports, 0 on reliable ones. Over UDP
      // the layer keeps a compact record in this object's place (key, bytes, source; no object per
      // transaction for 32 s: issue 11) and forgets the object; the bytes are copied there.
      if (!this.reliable && !stateless) {
        this.lastResponse = undefined;
        this.keptTicket = this.context.keepCompleted(this, data, bodyless);
      }
    }
    // The same bytes now and on every retransmission.
    this.send(data);
    if (this.stateValue === 'completed' && (this.reliable || stateless)) this.terminate();
  }

  /** The same request again (matched per RFC 3261 §17.2.3), before a final over UDP. */
  receiveRetransmission(): void {
    this.context.counters.retransmittedRequestsAbsorbed++;
    const response = this.lastResponse;
    if (response === undefined || this.stateValue === 'terminated') return;
    // RFC 3261 §17.2.2: in Proceeding and Completed, resend the last response.
    this.context.counters.responseRetransmissions++;
    this.send(response);
  }

  /** Ends the transaction now, without a word (layer shutdown). */
  abandon(): void {
    this.terminate();
  }

  private send(data: Buffer): void {
    this.context.transport.send(data, this.responseDestination, () => this.onTransportError(), this.source);
  }

  private onTransportError(): void {
    if (this.stateValue === 'terminated') return;
    // RFC 3261 §17.2.4: a transport failure ends the server transaction (and its record for Timer J).
    if (this.keptTicket >= 0) {
      if (!this.context.completedIsKept(this.keptTicket)) return;
      this.context.dropCompleted(this.keptTicket);
    }
    this.context.counters.transportErrors++;
    this.terminate();
  }

  private expire(): void {
    this.timer = undefined;
    if (this.finalSent) return;
    this.context.counters.serverTransactionsExpired++;
    this.terminate();
  }

  private terminate(): void {
    if (this.stateValue === 'terminated') return;
    this.stateValue = 'terminated';
    this.timer?.cancel();
    this.timer = undefined;
    this.context.forget(this);
  }
}
