/**
 * ScriptedSipPeer: a loopback SIP endpoint driven step by step by a wire
 * test, playing the presence server (or any other peer) of the B2BUA: it
 * queues what it receives, answers with responses built by the codec, and
 * sends raw bytes or NOTIFYs. Every wait is bounded. Binds 127.0.0.1 only.
 *
 *   const peer = await ScriptedSipPeer.start({ transport: 'udp' });
 *   const sub = await peer.expectRequest({ method: 'SUBSCRIBE' });
 *   await peer.reply(sub, 200, { toTag: 'srv1', headers: [['Expires', '3600']] });
 *   await peer.sendNotify(sub.from, { ...peer.notifyOptionsFor(sub, 'srv1'), cseq: 2 });
 *   const ok = await peer.expectResponse({ method: 'NOTIFY' });
 *   await peer.close();
 */
import { Buffer } from 'node:buffer';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, connect, type Server, type Socket as TcpSocket } from 'node:net';
import {
  contactsOf,
  createResponse,
  findHeaderEnd,
  fromHeader,
  parseSipMessage,
  serializeSipMessage,
  skipLeadingCrlf,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  toHeader,
} from '../../src/sip/codec/index.js';
import { buildNotify, type NotifyOptions } from './sip-fixtures.js';

export type ScriptedTransport = 'udp' | 'tcp';

export interface RemoteAddress {
  readonly address: string;
  readonly port: number;
}

export interface ReceivedRequest {
  /** The exact octets received (one datagram, or one framed message of the stream). */
  readonly raw: Buffer;
  readonly message: SipRequest;
  readonly from: RemoteAddress;
}

export interface ReceivedResponse {
  readonly raw: Buffer;
  readonly message: SipResponse;
  readonly from: RemoteAddress;
}

/** Octets that arrived but did not parse as SIP. */
export interface UnparseableArrival {
  readonly raw: Buffer;
  readonly error: unknown;
  readonly from: RemoteAddress;
}

export interface ExpectRequestOptions {
  /** Only a request with this method (case-sensitive, as on the wire). */
  readonly method?: string;
  /** Default 2000 ms. */
  readonly timeoutMs?: number;
}

export interface ExpectResponseOptions {
  readonly status?: number;
  /** The method of the CSeq header (which request it answers). */
  readonly method?: string;
  /** Default 2000 ms. */
  readonly timeoutMs?: number;
}

export interface ReplyOptions {
  /** Extra headers, after Via/From/To/Call-ID/CSeq copied from the request. */
  readonly headers?: Iterable<readonly [string, string]>;
  /** Added to To as `;tag=` when the request's To has no tag. */
  readonly toTag?: string;
  readonly body?: Uint8Array | string;
  readonly contentType?: string;
  /** Reason phrase; default: the standard one for the status. */
  readonly reason?: string;
  /** Where to send it; default: where the request came from. */
  readonly to?: RemoteAddress;
}

type Arrival =
  | { readonly kind: 'request'; readonly value: ReceivedRequest }
  | { readonly kind: 'response'; readonly value: ReceivedResponse }
  | { readonly kind: 'unparseable'; readonly value: UnparseableArrival };

interface Waiter {
  readonly accepts: (arrival: Arrival) => boolean;
  readonly take: (arrival: Arrival) => void;
  /** The peer was closed while waiting. */
  readonly cancel: () => void;
}

const DEFAULT_TIMEOUT_MS = 2000;

function describeArrival(arrival: Arrival): string {
  const from = `${arrival.value.from.address}:${arrival.value.from.port}`;
  if (arrival.kind === 'unparseable') return `unparseable ${arrival.value.raw.length} octets from ${from}`;
  const message: SipMessage = arrival.value.message;
  const cseq = message.headers.get('CSeq') ?? '?';
  return message.kind === 'request'
    ? `${message.method} ${message.uri} (CSeq ${cseq}) from ${from}`
    : `${message.status} ${message.reason} (CSeq ${cseq}) from ${from}`;
}

function endpointKey(remote: RemoteAddress): string {
  return `${remote.address}:${remote.port}`;
}

