/**
 * FakeUserAgent: an in-memory SipUserAgent for tests of what sits on the UA
 * (the subscription engine first): no socket, no resolver, no transaction.
 * It records every request sent, lets the test answer each one (`reply`,
 * `accept`, or the UA's own 408/503), and injects requests (a NOTIFY in the
 * dialog of a SUBSCRIBE) through the handlers registered with onRequest().
 * Everything is synchronous: an answer reaches the engine before the call
 * returns, and time moves only with the test's ManualClock.
 *
 *   const ua = new FakeUserAgent({ clock });
 *   … the engine subscribes …
 *   const sub = ua.take('SUBSCRIBE');          // the one SUBSCRIBE sent since the last take
 *   sub.accept({ expires: 600 });              // 200, To-tag srv1, Contact of the server
 *   ua.notify(sub, { basic: 'open' });         // NOTIFY in its dialog → our 200
 *   clock.advance(570_000);
 *   ua.take('SUBSCRIBE').reply(481);           // the refresh fails
 */
import { createRequest, createResponse, fromHeader, toHeader } from '../../src/sip/codec/index.js';
import type { SipRequest, SipResponse, SipTransportName } from '../../src/sip/codec/message.js';
import type { ClientTransactionUser, IncomingRequest } from '../../src/sip/transaction/types.js';
import type { ReceivedFrom } from '../../src/sip/transport/types.js';
import type { IncomingRequestHandler, OutgoingRequestHandle, SendRequestOptions, SipUserAgent } from '../../src/sip/ua/types.js';
import type { Clock } from '../../src/util/clock.js';

/** Where the fake says it listens: every Contact it writes names this host and port. */
export const FAKE_UA_HOST = '127.0.0.1';
export const FAKE_UA_PORT = 5060;
/** The presence server's Contact in `accept()` and in injected NOTIFYs. */
export const FAKE_SERVER_CONTACT = '<sip:ps@192.0.2.9:5060>';
/** The source of injected requests. */
export const FAKE_SERVER_SOURCE: ReceivedFrom = {
  transport: 'udp',
  remoteAddress: '192.0.2.9',
  remotePort: 5060,
  localAddress: FAKE_UA_HOST,
  localPort: FAKE_UA_PORT,
};

export interface ReplyOptions {
  /** To-tag added when the request's To has none (default `srv1` on a final response but 408/503 local ones). */
  toTag?: string | null;
  reason?: string;
  headers?: Array<readonly [string, string]>;
  body?: string | Uint8Array;
  contentType?: string;
}

export interface AcceptOptions {
  /** Expires of the 2xx; default: what the request asked for; null: none. */
  expires?: number | null;
  toTag?: string;
  /** The server's Contact (the remote target of the dialog). */
  contact?: string;
  headers?: Array<readonly [string, string]>;
}

export interface FakeNotifyOptions {
  /** CSeq number; default one more than the last NOTIFY injected in this dialog (from 1). */
  cseq?: number;
  /** Subscription-State value; default `active;expires=600`. */
  state?: string;
  /** A PIDF body with one tuple of this basic status (the default is `open`); see also `body`. */
  basic?: 'open' | 'closed';
  /** The body as is ('' for none); wins over `basic`. */
  body?: string;
  /** Content-Type of the body; default application/pidf+xml. */
  contentType?: string;
  /** Event header; default `presence`. */
  event?: string;
  /** The server's tag (From-tag); default `srv1`, as accept(). */
  serverTag?: string;
  /** Extra header fields (e.g. Record-Route). */
  headers?: Array<readonly [string, string]>;
  /** Another Call-ID than the SUBSCRIBE's: a NOTIFY for a dialog that is not ours. */
  callId?: string;
}

/** A PIDF document with one tuple (RFC 3863). */
export function pidfBody(entity: string, basic: 'open' | 'closed'): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}">` +
    `<tuple id="t1"><status><basic>${basic}</basic></status></tuple></presence>\r\n`
  );
}

