import type { Timer } from '../../util/timer-scheduler.js';
import type { SipRequest, SipResponse } from '../codec/message.js';
import { serializeBodylessResponse } from '../codec/bodyless-response.js';
import { SipTransportError } from '../transport/errors.js';
import type { ReceivedFrom, SipEndpoint } from '../transport/types.js';
import { serializeForSend, sixtyFourT1, type TransactionContext } from './transaction-context.js';

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
   * retransmitted request gets again. A final over UDP (kept for Timer J,
   * 32 s) is at `responseStart` in a chunk shared with other transactions'
   * finals (KeptResponses); otherwise these are its bytes (`responseStart` -1).
   * Either way it holds no string or buffer of the received packet.
   */
  private lastResponse: Buffer | undefined;
  private responseStart = -1;
  private responseLength = 0;
  /** Before the final, when the user did not answer at once: a guard of 64·T1 (see `start`). */
  private timer: Timer | undefined;

  constructor(
    readonly key: string,
    /** The request, until the final response: a completed transaction keeps only what it must resend. */
    public request: SipRequest | undefined,
    readonly source: ReceivedFrom,
    /** Where responses go (responseDestination()); undefined: the source's address and port (RFC 3581 §4 rport, the usual case). */
    private readonly destination: SipEndpoint | undefined,
    private readonly context: TransactionContext,
  ) {}

  /** Where responses go (RFC 3261 §18.2.2, RFC 3581 §4): see responseDestination(). */
  get responseDestination(): SipEndpoint {
    const source = this.source;
    return this.destination ?? { transport: source.transport, host: source.remoteAddress, port: source.remotePort };
  }

  get state(): ServerTransactionState {
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
  respondBodyless(status: number, reason: string | undefined, toTag: string | undefined, headers: ReadonlyArray<readonly [string, string]>): void {
    const request = this.request;
    if (this.finalSent || request === undefined) {
      this.context.counters.lateResponsesDiscarded++;
      return;
    }
    let data: Buffer | SipTransportError;
    try {
      // Into Node's Buffer pool: a final kept for Timer J is copied into the shared chunk of
      // kept finals below (KeptResponses), so memory of its own would be one malloc for nothing
      // (the same bytes per NOTIFY with either: notify-path.js --alloc).
      data = serializeBodylessResponse(request, status, reason, toTag, headers);
    } catch (error) {
      data = new SipTransportError('SIP_ERR_TRANSPORT_SERIALIZE', 'Cannot serialize message', { cause: error });
    }
    this.respondWith(status, data);
  }

  private respondWith(status: number, data: Buffer | SipTransportError): void {
    if (data instanceof SipTransportError) {
      this.onTransportError();
      return;
    }
    // A final over UDP is kept for Timer J (32 s). Serialized into the shared 8 KB
    // Buffer pool, it would keep its whole slab alive, and with it the other messages
    // sliced from it long since sent: 1.7 KB of ArrayBuffer per NOTIFY answered, where
    // its own copy is 0.4 KB (issue 11; what the SUBSCRIBE burst left in RSS). It is
    // copied into a chunk shared with other finals, not a Buffer of its own: no
    // JavaScript object per response lives for Timer J (what scavenges copied, issue 11).
    if (status >= 200 && !this.reliable) {
      const kept = this.context.keptResponses.keep(data);
      this.lastResponse = kept;
      this.responseStart = this.context.keptResponses.offset();
      this.responseLength = data.byteLength;
    } else {
      this.lastResponse = data;
      this.responseStart = -1;
    }
    if (status < 200) {
      this.stateValue = 'proceeding';
    } else {
      this.stateValue = 'completed';
      // On UDP the transaction lives on for Timer J (32 s) only to resend these
      // bytes: drop the request, so that a busy server does not hold 32 s of parsed packets.
      this.request = undefined;
      this.timer?.cancel();
      this.timer = undefined;
      // RFC 3261 §17.2.2: Timer J = 64·T1 on unreliable transports (one FIFO for all of
      // them in the layer: no timer of its own), 0 on reliable ones.
      if (!this.reliable) this.context.awaitTimerJ(this);
    }
    // The same bytes now and on every retransmission.
    this.send(data);
    if (this.stateValue === 'completed' && this.reliable) this.terminate();
  }

  /** The same request again (matched per RFC 3261 §17.2.3). */
  receiveRetransmission(): void {
    this.context.counters.retransmittedRequestsAbsorbed++;
    const response = this.lastResponse;
    if (response === undefined || this.stateValue === 'terminated') return;
    // RFC 3261 §17.2.2: in Proceeding and Completed, resend the last response.
    this.context.counters.responseRetransmissions++;
    const start = this.responseStart;
    if (start < 0) {
      this.send(response);
      return;
    }
    // The first retransmission: from now on a view of the kept bytes (the same one each time).
    const view = response.subarray(start, start + this.responseLength);
    this.lastResponse = view;
    this.responseStart = -1;
    this.send(view);
  }

  /** Ends the transaction now, without a word (layer shutdown). */
  abandon(): void {
    this.terminate();
  }

  /** @internal Timer J fired (the layer's FIFO of completed transactions). */
  timerJ(): void {
    this.terminate();
  }

  private send(data: Buffer): void {
    this.context.transport.send(data, this.responseDestination, () => this.onTransportError(), this.source);
  }

  private onTransportError(): void {
    if (this.stateValue === 'terminated') return;
    // RFC 3261 §17.2.4: a transport failure ends the server transaction.
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
