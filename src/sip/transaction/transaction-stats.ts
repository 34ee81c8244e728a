/** Counters of the transaction layer, for metrics and tests. All only grow except the two `active…`. */
export interface TransactionStats {
  clientTransactionsCreated: number;
  serverTransactionsCreated: number;
  /** Requests resent by Timer E (RFC 3261 §17.1.2.2). */
  requestRetransmissions: number;
  /** Responses resent because the request came again (RFC 3261 §17.2.2). */
  responseRetransmissions: number;
  /** Client transactions ended by Timer F (each gave its user one local 408). */
  timeouts: number;
  /** Sends that failed in the transport (each live client transaction gave its user one local 503). */
  transportErrors: number;
  /** Responses that matched no client transaction (RFC 3261 §17.1.3) and were dropped. */
  unmatchedResponses: number;
  /** Retransmitted requests kept from the transaction user (RFC 3261 §17.2.2). */
  retransmittedRequestsAbsorbed: number;
  /** Retransmitted final responses absorbed in Completed (RFC 3261 §17.1.2.2). */
  retransmittedResponsesAbsorbed: number;
  /** ACKs that matched a server transaction (our final to an INVITE) and went no further. */
  acksAbsorbed: number;
  /** Responses the transaction user gave after the final one, or after the transaction ended. */
  lateResponsesDiscarded: number;
  /** Server transactions whose user never sent a final response within 64·T1. */
  serverTransactionsExpired: number;
  /** Messages without a usable top Via or CSeq. */
  malformedDropped: number;
  /** Exceptions thrown by transaction users out of their callbacks (caught). */
  userErrors: number;
  activeClientTransactions: number;
  activeServerTransactions: number;
}

export type TransactionCounter = Exclude<keyof TransactionStats, 'activeClientTransactions' | 'activeServerTransactions'>;

export function emptyTransactionStats(): TransactionStats {
  return {
    clientTransactionsCreated: 0,
    serverTransactionsCreated: 0,
    requestRetransmissions: 0,
    responseRetransmissions: 0,
    timeouts: 0,
    transportErrors: 0,
    unmatchedResponses: 0,
    retransmittedRequestsAbsorbed: 0,
    retransmittedResponsesAbsorbed: 0,
    acksAbsorbed: 0,
    lateResponsesDiscarded: 0,
    serverTransactionsExpired: 0,
    malformedDropped: 0,
    userErrors: 0,
    activeClientTransactions: 0,
    activeServerTransactions: 0,
  };
}