/** One request the code under test sent, and the way to answer it. */
export class SentRequest implements OutgoingRequestHandle {
  /** The final response, once answered (by the test, or 408/503 as the UA would). */
  final: SipResponse | undefined;
  /** True once the sender called abandon(): answers are then dropped, as the real UA does. */
  abandoned = false;
  /** True once the sender called stopRetransmitting(): answers still reach it, as with the real UA. */
  retransmissionsStopped = false;
  /** True once the test took it (take(), last()): FakeUserAgent.unseen() lists the others. */
  seen = false;
  private user: ClientTransactionUser | undefined;

  constructor(
    /** The request as the UA would send it: our Via on top, our Contact written when asked for. */
    readonly request: SipRequest,
    readonly options: SendRequestOptions | undefined,
    user: ClientTransactionUser,
    /** Clock time of the send. */
    readonly at: number,
    readonly branch: string,
  ) {
    this.user = user;
  }

  get method(): string {
    return this.request.method;
  }

  /** The value of a header of the request (first field), e.g. `sub.header('Expires')`. */
  header(name: string): string | undefined {
    return this.request.headers.get(name);
  }

  /** Expires of the request as a number (undefined without one). */
  get expires(): number | undefined {
    const value = this.header('Expires');
    return value === undefined ? undefined : Number(value);
  }

  /** The CSeq number. */
  get cseq(): number {
    return Number.parseInt(this.header('CSeq') ?? '', 10);
  }

  get callId(): string {
    return this.header('Call-ID') ?? '';
  }

  /** Neither answered nor abandoned. */
  get pending(): boolean {
    return this.final === undefined && !this.abandoned;
  }

  /**
   * Answers with a response built from the request (RFC 3261 §8.2.6). A
   * provisional keeps the request pending. Throws if it was already answered;
   * does nothing once abandoned (the real UA would not call back).
   */
  reply(status: number, options: ReplyOptions = {}): SipResponse {
    if (this.final !== undefined) throw new Error(`FakeUserAgent: ${this.describe()} was already answered ${this.final.status}`);
    const toTag = options.toTag === undefined ? (status > 100 ? 'srv1' : undefined) : (options.toTag ?? undefined);
    const response = createResponse(this.request, status, options.reason, {
      ...(toTag !== undefined ? { toTag } : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
    });
    this.deliver(response, false);
    return response;
  }

  /** 200 OK with a To-tag, the Expires asked for (unless told otherwise) and the server's Contact. */
  accept(options: AcceptOptions = {}): SipResponse {
    const headers: Array<readonly [string, string]> = [];
    const expires = options.expires === undefined ? this.expires : options.expires;
    if (expires !== null && expires !== undefined) headers.push(['Expires', String(expires)]);
    headers.push(['Contact', options.contact ?? FAKE_SERVER_CONTACT]);
    for (const h of options.headers ?? []) headers.push(h);
    return this.reply(200, { headers, ...(options.toTag !== undefined ? { toTag: options.toTag } : {}) });
  }

  /** The UA's own 408 when Timer F fires (RFC 3261 §17.1.2.2), after any RFC 3263 failover. */
  timeout(): SipResponse {
    const response = createResponse(this.request, 408, 'Request Timeout');
    this.deliver(response, true);
    return response;
  }

  /** The UA's own 503 for a transport failure (RFC 3261 §8.1.3.1). */
  transportError(): SipResponse {
    const response = createResponse(this.request, 503, 'Service Unavailable (transport error: ECONNREFUSED)');
    this.deliver(response, true);
    return response;
  }

  /** OutgoingRequestHandle */
  abandon(): void {
    this.abandoned = true;
    this.user = undefined;
  }

  /** OutgoingRequestHandle: the fake does not retransmit; a later answer still reaches the sender. */
  stopRetransmitting(): void {
    this.retransmissionsStopped = true;
  }

  describe(): string {
    return `${this.method} (CSeq ${this.cseq}, Expires ${this.expires ?? '-'})`;
  }

  private deliver(response: SipResponse, locallyGenerated: boolean): void {
    const user = this.user;
    if (response.status < 200) {
      user?.onProvisional?.(response);
      return;
    }
    this.final = response;
    this.user = undefined;
    user?.onFinal(response, locallyGenerated);
  }
}

/** A request handed to a handler, recording what it was answered. */
export class FakeIncomingRequest implements IncomingRequest {
  readonly responses: SipResponse[] = [];

