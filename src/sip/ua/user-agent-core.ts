import type { Random } from '../../util/random.js';
import type { TimerScheduler } from '../../util/timer-scheduler.js';
import type { SipRequest, SipTransportName } from '../codec/message.js';
import type { TargetResolver } from '../resolver/types.js';
import type { NonInviteServerTransaction } from '../transaction/server-transaction.js';
import { TransactionLayer } from '../transaction/transaction-layer.js';
import type { ClientTransactionUser, TransactionTimerSettings } from '../transaction/types.js';
import type { ReceivedFrom, SipTransport } from '../transport/types.js';
import { ServerIncomingRequest } from './incoming-request.js';
import { OutgoingRequest, type OutgoingRequestContext } from './outgoing-request.js';
import { ourContactUri } from './sip-uri-text.js';
import type { AnsweredRetransmissionHandler, IncomingRequestHandler, OutgoingRequestHandle, SendRequestOptions, SipUserAgent } from './types.js';
import type { UserAgentStats } from './user-agent-stats.js';

export const DEFAULT_USER_AGENT = 'presence-b2b/0.1';

export interface SipUserAgentCoreOptions {
  transport: SipTransport;
  resolver: TargetResolver;
  scheduler: TimerScheduler;
  random: Random;
  timers?: Partial<TransactionTimerSettings>;
  /** User-Agent of our requests and Server of our responses; '' leaves them out. Default `presence-b2b/0.1`. */
  userAgentHeader?: string;
  /** Option tags we support (Supported in OPTIONS; a Require naming anything else gets 420). Default none. */
  supportedExtensions?: ReadonlyArray<string>;
  /** Body types we accept (Accept in OPTIONS, RFC 3261 §11.2). Default `application/pidf+xml`. */
  acceptedContentTypes?: ReadonlyArray<string>;
  /**
   * Told about exceptions from handlers and callbacks (already caught and counted): for logging.
   * For a handler, `request` is the request it was handling (answered 500).
   */
  onError?: (error: unknown, where: 'handler' | 'callback', request?: SipRequest) => void;
}


/**
 * The user-agent core (RFC 3261 §8): sends requests through client transactions
 * with RFC 3263 failover, and dispatches received requests to per-method handlers,
 * answering itself what no handler takes (OPTIONS 200, others 405, RFC 3261 §8.2.1, §11.2).
 */
export class SipUserAgentCore implements SipUserAgent {
  readonly transactions: TransactionLayer;
  private readonly transport: SipTransport;
  private readonly resolver: TargetResolver;
  private readonly random: Random;
  private readonly userAgent: string;
  private readonly supported: ReadonlyArray<string>;
  private readonly accepted: ReadonlyArray<string>;
  private readonly onError: ((error: unknown, where: 'handler' | 'callback', request?: SipRequest) => void) | undefined;
  private readonly handlers = new Map<string, IncomingRequestHandler>();
  private readonly answeredRetransmissionHandlers = new Map<string, AnsweredRetransmissionHandler>();
  private readonly counters = {
    requestsSent: 0,
    requestsReceived: 0,
    handlerErrors: 0,
    userCallbackErrors: 0,
    tooManyHops: 0,
    methodNotAllowed: 0,
    badExtension: 0,
    optionsAnswered: 0,
  };
  private readonly outgoingContext: OutgoingRequestContext;
  private closed = false;

  constructor(options: SipUserAgentCoreOptions) {
    this.transport = options.transport;
    this.resolver = options.resolver;
    this.random = options.random;
    this.userAgent = options.userAgentHeader ?? DEFAULT_USER_AGENT;
    this.supported = options.supportedExtensions ?? [];
    this.accepted = options.acceptedContentTypes ?? ['application/pidf+xml'];
    this.onError = options.onError;
    this.transactions = new TransactionLayer({
      transport: options.transport,
      scheduler: options.scheduler,
      random: options.random,
      timers: options.timers,
      onUserError: (error) => this.onError?.(error, 'callback'),
    });
    this.transactions.onRequest((request, source, transaction) => this.receiveRequest(request, source, transaction));
    this.transactions.onAnsweredRetransmission((request) => this.answeredRetransmissionHandlers.get(request.method)?.(request));
    this.outgoingContext = {
      transactions: this.transactions,
      transport: this.transport,
      resolver: this.resolver,
      callUser: (callback) => this.callUser(callback),
    };
  }

  sendRequest(request: SipRequest, user: ClientTransactionUser, options?: SendRequestOptions): OutgoingRequestHandle {
    // The caller's request stays untouched (unless handed over): the attempts send this copy (the first) or copies of it, with our Via.
    const headers = options?.handOver === true ? request.headers : request.headers.clone();
    // RFC 3261 §8.1.1.6: Max-Forwards 70.
    if (!headers.has('max-forwards')) headers.append('Max-Forwards', '70');
    if (this.userAgent && !headers.has('user-agent')) headers.append('User-Agent', this.userAgent);
    const base: SipRequest = { kind: 'request', method: request.method, uri: request.uri, headers, body: request.body };
    const outgoing = new OutgoingRequest(this.outgoingContext, base, user, options);
    this.counters.requestsSent++;
    outgoing.start();
    return outgoing;
  }

