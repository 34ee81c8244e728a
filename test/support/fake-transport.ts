/**
 * An in-memory SipTransport for tests: records every message sent (the bytes
 * as handed over, parsed back, with the destination and the clock time), lets a test inject
 * received messages, and can make sends fail (ECONNREFUSED-style) on demand.
 * It does not stamp Via received/rport as the real transport does (RFC 3261 §18.2.1).
 */
import type { Clock } from '../../src/util/clock.js';
import { parseSipMessage } from '../../src/sip/codec/index.js';
import type { SipMessage, SipRequest, SipResponse, SipTransportName } from '../../src/sip/codec/message.js';
import type { MessageHandler, ReceivedFrom, SendErrorHandler, SipEndpoint, SipTransport } from '../../src/sip/transport/types.js';

export interface SentMessage {
  /** The bytes parsed back with the real parser. */
  message: SipMessage;
  destination: SipEndpoint;
  /** Set when the sender passed the source of a request (responses on streams). */
  source?: ReceivedFrom;
  /** Clock time of the send (0 without a clock). */
  at: number;
  /** The bytes as handed to send(): what the real transport would have written. */
  bytes: Buffer;
}

export interface FakeTransportOptions {
  /** Sockets we pretend to listen on; default UDP and TCP on 127.0.0.1:5060. */
  listening?: Array<{ transport: SipTransportName; host: string; port: number }>;
  /** Stamps `at` of each send. */
  clock?: Clock;
  /** RFC 3261 §18.1.1 threshold for switching UDP to TCP; default 1300. */
  udpSizeLimit?: number;
  /** Report send errors synchronously instead of in a microtask (the real transport is asynchronous). */
  synchronousErrors?: boolean;
}

interface FailureRule {
  matches: (message: SipMessage, destination: SipEndpoint) => boolean;
  error: Error;
  once: boolean;
}

/** The source used by `receive` when the test gives none. */
export const DEFAULT_REMOTE: ReceivedFrom = {
  transport: 'udp',
  remoteAddress: '192.0.2.10',
  remotePort: 5060,
  localAddress: '127.0.0.1',
  localPort: 5060,
};

export class FakeTransport implements SipTransport {
  readonly sent: SentMessage[] = [];
  closed = false;
  private handler: MessageHandler | undefined;
  private readonly sockets: Array<{ transport: SipTransportName; host: string; port: number }>;
  private readonly failures: FailureRule[] = [];

  constructor(private readonly options: FakeTransportOptions = {}) {
    this.sockets = options.listening ?? [
      { transport: 'udp', host: '127.0.0.1', port: 5060 },
      { transport: 'tcp', host: '127.0.0.1', port: 5060 },
    ];
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  send(data: Buffer, destination: SipEndpoint, onError?: SendErrorHandler, source?: ReceivedFrom): void {
    const message = parseSipMessage(data);
    const entry: SentMessage = {
      message,
      destination: { ...destination },
      at: this.options.clock?.now() ?? 0,
      bytes: data,
    };
    if (source !== undefined) entry.source = source;
    this.sent.push(entry);
    let error: Error | undefined;
    if (this.closed) error = Object.assign(new Error('transport closed'), { code: 'SIP_ERR_TRANSPORT_CLOSED' });
    else {
      const index = this.failures.findIndex((rule) => rule.matches(message, destination));
      if (index >= 0) {
        const rule = this.failures[index] as FailureRule;
        error = rule.error;
        if (rule.once) this.failures.splice(index, 1);
      }
    }
    if (error === undefined || onError === undefined) return;
    const failure = error;
    if (this.options.synchronousErrors) onError(failure);
    else queueMicrotask(() => onError(failure));
  }

  chooseTransport(destination: SipEndpoint, byteLength: number, transportWasExplicit: boolean): SipTransportName {
    const limit = this.options.udpSizeLimit ?? 1300;
    if (destination.transport === 'udp' && !transportWasExplicit && byteLength > limit && this.sockets.some((s) => s.transport === 'tcp')) {
      return 'tcp';
    }
    return destination.transport;
  }

  sentBy(transport: SipTransportName): { host: string; port: number } {
    const socket = this.sockets.find((s) => s.transport === transport);
    if (socket === undefined) throw Object.assign(new Error(`not listening on ${transport}`), { code: 'SIP_ERR_TRANSPORT_NOT_LISTENING' });
    return { host: socket.host, port: socket.port };
  }

  listening(): ReadonlyArray<{ transport: SipTransportName; host: string; port: number }> {
    return this.sockets;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Delivers a message (an object, or SIP text parsed with the real parser) as if it had arrived. */
  receive(message: SipMessage | string, from: Partial<ReceivedFrom> = {}): void {
    const parsed = typeof message === 'string' ? parseSipMessage(Buffer.from(message)) : message;
    if (this.handler === undefined) throw new Error('FakeTransport: no message handler installed');
    this.handler(parsed, { ...DEFAULT_REMOTE, ...from });
  }

  /** Makes sends that match fail with `error` (default ECONNREFUSED), once or always. */
  failSends(
    matches: (message: SipMessage, destination: SipEndpoint) => boolean = () => true,
    error: Error = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    once = false,
  ): void {
    this.failures.push({ matches, error, once });
  }

  /** Stops failing sends. */
  clearFailures(): void {
    this.failures.length = 0;
  }

  /** Requests sent so far (optionally of one method). */
  requests(method?: string): Array<SentMessage & { message: SipRequest }> {
    return this.sent.filter((s): s is SentMessage & { message: SipRequest } => s.message.kind === 'request' && (method === undefined || s.message.method === method));
  }

  /** Responses sent so far (optionally of one status). */
  responses(status?: number): Array<SentMessage & { message: SipResponse }> {
    return this.sent.filter((s): s is SentMessage & { message: SipResponse } => s.message.kind === 'response' && (status === undefined || s.message.status === status));
  }

  /** The last message sent, or throws. */
  last(): SentMessage {
    const entry = this.sent[this.sent.length - 1];
    if (entry === undefined) throw new Error('FakeTransport: nothing sent');
    return entry;
  }

  /** Forgets what was sent. */
  clearSent(): void {
    this.sent.length = 0;
  }
}

/** Lets queued microtasks (async send errors, resolver promises) run. */
export async function flushMicrotasks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