  constructor(
    readonly request: SipRequest,
    readonly source: ReceivedFrom,
  ) {}

  /** The final response, if one was sent. */
  get final(): SipResponse | undefined {
    return this.responses.find((r) => r.status >= 200);
  }

  respond(response: SipResponse): void {
    if (this.final !== undefined) return; // a second final is discarded, as by a server transaction
    this.responses.push(response);
  }

  reply(status: number, reason?: string, extraHeaders?: ReadonlyArray<readonly [string, string]>, body?: { contentType: string; body: Uint8Array | string }): void {
    const toTag = status > 100 && toHeader(this.request).tag === undefined ? 'uas1' : undefined;
    this.respond(
      createResponse(this.request, status, reason, {
        ...(toTag !== undefined ? { toTag } : {}),
        ...(extraHeaders !== undefined ? { headers: extraHeaders } : {}),
        ...(body !== undefined ? { body: body.body, contentType: body.contentType } : {}),
      }),
    );
  }
}

export interface FakeUserAgentOptions {
  /** Stamps `at` on each request; 0 without. */
  clock?: Clock;
}

export class FakeUserAgent implements SipUserAgent {
  /** Every request sent, oldest first. */
  readonly sent: SentRequest[] = [];
  /** Every request injected through receive()/notify(), oldest first. */
  readonly received: FakeIncomingRequest[] = [];
  closed = false;
  private readonly handlers = new Map<string, IncomingRequestHandler>();
  private readonly notifyCSeq = new Map<string, number>();
  private branches = 0;

  constructor(private readonly options: FakeUserAgentOptions = {}) {}

  // ---------------------------------------------------------------- SipUserAgent

  sendRequest(request: SipRequest, user: ClientTransactionUser, options?: SendRequestOptions): OutgoingRequestHandle {
    if (this.closed) throw new Error('FakeUserAgent: closed');
    // As the real UA: the caller's request stays untouched; the copy gets our Via and Contact.
    const headers = request.headers.clone();
    const branch = `z9hG4bK-fake-${++this.branches}`;
    headers.prepend('Via', `SIP/2.0/UDP ${FAKE_UA_HOST}:${FAKE_UA_PORT};branch=${branch};rport`);
    if (options?.contact !== undefined) headers.set('Contact', `<${this.contactUri(options.contact.user, 'udp')}>`);
    const copy: SipRequest = { kind: 'request', method: request.method, uri: request.uri, headers, body: request.body };
    const sent = new SentRequest(copy, options, user, this.options.clock?.now() ?? 0, branch);
    this.sent.push(sent);
    return sent;
  }

  onRequest(method: string, handler: IncomingRequestHandler): void {
    this.handlers.set(method, handler);
  }

