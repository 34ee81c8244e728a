import type { SipRequest, SipResponse } from '../codec/message.js';
import type { ReceivedFrom, SipEndpoint } from '../transport/types.js';

/** RFC 3261 §17.1.1.1 / §17.1.2.2 timer base values, in milliseconds. */
export interface TransactionTimerSettings {
  /** RTT estimate, default 500 ms. */
  t1: number;
  /** Maximum retransmit interval for non-INVITE requests, default 4000 ms. */
  t2: number;
  /** Maximum time a message stays in the network, default 5000 ms. */
  t4: number;
}

export const DEFAULT_TIMER_SETTINGS: TransactionTimerSettings = { t1: 500, t2: 4000, t4: 5000 };

/** What a client transaction reports to its user (the dialog / subscription layer). */
export interface ClientTransactionUser {
  /** 1xx. */
  onProvisional?(response: SipResponse): void;
  /**
   * The final response: a real one, or one made locally: 408 on Timer F
   * (RFC 3261 §17.1.2.2), 503 on a transport error (RFC 3261 §8.1.3.1).
   * Called exactly once.
   */
  onFinal(response: SipResponse, locallyGenerated: boolean): void;
}

/** A request we received, with the means to answer it through its server transaction. */
export interface IncomingRequest {
  readonly request: SipRequest;
  readonly source: ReceivedFrom;
  /** Sends a response (provisional or final) through the server transaction. */
  respond(response: SipResponse): void;
  /** Builds and sends a response from the request (RFC 3261 §8.2.6); adds a To-tag on final responses when missing. */
  reply(status: number, reason?: string, extraHeaders?: ReadonlyArray<readonly [string, string]>, body?: { contentType: string; body: Uint8Array | string }): void;
  /**
   * A final response without a body, sent statelessly (RFC 3261 §8.2.7): no
   * record of it is kept for Timer J, so a retransmission of the request comes
   * to the user again. For refusals of requests that may come in floods.
   * Optional: an IncomingRequest without it is answered with `reply`.
   */
  replyStatelessly?(status: number, reason?: string, extraHeaders?: ReadonlyArray<readonly [string, string]>): void;
}

export type { SipEndpoint };
