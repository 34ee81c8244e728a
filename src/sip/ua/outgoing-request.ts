import { createResponse, serializedLength, type Via } from '../codec/index.js';
import { rememberTopVia } from '../codec/cache.js';
import type { SipRequest, SipResponse, SipTransportName } from '../codec/message.js';
import { SipDnsError } from '../resolver/errors.js';
import type { ResolvedTarget, TargetResolver } from '../resolver/types.js';
import { sanitizeReason } from '../transaction/client-transaction.js';
import type { NonInviteClientTransaction } from '../transaction/client-transaction.js';
import type { TransactionLayer } from '../transaction/transaction-layer.js';
import type { ClientTransactionUser } from '../transaction/types.js';
import type { SipEndpoint, SipTransport } from '../transport/types.js';
import { hostForUri, ourContactUri } from './sip-uri-text.js';
import type { OutgoingRequestHandle, SendRequestOptions } from './types.js';
import { requestDestinationUri } from './request-destination.js';

/** What an OutgoingRequest uses from the UA core. */
export interface OutgoingRequestContext {
  readonly transactions: TransactionLayer;
  readonly transport: SipTransport;
  readonly resolver: TargetResolver;
  /** Runs a user callback; exceptions are caught and counted. */
  callUser(callback: () => void): void;
}

interface FinalOutcome {
  response: SipResponse;
  locallyGenerated: boolean;
}

/**
 * One request sent by the UA core: resolution (RFC 3263), then one client
 * transaction per target tried. A local 408 (Timer F), a transport error (local 503)
 * or a 503 from the target moves on to the next target with a new branch and
 * the same CSeq (RFC 3263 §4.3); the user sees one final response.
 */
export class OutgoingRequest implements OutgoingRequestHandle {
  branch: string;
  /**
   * The request as built by the user plus Max-Forwards / User-Agent, ours alone (the UA core
   * copied it, or it was handed over). The first attempt adds its Via to these very headers
   * (`lentVia` says so); a later use of the base gets a copy without that Via (baseRequest()).
   */
  private base: SipRequest;
  /** The top Via the first attempt wrote into the base's own headers, until baseRequest() takes it back out. */
  private lentVia: string | undefined;
  /** True once the base's headers went to an attempt: later attempts copy them. */
  private baseLent = false;
  private targets: ReadonlyArray<ResolvedTarget> = [];
  private nextTarget = 0;
  private current: NonInviteClientTransaction | undefined;
  private lastFailure: FinalOutcome | undefined;
  private user: ClientTransactionUser | undefined;
  /** After stopRetransmitting(): no retransmission, no further target, nothing sent if nothing was. */
  private quiet = false;

  constructor(
    private readonly context: OutgoingRequestContext,
    base: SipRequest,
    user: ClientTransactionUser,
    private readonly options: SendRequestOptions | undefined,
  ) {
    this.base = base;
    this.user = user;
    this.branch = context.transactions.newBranch();
  }

  start(): void {
    const endpoint = this.options?.endpoint;
    if (endpoint !== undefined) {
      this.targets = [{ ...endpoint, transportExplicit: true }];
      this.tryNextTarget();
      return;
    }
    let pending: Promise<ResolvedTarget[]>;
    let destination: string;
    try {
      destination = requestDestinationUri(this.base, this.options);
      pending = this.context.resolver.resolve(destination, supportedTransports(this.context.transport));
    } catch (error) {
      this.resolutionFailed(error);
      return;
    }
    pending.then(
      (targets) => {
        if (this.user === undefined) return;
        if (targets.length === 0) {
          this.resolutionFailed(new SipDnsError(`no target for ${destination}`));
          return;
        }
        this.targets = targets;
        this.tryNextTarget();
      },
      (error: unknown) => {
        if (this.user !== undefined) this.resolutionFailed(error);
      },
    );
  }

  abandon(): void {
    this.user = undefined;
    const current = this.current;
    this.current = undefined;
    current?.abandon();
  }

  stopRetransmitting(): void {
    this.quiet = true;
    const current = this.current;
    // Not on the wire yet (resolution pending): it never will be, and nobody waits for it.
    if (current === undefined) this.user = undefined;
    else current.stopRetransmitting();
  }