export class ScriptedSipPeer {
  readonly transport: ScriptedTransport;
  /** Everything that arrived and did not parse, in order (also reported by expectNothing). */
  readonly unparseable: UnparseableArrival[] = [];
  private readonly queue: Arrival[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly udp: UdpSocket | undefined;
  private readonly server: Server | undefined;
  private readonly connections = new Map<string, TcpSocket>();
  private readonly localPort: number;
  private closed = false;
  private branchCounter = 0;
  private sent = 0;
  private arrivals = 0;

  private constructor(transport: ScriptedTransport, udp: UdpSocket | undefined, server: Server | undefined, port: number) {
    this.transport = transport;
    this.udp = udp;
    this.server = server;
    this.localPort = port;
  }

  /** Binds 127.0.0.1 on an ephemeral port. */
  static async start(options: { transport?: ScriptedTransport } = {}): Promise<ScriptedSipPeer> {
    const transport = options.transport ?? 'udp';
    if (transport === 'udp') {
      const socket = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, '127.0.0.1', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      const peer = new ScriptedSipPeer('udp', socket, undefined, socket.address().port);
      socket.on('message', (packet, rinfo) => peer.arrived(Buffer.from(packet), { address: rinfo.address, port: rinfo.port }, 'datagram'));
      socket.on('error', () => {
        // A send to a closed port (ICMP unreachable) must not crash the test process.
      });
      return peer;
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('ScriptedSipPeer: TCP server has no port');
    const peer = new ScriptedSipPeer('tcp', undefined, server, address.port);
    server.on('connection', (socket) => peer.adopt(socket));
    return peer;
  }

  /** Messages this peer sent (one per sendRaw, reply, send or sendNotify). */
  get sentCount(): number {
    return this.sent;
  }

  /** Messages that arrived (one per datagram or framed stream message), parsed or not, taken or not. */
  get receivedCount(): number {
    return this.arrivals;
  }

  /** What arrived and no expectation took yet, described (empty when nothing is queued). */
  queued(): string[] {
    return this.queue.map(describeArrival);
  }

  /** Where the B2BUA should send: 127.0.0.1 and the bound port. */
  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.localPort };
  }

  /** A SIP URI of this peer, e.g. `sip:alice@127.0.0.1:PORT;transport=tcp` (user optional). */
  uri(user?: string): string {
    const userPart = user === undefined ? '' : `${user}@`;
    const params = this.transport === 'tcp' ? ';transport=tcp' : '';
    return `sip:${userPart}127.0.0.1:${this.localPort}${params}`;
  }

  /** The first queued (or next arriving) request matching `options`; rejects after the timeout. */
  expectRequest(options: ExpectRequestOptions = {}): Promise<ReceivedRequest> {
    const method = options.method;
    const what = method === undefined ? 'request' : `${method} request`;
    return this.expect<ReceivedRequest>(
      what,
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      (arrival) => arrival.kind === 'request' && (method === undefined || arrival.value.message.method === method),
      (arrival) => arrival.value as ReceivedRequest,
    );
  }

  /** The first queued (or next arriving) response matching `options`; rejects after the timeout. */
  expectResponse(options: ExpectResponseOptions = {}): Promise<ReceivedResponse> {
    const { status, method } = options;
    const what = `${status ?? ''} response${method === undefined ? '' : ` to ${method}`}`.trim();
    return this.expect<ReceivedResponse>(
      what,
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      (arrival) => {
        if (arrival.kind !== 'response') return false;
        const message = arrival.value.message;
        if (status !== undefined && message.status !== status) return false;
        if (method === undefined) return true;
        const cseq = message.headers.get('CSeq') ?? '';
        return cseq.slice(cseq.lastIndexOf(' ') + 1).trim() === method;
      },
      (arrival) => arrival.value as ReceivedResponse,
    );
  }

