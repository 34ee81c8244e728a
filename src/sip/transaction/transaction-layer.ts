import type { Random } from '../../util/random.js';
import type { TimerScheduler } from '../../util/timer-scheduler.js';
import { cseqOf, parseTopVia, topVia, type Via } from '../codec/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../codec/message.js';
import { rememberedTopVia } from '../codec/cache.js';
import { responseDestinationUnlessSource } from '../transport/response-routing.js';
import type { ReceivedFrom, SipEndpoint, SipTransport } from '../transport/types.js';
import { hasMagicCookie, newBranch } from './branch.js';
import { NonInviteClientTransaction } from './client-transaction.js';
import { TransactionError } from './errors.js';
import { CompletedServerTransactions } from './completed-server-transactions.js';
import { FixedDelayExpiry } from './fixed-delay-expiry.js';
import { NonInviteServerTransaction } from './server-transaction.js';
import { sixtyFourT1, type TransactionContext } from './transaction-context.js';
import { cancelledTransactionKey, clientTransactionKey, ownedServerTransactionKey } from './transaction-keys.js';
import { emptyTransactionStats, type TransactionStats } from './transaction-stats.js';
import { type ClientTransactionUser, DEFAULT_TIMER_SETTINGS, type TransactionTimerSettings } from './types.js';

export interface TransactionLayerOptions {
  transport: SipTransport;
  scheduler: TimerScheduler;
  random: Random;
  timers?: Partial<TransactionTimerSettings>;
  /** Told about every exception a transaction user throws from a callback (it is caught and counted). */
  onUserError?: (error: unknown) => void;
}

/**
 * Receives each new request (never a retransmission) with its server transaction;
 * an ACK that matches no transaction comes with `transaction` undefined (ACK has none, RFC 3261 §17).
 */
export type NewRequestListener = (request: SipRequest, source: ReceivedFrom, transaction: NonInviteServerTransaction | undefined) => void;

/**
 * Receives a request that came again after its final response was sent
 * (RFC 3261 §17.2.2, Completed): the final went out but did not reach the
 * sender, whose transaction will time out unless a later copy gets through.
 */
export type AnsweredRetransmissionListener = (request: SipRequest, source: ReceivedFrom) => void;

/** What `clients` holds for a client transaction completed over UDP, until its Timer K: its key alone. */
const COMPLETED_CLIENT = Symbol('completed client transaction');

/**
 * RFC 3261 §17 for non-INVITE requests: creates client transactions, matches
 * responses to them (§17.1.3) and requests to server transactions (§17.2.3),
 * and creates a server transaction for each new request. It installs itself
 * as the transport's message handler. Every timer goes through the shared
 * TimerScheduler.
 */
export class TransactionLayer {
  readonly timers: TransactionTimerSettings;
  /**
   * Client transactions by key; a transaction completed over UDP is COMPLETED_CLIENT until
   * Timer K (the key alone absorbs retransmitted finals: RFC 3261 §17.1.2.2).
   */
  private readonly clients = new Map<string, NonInviteClientTransaction | typeof COMPLETED_CLIENT>();
  private readonly servers = new Map<string, NonInviteServerTransaction>();
  private readonly counters: TransactionStats = emptyTransactionStats();
  private readonly context: TransactionContext;
  private readonly random: Random;
  private listener: NewRequestListener | undefined;
  private answeredRetransmissionListener: AnsweredRetransmissionListener | undefined;
  /**
   * Completed UDP server transactions waiting out Timer J (RFC 3261 §17.2.2), as compact
   * records, not objects: `servers` holds only the transactions still awaiting their final.
   */
  private readonly completed: CompletedServerTransactions;
  /** Client transactions waiting for Timer F (Trying, Proceeding), and the keys of those waiting for Timer K (Completed), oldest first. */
  private readonly timerF: FixedDelayExpiry<NonInviteClientTransaction>;
  private readonly timerK: FixedDelayExpiry<string>;
  /** Client transactions over UDP waiting for their first Timer E (T1). */
  private readonly firstTimerE: FixedDelayExpiry<NonInviteClientTransaction>;
  private readonly onUserError: ((error: unknown) => void) | undefined;
  private closed = false;