  private tryNextTarget(): void {
    while (this.user !== undefined && this.nextTarget < this.targets.length) {
      const target = this.targets[this.nextTarget] as ResolvedTarget;
      // RFC 3263 §4.3: each new target gets a new transaction, hence a new branch.
      const branch = this.nextTarget === 0 ? this.branch : this.context.transactions.newBranch();
      this.nextTarget++;
      let transaction: NonInviteClientTransaction;
      try {
        const attempt = this.buildAttempt(target, branch);
        this.branch = branch;
        const onTarget = this.options?.onTarget;
        if (onTarget !== undefined) this.context.callUser(() => onTarget(attempt.destination));
        transaction = this.context.transactions.sendRequest(attempt.request, attempt.destination, new AttemptUser(this, target));
      } catch (error) {
        // No socket for the target's transport, or the layer is closed: that target cannot be tried.
        this.lastFailure = { response: createResponse(this.baseRequest(), 503, `Service Unavailable (${describe(error)})`), locallyGenerated: true };
        continue;
      }
      // A synchronous transport error may already have ended it (and moved on).
      if (transaction.state !== 'terminated') this.current = transaction;
      return;
    }
    const outcome = this.lastFailure ?? {
      response: createResponse(this.baseRequest(), 503, 'Service Unavailable (no target)'),
      locallyGenerated: true,
    };
    this.deliver(outcome.response, outcome.locallyGenerated);
  }

  /**
   * Copies the base request, adds our top Via (and our Contact when asked
   * for), and picks the transport (RFC 3261 §18.1.1) from the request's size,
   * measured without serializing it: the transaction serializes it once, for
   * the first send and every retransmission. When the size moves the request
   * to TCP, Via and Contact are written again for TCP, so that both always
   * name the transport the request travels on.
   */
  private buildAttempt(target: ResolvedTarget, branch: string): { request: SipRequest; destination: SipEndpoint } {
    // The first attempt (nearly always the only one) takes the base's own headers: no copy of
    // every header field per request sent (issue 11). The base is ours alone, and a later
    // attempt or a local response takes a copy of it without this Via (baseRequest()).
    const lend = !this.baseLent;
    const base = lend ? this.base : this.baseRequest();
    const headers = lend ? base.headers : base.headers.clone();
    this.baseLent = true;
    const request: SipRequest = { kind: 'request', method: base.method, uri: base.uri, headers, body: base.body };
    let via = this.stamp(request, target.transport, branch);
    if (lend) this.lentVia = via;
    const chosen = this.context.transport.chooseTransport(target, serializedLength(request), target.transportExplicit);
    if (chosen !== target.transport) {
      headers.deleteFirst('via');
      if (lend) this.lentVia = undefined;
      via = this.stamp(request, chosen, branch);
      if (lend) this.lentVia = via;
    }
    return { request, destination: { transport: chosen, host: target.host, port: target.port } };
  }

  /**
   * The base request as the user built it (plus Max-Forwards / User-Agent): once the first
   * attempt has written its Via into the base's headers, a copy of them without that Via
   * becomes the base (the attempt keeps the headers it was sent with).
   */
  private baseRequest(): SipRequest {
    const via = this.lentVia;
    if (via === undefined) return this.base;
    this.lentVia = undefined;
    const headers = this.base.headers.clone();
    if (headers.get('via') === via) headers.deleteFirst('via');
    this.base = { kind: 'request', method: this.base.method, uri: this.base.uri, headers, body: this.base.body };
    return this.base;
  }

  /** Our top Via (RFC 3261 §8.1.1.7) and, when asked for, our Contact (§8.1.1.8), both for `transport`; returns the Via's text. */
  private stamp(request: SipRequest, transport: SipTransportName, branch: string): string {
    const headers = request.headers;
    const sentBy = this.context.transport.sentBy(transport);
    const text = ourVia(transport, sentBy, branch);
    headers.prepend('Via', text);
    // The transaction layer reads the branch from the top Via: give it the Via we just wrote
    // rather than have it parse our own text (once per request sent, issue 11).
    const via = ourViaParsed(transport, sentBy, branch);
    if (via !== undefined) rememberTopVia(request, text, via);
    const contact = this.options?.contact;
    if (contact !== undefined) headers.set('Contact', `<${ourContactUri(contact.user, transport, sentBy)}>`);
    return text;
  }