  /**
   * Resolves when nothing is queued and nothing arrives for `ms`; rejects
   * listing what was queued or arrived (including unparseable octets). For a
   * peer of a separate process only: in-process tests compare exact counters
   * (sentCount/receivedCount against the transport's stats) instead of waiting.
   */
  expectNothing(ms: number): Promise<void> {
    if (this.queue.length > 0) {
      return Promise.reject(new Error(`${this.label()}: expected nothing, but queued: ${this.queue.map(describeArrival).join('; ')}`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        accepts: () => true,
        take: (arrival) => {
          clearTimeout(timer);
          reject(new Error(`${this.label()}: expected nothing for ${ms} ms, got ${describeArrival(arrival)}`));
        },
        cancel: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      // A real I/O deadline: the peer talks to a real socket.
      const timer = setTimeout(() => {
        this.removeWaiter(waiter);
        resolve();
      }, ms);
      this.waiters.push(waiter);
    });
  }

  /** Removes and returns everything queued (e.g. retransmissions a test does not care about). */
  discardPending(): Array<ReceivedRequest | ReceivedResponse | UnparseableArrival> {
    return this.queue.splice(0, this.queue.length).map((arrival) => arrival.value);
  }

  /**
   * Sends octets as they are. UDP: one datagram. TCP: on the connection from
   * `to` if there is one (e.g. the one a request came in on), else on a new
   * connection to `to`. Resolves with the octets sent once written.
   */
  async sendRaw(bytes: Uint8Array | string, to: RemoteAddress): Promise<Buffer> {
    if (this.closed) throw new Error(`${this.label()}: closed`);
    const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : Buffer.from(bytes);
    this.sent++;
    if (this.udp !== undefined) {
      const socket = this.udp;
      await new Promise<void>((resolve, reject) => {
        socket.send(data, to.port, to.address, (error) => (error ? reject(error) : resolve()));
      });
      return data;
    }
    const socket = this.connections.get(endpointKey(to)) ?? (await this.connectTo(to));
    await new Promise<void>((resolve, reject) => {
      socket.write(data, (error) => (error ? reject(error) : resolve()));
    });
    return data;
  }

  /**
   * Answers a received request with a response built by the codec
   * (createResponse: Via, From, To, Call-ID, CSeq copied, RFC 3261 §8.2.6.2)
   * and returns the exact octets sent.
   */
  reply(received: ReceivedRequest, status: number, options: ReplyOptions = {}): Promise<Buffer> {
    const response = createResponse(received.message, status, options.reason, {
      ...(options.toTag !== undefined ? { toTag: options.toTag } : {}),
      ...(options.headers !== undefined ? { headers: options.headers } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.contentType !== undefined ? { contentType: options.contentType } : {}),
    });
    return this.sendRaw(serializeSipMessage(response), options.to ?? received.from);
  }

  /** Serializes a message built by a test and sends it; returns the octets sent. */
  send(message: SipMessage, to: RemoteAddress): Promise<Buffer> {
    return this.sendRaw(serializeSipMessage(message), to);
  }

  /**
   * Sends a NOTIFY built by sip-fixtures' buildNotify(). Unless `options` says
   * otherwise, its Via (transport, sent-by) and Contact are this peer's and
   * its branch is fresh. Returns the octets sent.
   */
  sendNotify(to: RemoteAddress, options: NotifyOptions = {}): Promise<Buffer> {
    this.branchCounter += 1;
    const bytes = buildNotify({
      transport: this.transport.toUpperCase(),
      viaHost: `127.0.0.1:${this.localPort}`,
      branch: `z9hG4bK-scripted-${this.localPort}-${this.branchCounter}`,
      contact: `<${this.uri('ps')}>`,
      ...options,
    });
    return this.sendRaw(bytes, to);
  }

  /**
   * The dialog fields of a NOTIFY in the subscription a SUBSCRIBE created
   * (RFC 6665 §4.1.3, RFC 3261 §12.1.1): Request-URI = the SUBSCRIBE's
   * Contact, From = its To with `serverTag`, To = its From, same Call-ID.
   * Add `cseq`, `subscriptionState`, `body`, … and pass it to sendNotify().
   */
  notifyOptionsFor(subscribe: ReceivedRequest, serverTag: string): NotifyOptions {
    const message = subscribe.message;
    const from = fromHeader(message);
    const to = toHeader(message);
    const contacts = contactsOf(message);
    const contact = contacts === '*' ? undefined : contacts[0];
    return {
      requestUri: contact?.uri ?? from.uri,
      fromUri: to.uri,
      fromTag: serverTag,
      toUri: from.uri,
      toTag: from.tag ?? null,
      callId: message.headers.get('Call-ID') ?? '',
    };
  }

  /** Closes the socket(s); pending expectations reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters.splice(0, this.waiters.length)) waiter.cancel();
    for (const socket of this.connections.values()) socket.destroy();
    this.connections.clear();
    if (this.udp !== undefined) {
      const socket = this.udp;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    }
    if (this.server !== undefined) {
      const server = this.server;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  // ---------------------------------------------------------------- internals

  private label(): string {
    return `ScriptedSipPeer(${this.transport} 127.0.0.1:${this.localPort})`;
  }

  private expect<T>(what: string, timeoutMs: number, accepts: (arrival: Arrival) => boolean, pick: (arrival: Arrival) => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`${this.label()}: closed`));
    const index = this.queue.findIndex(accepts);
    if (index >= 0) {
      const [arrival] = this.queue.splice(index, 1);
      if (arrival !== undefined) return Promise.resolve(pick(arrival));
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        accepts,
        take: (arrival) => {
          clearTimeout(timer);
          resolve(pick(arrival));
        },
        cancel: () => {
          clearTimeout(timer);
          reject(new Error(`${this.label()}: closed while waiting for a ${what}`));
        },
      };
      // A real I/O deadline: the peer talks to a real socket.
      const timer = setTimeout(() => {
        this.removeWaiter(waiter);
        const queued = this.queue.length === 0 ? 'nothing' : this.queue.map(describeArrival).join('; ');
        reject(new Error(`${this.label()}: no ${what} within ${timeoutMs} ms (queued: ${queued})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  private removeWaiter(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  private arrived(raw: Buffer, from: RemoteAddress, framing: 'datagram' | 'stream'): void {
    this.arrivals++;
    let arrival: Arrival;
    try {
      const message = parseSipMessage(raw, { framing });
      arrival =
        message.kind === 'request'
          ? { kind: 'request', value: { raw, message, from } }
          : { kind: 'response', value: { raw, message, from } };
    } catch (error) {
      const value = { raw, error, from };
      this.unparseable.push(value);
      arrival = { kind: 'unparseable', value };
    }
    const waiter = this.waiters.find((w) => w.accepts(arrival));
    if (waiter !== undefined) {
      this.removeWaiter(waiter);
      waiter.take(arrival);
      return;
    }
    this.queue.push(arrival);
  }

  private async connectTo(to: RemoteAddress): Promise<TcpSocket> {
    const socket = connect({ host: to.address, port: to.port, localAddress: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.adopt(socket, to);
    return socket;
  }

  /** Frames SIP messages on a TCP connection (RFC 3261 §18.3: Content-Length delimits the body). */
  private adopt(socket: TcpSocket, remote?: RemoteAddress): void {
    const from: RemoteAddress = remote ?? { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    const key = endpointKey(from);
    this.connections.set(key, socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
      for (;;) {
        const start = skipLeadingCrlf(pending, 0, pending.length);
        if (start > 0) pending = pending.subarray(start);
        const end = findHeaderEnd(pending, 0);
        if (end === undefined) return;
        const head = pending.toString('latin1', 0, end.blockEnd);
        const match = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)/im.exec(head);
        const bodyLength = match === null ? 0 : Number(match[1]);
        const total = end.bodyStart + bodyLength;
        if (pending.length < total) return;
        const raw = Buffer.from(pending.subarray(0, total));
        pending = pending.subarray(total);
        this.arrived(raw, from, 'stream');
      }
    });
    socket.on('error', () => {
      // The B2BUA may reset a connection on purpose; the test sees it as silence.
    });
    socket.on('close', () => {
      if (this.connections.get(key) === socket) this.connections.delete(key);
    });
  }
}