  constructor(options: TransactionLayerOptions) {
    this.timers = timerSettings(options.timers);
    this.random = options.random;
    const counters = this.counters;
    const onUserError = options.onUserError;
    this.onUserError = onUserError;
    const completed = new CompletedServerTransactions(options.scheduler, sixtyFourT1(this.timers));
    this.completed = completed;
    const servers = this.servers;
    this.timerF = new FixedDelayExpiry<NonInviteClientTransaction>(options.scheduler, sixtyFourT1(this.timers), (transaction) =>
      transaction.onTimerF(),
    );
    const clients = this.clients;
    const endCompleted = (key: string) => {
      if (clients.get(key) === COMPLETED_CLIENT) clients.delete(key);
    };
    const timerK = new FixedDelayExpiry<string>(options.scheduler, this.timers.t4, endCompleted);
    this.timerK = timerK;
    this.firstTimerE = new FixedDelayExpiry<NonInviteClientTransaction>(options.scheduler, this.timers.t1, (transaction) =>
      transaction.onFirstTimerE(),
    );
    this.context = {
      transport: options.transport,
      scheduler: options.scheduler,
      timers: this.timers,
      counters,
      callUser(callback) {
        try {
          callback();
        } catch (error) {
          counters.userErrors++;
          onUserError?.(error);
        }
      },
      forget: (transaction) => {
        const map: Map<string, unknown> = transaction.side === 'client' ? this.clients : this.servers;
        if (map.get(transaction.key) === transaction) map.delete(transaction.key);
      },
      keepCompleted(transaction, response, bodyless) {
        const ticket = completed.keep(transaction.key, response, transaction.source, transaction.destinationUnlessSource, bodyless);
        servers.delete(transaction.key);
        return ticket;
      },
      completedIsKept: (ticket) => completed.has(ticket),
      dropCompleted: (ticket) => completed.drop(ticket),
      timerF: this.timerF,
      firstTimerE: this.firstTimerE,
      completeClient(transaction) {
        clients.set(transaction.key, COMPLETED_CLIENT);
        return timerK.add(transaction.key);
      },
      endCompletedClient(key, ticket) {
        timerK.cancel(ticket, key);
        endCompleted(key);
      },
    };
    options.transport.onMessage((message, source) => this.receive(message, source));
  }

  /** Installs the transaction user for incoming requests (the UA core). */
  onRequest(listener: NewRequestListener): void {
    this.listener = listener;
  }

  /** Installs the listener for requests that came again after their final response (see AnsweredRetransmissionListener). */
  onAnsweredRetransmission(listener: AnsweredRetransmissionListener): void {
    this.answeredRetransmissionListener = listener;
  }

  /** A fresh `z9hG4bK` branch (RFC 3261 §8.1.1.7). */
  newBranch(): string {
    return newBranch(this.random);
  }

  /**
   * Starts a non-INVITE client transaction for `request`, which must already
   * carry its top Via with a fresh `z9hG4bK` branch; sends it to `destination`.
   * Throws TransactionError on a missing branch, a duplicate, or INVITE/ACK.
   */
  sendRequest(request: SipRequest, destination: SipEndpoint, user: ClientTransactionUser): NonInviteClientTransaction {
    if (this.closed) throw new TransactionError('SIP_ERR_TRANSACTION_CLOSED', 'the transaction layer is closed');
    if (request.method === 'INVITE' || request.method === 'ACK') {
      throw new TransactionError('SIP_ERR_TRANSACTION_METHOD', `${request.method} needs an INVITE transaction, which this layer does not run`);
    }
    let branch: string | undefined;
    try {
      branch = branchOfOutgoing(request);
    } catch (error) {
      throw new TransactionError('SIP_ERR_TRANSACTION_NO_BRANCH', 'the request has no valid top Via', { cause: error });
    }
    if (!hasMagicCookie(branch)) {
      throw new TransactionError('SIP_ERR_TRANSACTION_NO_BRANCH', 'the top Via of the request has no z9hG4bK branch');
    }
    const key = clientTransactionKey(branch, request.method);
    if (this.clients.has(key)) {
      throw new TransactionError('SIP_ERR_TRANSACTION_DUPLICATE', `a ${request.method} client transaction with branch ${branch} exists`);
    }
    const transaction = new NonInviteClientTransaction(key, branch, request, destination, user, this.context);
    this.clients.set(key, transaction);
    this.counters.clientTransactionsCreated++;
    transaction.start();
    return transaction;
  }

  /** The transport's upward handler (public so that tests and other transports can feed it). */
  receive(message: SipMessage, source: ReceivedFrom): void {
    if (this.closed) return;
    if (message.kind === 'response') this.receiveResponse(message);
    else this.receiveRequest(message, source);
  }