  /** @internal An attempt's 1xx (AttemptUser). */
  onProvisional(response: SipResponse): void {
    const user = this.user;
    if (user?.onProvisional) this.context.callUser(() => user.onProvisional?.(response));
  }

  /** @internal An attempt's final response (AttemptUser). */
  onAttemptFinal(target: ResolvedTarget, response: SipResponse, locallyGenerated: boolean): void {
    this.current = undefined;
    if (this.user === undefined) return;
    // RFC 3263 §4.3: a timeout, a transport failure or a 503 means "try the next target".
    const targetFailed = response.status === 503 || (locallyGenerated && response.status === 408);
    if (targetFailed) {
      if (this.options?.endpoint === undefined) this.context.resolver.markFailed(target);
      if (this.nextTarget < this.targets.length && !this.quiet) {
        this.lastFailure = { response, locallyGenerated };
        this.tryNextTarget();
        return;
      }
    }
    this.deliver(response, locallyGenerated);
  }

  private resolutionFailed(error: unknown): void {
    this.deliver(createResponse(this.baseRequest(), 503, `Service Unavailable (DNS: ${describe(error)})`), true);
  }

  private deliver(response: SipResponse, locallyGenerated: boolean): void {
    const user = this.user;
    this.user = undefined;
    if (user !== undefined) this.context.callUser(() => user.onFinal(response, locallyGenerated));
  }
}

/**
 * The transaction user of one attempt: which request and which target its responses are for.
 * One object per request sent, with its methods on the prototype, where an object literal of
 * two arrow functions made three (issue 11).
 */
class AttemptUser implements ClientTransactionUser {
  constructor(
    private readonly request: OutgoingRequest,
    private readonly target: ResolvedTarget,
  ) {}

  onProvisional(response: SipResponse): void {
    this.request.onProvisional(response);
  }

  onFinal(response: SipResponse, locallyGenerated: boolean): void {
    this.request.onAttemptFinal(this.target, response, locallyGenerated);
  }
}

/** Our top Via: `SIP/2.0/<T> host:port;branch=…;rport` (RFC 3261 §8.1.1.7, RFC 3581 §3). */
export function ourVia(transport: SipTransportName, sentBy: { host: string; port: number }, branch: string): string {
  return `SIP/2.0/${transport.toUpperCase()} ${hostForUri(sentBy.host)}:${sentBy.port};branch=${branch};rport`;
}

/** Hosts and branches whose parse is plain (no escapes, no odd characters): see ourViaParsed. */
const PLAIN_HOST = /^(?:[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])$/;
const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/**
 * What parseTopVia(ourVia(transport, sentBy, branch)) returns, built without parsing;
 * undefined for a host or branch outside the plain forms, which are left to the parser
 * (and its errors).
 */
export function ourViaParsed(transport: SipTransportName, sentBy: { host: string; port: number }, branch: string): Via | undefined {
  const host = hostForUri(sentBy.host);
  if (!PLAIN_HOST.test(host) || !TOKEN.test(branch) || !Number.isInteger(sentBy.port) || sentBy.port < 0 || sentBy.port > 65535) return undefined;
  const params = new Map<string, string | null>();
  params.set('branch', branch);
  params.set('rport', null);
  return { protocol: 'SIP/2.0', transport: transport.toUpperCase(), host: host.toLowerCase(), port: sentBy.port, params, branch, received: undefined, rport: true };
}

function supportedTransports(transport: SipTransport): SipTransportName[] {
  const out: SipTransportName[] = [];
  for (const l of transport.listening()) if (!out.includes(l.transport)) out.push(l.transport);
  return out;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return sanitizeReason(typeof code === 'string' ? `${code}: ${error.message}` : error.message);
  }
  return sanitizeReason(String(error));
}