  onRequest(method: string, handler: IncomingRequestHandler): void {
    // RFC 3261 §7.1: methods are case-sensitive; handlers are keyed exactly.
    this.handlers.set(method, handler);
  }

  onAnsweredRetransmission(method: string, handler: AnsweredRetransmissionHandler): void {
    this.answeredRetransmissionHandlers.set(method, handler);
  }

  contactUri(user: string, transport: SipTransportName): string {
    return ourContactUri(user, transport, this.transport.sentBy(transport));
  }

  stats(): UserAgentStats {
    return { ...this.transactions.stats(), ...this.counters };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.transactions.close();
    await this.transport.close();
  }

  /** RFC 3261 §8.2: what a UAS does with a new request, before and instead of the handlers. */
  private receiveRequest(request: SipRequest, source: ReceivedFrom, transaction: NonInviteServerTransaction | undefined): void {
    // RFC 3261 §17: an ACK has no transaction and is never answered.
    if (transaction === undefined || request.method === 'ACK') return;
    this.counters.requestsReceived++;
    const incoming = new ServerIncomingRequest(request, source, transaction, this.random, this.userAgent || undefined);
    if (isZeroMaxForwards(request)) {
      this.counters.tooManyHops++;
      incoming.reply(483, 'Too Many Hops');
      return;
    }
    const unsupported = request.method === 'CANCEL' ? NONE_UNSUPPORTED : this.unsupportedRequirements(request);
    if (unsupported.length > 0) {
      // RFC 3261 §8.2.2.3: 420 listing what we lack.
      this.counters.badExtension++;
      incoming.reply(420, 'Bad Extension', [['Unsupported', unsupported.join(', ')]]);
      return;
    }
    const handler = this.handlers.get(request.method);
    if (handler !== undefined) {
      this.runHandler(handler, incoming);
      return;
    }
    if (request.method === 'OPTIONS') {
      // RFC 3261 §11.2: the capabilities of this UA.
      this.counters.optionsAnswered++;
      incoming.reply(200, 'OK', [
        ['Allow', this.allowedMethods()],
        ['Accept', this.accepted.join(', ')],
        ['Supported', this.supported.join(', ')],
      ]);
      return;
    }
    if (request.method === 'CANCEL') {
      // RFC 3261 §9.2: 200 when the CANCEL names a transaction we have (it changes nothing
      // for a non-INVITE), 481 otherwise.
      const methods = [...this.handlers.keys(), 'OPTIONS', 'INVITE'];
      const found = this.transactions.cancelsTransaction(request, methods);
      incoming.reply(found ? 200 : 481, found ? 'OK' : 'Call/Transaction Does Not Exist');
      return;
    }
    // RFC 3261 §8.2.1 / §21.4.6: 405 with the methods we do take.
    this.counters.methodNotAllowed++;
    incoming.reply(405, 'Method Not Allowed', [['Allow', this.allowedMethods()]]);
  }

  private runHandler(handler: IncomingRequestHandler, incoming: ServerIncomingRequest): void {
    try {
      const result: unknown = handler(incoming);
      if (isPromiseLike(result)) result.then(undefined, (error: unknown) => this.handlerFailed(incoming, error));
    } catch (error) {
      this.handlerFailed(incoming, error);
    }
  }

  private handlerFailed(incoming: ServerIncomingRequest, error: unknown): void {
    this.counters.handlerErrors++;
    this.reportError(error, 'handler', incoming.request);
    if (incoming.finalSent) return;
    try {
      incoming.reply(500, 'Server Internal Error');
    } catch (replyError) {
      this.reportError(replyError, 'handler', incoming.request);
    }
  }

  private callUser(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.counters.userCallbackErrors++;
      this.reportError(error, 'callback');
    }
  }

  private reportError(error: unknown, where: 'handler' | 'callback', request?: SipRequest): void {
    try {
      this.onError?.(error, where, request);
    } catch {
      // The reporter itself failed (a broken logger): there is nobody left to tell, and
      // request handling must go on. The error was counted in stats() already.
    }
  }

  private allowedMethods(): string {
    const methods = ['OPTIONS'];
    for (const method of this.handlers.keys()) if (!methods.includes(method)) methods.push(method);
    return methods.join(', ');
  }

  private unsupportedRequirements(request: SipRequest): readonly string[] {
    // Most requests have no Require: no arrays for them (issue 11).
    if (request.headers.getByKey('require') === undefined) return NONE_UNSUPPORTED;
    const required = request.headers.values('require');
    if (required.length === 0) return NONE_UNSUPPORTED;
    const out: string[] = [];
    for (const tag of required) if (!this.supported.includes(tag) && !out.includes(tag)) out.push(tag);
    return out;
  }
}

/** No unsupported option tag: shared, never written to. */
const NONE_UNSUPPORTED: readonly string[] = Object.freeze([]);

/** Max-Forwards: 0 (RFC 3261 §8.1.1.6 / §16.3 step 3), digits only so that a bad value is not taken for 0. */
function isZeroMaxForwards(request: SipRequest): boolean {
  const value = request.headers.get('max-forwards');
  if (value === undefined) return false;
  const text = value.trim();
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== 0x30) return false;
  return true;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