  /**
   * The server transaction a CANCEL names (RFC 3261 §9.2), trying each method
   * the CANCEL could be cancelling, or undefined. Only a transaction still
   * waiting for its final is an object to return: one completed over UDP is
   * kept as a compact record for Timer J (see cancelsTransaction()).
   */
  findCancelledTransaction(cancel: SipRequest, methods: Iterable<string>): NonInviteServerTransaction | undefined {
    let found: NonInviteServerTransaction | undefined;
    this.cancelledKey(cancel, methods, (key) => {
      found = this.servers.get(key);
      return found !== undefined;
    });
    return found;
  }

  /**
   * True when the CANCEL names a server transaction this layer has (RFC 3261 §9.2),
   * waiting for its final or completed (Timer J), whatever the method it cancels among `methods`.
   */
  cancelsTransaction(cancel: SipRequest, methods: Iterable<string>): boolean {
    return this.cancelledKey(cancel, methods, (key) => this.servers.has(key) || this.completed.find(key) >= 0);
  }

  /** Calls `found` with the key of each transaction the CANCEL could name until it returns true. */
  private cancelledKey(cancel: SipRequest, methods: Iterable<string>, found: (key: string) => boolean): boolean {
    const via = this.parseTopVia(cancel);
    if (via === undefined) return false;
    for (const method of methods) {
      let key: string;
      try {
        key = cancelledTransactionKey(cancel, via, undefined, method);
      } catch {
        // A CANCEL whose headers cannot key a transaction matches none: it is answered 481.
        return false;
      }
      if (found(key)) return true;
    }
    return false;
  }

  stats(): TransactionStats {
    return {
      ...this.counters,
      activeClientTransactions: this.clients.size,
      activeServerTransactions: this.servers.size + this.completed.size,
    };
  }

  /** Ends every transaction silently and stops matching; the transport is not closed here. */
  close(): void {
    this.closed = true;
    for (const transaction of [...this.clients.values()]) if (transaction !== COMPLETED_CLIENT) transaction.abandon();
    for (const transaction of [...this.servers.values()]) transaction.abandon();
    this.clients.clear();
    this.servers.clear();
    this.completed.clear();
    this.timerF.clear();
    this.timerK.clear();
    this.firstTimerE.clear();
  }

  private receiveResponse(response: SipResponse): void {
    let key: string;
    try {
      const branch = topVia(response).branch;
      if (branch === undefined) {
        this.counters.unmatchedResponses++;
        return;
      }
      key = clientTransactionKey(branch, cseqOf(response).method);
    } catch {
      this.counters.malformedDropped++;
      return;
    }
    const transaction = this.clients.get(key);
    if (transaction === undefined) {
      // RFC 3261 §18.1.2: a response matching no transaction is discarded by a UA.
      this.counters.unmatchedResponses++;
      return;
    }
    if (transaction === COMPLETED_CLIENT) {
      // RFC 3261 §17.1.2.2: in Completed, retransmitted finals are absorbed (and late provisionals ignored).
      if (response.status >= 200) this.counters.retransmittedResponsesAbsorbed++;
      return;
    }
    transaction.receiveResponse(response);
  }

  private receiveRequest(request: SipRequest, source: ReceivedFrom): void {
    const via = this.parseTopVia(request);
    let key: string | undefined;
    if (via !== undefined) {
      try {
        // The key outlives the request by Timer J (32 s): storage of its own, so that it does not
        // hold the received header text through slices of it (one flat string per transaction).
        key = ownedServerTransactionKey(request, via);
      } catch {
        // Handled just below: counted as malformed and dropped.
        key = undefined;
      }
    }
    if (via === undefined || key === undefined) {
      this.counters.malformedDropped++;
      return;
    }
    const existing = this.servers.get(key);
    if (existing !== undefined) {
      if (request.method === 'ACK') {
        this.counters.acksAbsorbed++;
        return;
      }
      const answered = existing.finalSent;
      existing.receiveRetransmission();
      const told = this.answeredRetransmissionListener;
      if (answered && told !== undefined) this.context.callUser(() => told(request, source));
      return;
    }
    const completed = this.completed.find(key);
    if (completed >= 0) {
      if (request.method === 'ACK') {
        this.counters.acksAbsorbed++;
        return;
      }
      this.resendCompleted(completed, request);
      const told = this.answeredRetransmissionListener;
      if (told !== undefined) this.context.callUser(() => told(request, source));
      return;
    }
    const listener = this.listener;
    if (request.method === 'ACK') {
      // RFC 3261 §17: ACK for a 2xx has no transaction; hand it up as it is.
      if (listener) this.context.callUser(() => listener(request, source, undefined));
      return;
    }
    // The usual destination, the source's own address and port (rport, RFC 3581 §4), is not
    // kept as an object of its own for 32 s (nor built): the transaction derives it from the source.
    const transaction = new NonInviteServerTransaction(key, request, source, responseDestinationUnlessSource(via, source), this.context);
    this.counters.serverTransactionsCreated++;
    if (listener) {
      try {
        listener(request, source, transaction);
      } catch (error) {
        this.counters.userErrors++;
        this.onUserError?.(error);
      }
    }
    // Into `servers` only if the user did not answer at once (no other message is received
    // while the listener runs): a NOTIFY is answered there, and its transaction is then a compact
    // record for Timer J over UDP or ended over TCP, so it would only be added and removed again.
    if (transaction.finalSent) return;
    this.servers.set(key, transaction);
    // The 64·T1 guard, only for a request the user did not answer at once.
    transaction.start();
  }