  contactUri(user: string, transport: SipTransportName): string {
    return `sip:${user}@${FAKE_UA_HOST}:${FAKE_UA_PORT}${transport === 'udp' ? '' : `;transport=${transport}`}`;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---------------------------------------------------------------- for tests

  /** Requests neither answered nor abandoned, oldest first; of one method if given. */
  pending(method?: string): SentRequest[] {
    return this.sent.filter((s) => s.pending && (method === undefined || s.method === method));
  }

  /**
   * The one request (of `method`, default SUBSCRIBE) sent since the test last
   * took one, now marked as taken; throws if there is none, or more than one.
   */
  take(method = 'SUBSCRIBE'): SentRequest {
    const fresh = this.unseen().filter((s) => s.method === method);
    if (fresh.length !== 1) {
      throw new Error(`FakeUserAgent: expected one new ${method}, found ${fresh.length}: ${fresh.map((s) => s.describe()).join('; ') || 'none'}`);
    }
    const taken = fresh[0]!;
    taken.seen = true;
    return taken;
  }

  /** Every request sent since the test last took one (of `method` if given), now marked as taken. */
  takeAll(method?: string): SentRequest[] {
    const fresh = this.unseen().filter((s) => method === undefined || s.method === method);
    for (const s of fresh) s.seen = true;
    return fresh;
  }

  /** Requests the test has not taken yet (take(), last()), oldest first: what was sent "since the last look". */
  unseen(): SentRequest[] {
    return this.sent.filter((s) => !s.seen);
  }

  /** The last request sent (of `method` if given); throws if there is none. */
  last(method?: string): SentRequest {
    const all = method === undefined ? this.sent : this.sent.filter((s) => s.method === method);
    const last = all[all.length - 1];
    if (last === undefined) throw new Error(`FakeUserAgent: no ${method ?? 'request'} sent`);
    last.seen = true;
    return last;
  }

  /** How many requests were sent (of `method` if given). */
  count(method?: string): number {
    return method === undefined ? this.sent.length : this.sent.filter((s) => s.method === method).length;
  }

  /**
   * Injects a NOTIFY in the dialog that `subscribe` (one of our SUBSCRIBEs)
   * created, as its server sends it (RFC 6665 §4.1.3): Request-URI = our
   * Contact, From = its To with the server's tag, To = its From, same Call-ID.
   * Returns our final response (undefined if the handler sent none).
   */
  notify(subscribe: SentRequest, options: FakeNotifyOptions = {}): SipResponse | undefined {
    const from = fromHeader(subscribe.request);
    const to = toHeader(subscribe.request);
    const callId = options.callId ?? subscribe.callId;
    const cseq = options.cseq ?? (this.notifyCSeq.get(callId) ?? 0) + 1;
    this.notifyCSeq.set(callId, Math.max(cseq, this.notifyCSeq.get(callId) ?? 0));
    const contact = /<([^>]*)>/.exec(subscribe.header('Contact') ?? '')?.[1] ?? from.uri;
    const body = options.body ?? pidfBody(to.uri, options.basic ?? 'open');
    const headers: Array<readonly [string, string]> = [
      ['Via', `SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK-fake-notify-${++this.branches}`],
      ['Max-Forwards', '70'],
      ['From', `<${to.uri}>;tag=${options.serverTag ?? 'srv1'}`],
      ['To', `<${from.uri}>${from.tag === undefined ? '' : `;tag=${from.tag}`}`],
      ['Call-ID', callId],
      ['CSeq', `${cseq} NOTIFY`],
      ['Contact', FAKE_SERVER_CONTACT],
      ['Event', options.event ?? 'presence'],
      ['Subscription-State', options.state ?? 'active;expires=600'],
    ];
    if (body.length > 0) headers.push(['Content-Type', options.contentType ?? 'application/pidf+xml']);
    for (const h of options.headers ?? []) headers.push(h);
    return this.receive(createRequest({ method: 'NOTIFY', uri: contact, headers, body }));
  }

  /**
   * Hands a request to the handler of its method, as the UA core does with a
   * new request; returns the final response it got. Without a handler: 405.
   */
  receive(request: SipRequest, source: ReceivedFrom = FAKE_SERVER_SOURCE): SipResponse | undefined {
    const incoming = new FakeIncomingRequest(request, source);
    this.received.push(incoming);
    const handler = this.handlers.get(request.method);
    if (handler === undefined) incoming.reply(405, 'Method Not Allowed');
    else handler(incoming);
    return incoming.final;
  }
}
