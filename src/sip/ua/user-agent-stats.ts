import type { TransactionStats } from '../transaction/transaction-stats.js';

/** Counters of the UA core, on top of those of its transaction layer. */
export interface UserAgentStats extends TransactionStats {
  requestsSent: number;
  requestsReceived: number;
  /** Handlers that threw (or whose promise rejected); each got a 500 if nothing final had been sent. */
  handlerErrors: number;
  /** Exceptions thrown by ClientTransactionUser callbacks (caught). */
  userCallbackErrors: number;
  /** Requests answered 483 for Max-Forwards 0. */
  tooManyHops: number;
  /** Requests answered 405 (no handler for the method). */
  methodNotAllowed: number;
  /** Requests answered 420 (Require names an extension we do not support). */
  badExtension: number;
  /** OPTIONS answered by the core itself. */
  optionsAnswered: number;
}