  /**
   * A retransmission of a request whose transaction completed over UDP (RFC 3261 §17.2.2,
   * Completed): its final again, the same bytes, from the same socket to the same destination.
   */
  private resendCompleted(ticket: number, request: SipRequest): void {
    const counters = this.counters;
    counters.retransmittedRequestsAbsorbed++;
    counters.responseRetransmissions++;
    const completed = this.completed;
    const source = completed.source(ticket);
    const destination = completed.destination(ticket) ?? { transport: source.transport, host: source.remoteAddress, port: source.remotePort };
    let response: Buffer | undefined;
    try {
      response = completed.response(ticket, request);
    } catch {
      // A final written again from the retransmission, which could not be (it was from the
      // original, with the same fields): a failure of the transaction, as a failed send is.
      response = undefined;
    }
    if (response === undefined) {
      counters.transportErrors++;
      completed.drop(ticket);
      return;
    }
    this.context.transport.send(
      response,
      destination,
      () => {
        // RFC 3261 §17.2.4: a transport failure ends the server transaction.
        if (!completed.has(ticket)) return;
        counters.transportErrors++;
        completed.drop(ticket);
      },
      source,
    );
  }

  /** The parsed top Via (cached on the request by the codec); its text is looked up only when a key needs it (no branch). */
  private parseTopVia(request: SipRequest): Via | undefined {
    try {
      return topVia(request);
    } catch {
      // The callers treat a request without a usable top Via as malformed (counted, dropped) or as matching nothing.
      return undefined;
    }
  }
}

/** Defaults for what is not given (an explicit `undefined` keeps the default too). */
function timerSettings(given: Partial<TransactionTimerSettings> | undefined): TransactionTimerSettings {
  return {
    t1: given?.t1 ?? DEFAULT_TIMER_SETTINGS.t1,
    t2: given?.t2 ?? DEFAULT_TIMER_SETTINGS.t2,
    t4: given?.t4 ?? DEFAULT_TIMER_SETTINGS.t4,
  };
}

/**
 * The branch of an outgoing request's top Via, read from the header's text:
 * the parsed Via is not memoised on the request (`topVia` would keep it in
 * the request's accessor cache). The client transaction holds the request
 * until its final response (RFC 3261 §17.1.2.2), and a burst of SUBSCRIBEs
 * sent before any is answered holds thousands of them: the in-process bench
 * harness, 5,000 at once. V8 then marks the codec's Via object literal (one
 * allocation site for every Via parsed) as long-lived and allocates every
 * later Via directly in the old generation ("pretenuring", not undone): each
 * received NOTIFY's top Via, dead at once, then held its young parameter Map
 * and strings through the next scavenge, which takes every old-to-young
 * pointer as a root (docs/latency-tail.md, "The unknown 0.9 KB", issue 11).
 */
function branchOfOutgoing(request: SipRequest): string | undefined {
  const raw = request.headers.getByKey('via');
  // topVia's error for a request without Via (it becomes the TransactionError's cause).
  if (raw === undefined) return topVia(request).branch;
  // Our own Via, kept as written by the UA (OutgoingRequest, its own object, not the codec's literal): no parse at all.
  return (rememberedTopVia(request, raw) ?? parseTopVia(raw)).branch;
}
