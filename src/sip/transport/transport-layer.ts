import { isIP, type Socket } from 'node:net';
import { PresenceB2BError } from '../../util/errors.js';
import { networkInterfaces } from 'node:os';
import { systemClock } from '../../util/clock.js';
import { CryptoRandom, type Random } from '../../util/random.js';
import { TimerScheduler } from '../../util/timer-scheduler.js';
import {
  createResponse,
  DEFAULT_PARSE_LIMITS,
  firstListElement,
  type ParseOptions,
  parseSipMessage,
  parseVia,
  serializeSipMessage,
  type Via,
} from '../codec/index.js';
import type { SipMessage, SipTransportName } from '../codec/message.js';
import type { SipParseError } from '../codec/parse-error.js';
import { badRequestReason, buildStatelessResponse, classifyMalformed, readMalformedRequestHead, requestMethodOf } from './bad-request.js';
import { type ConnectionListener, type ConnectionSettings, SipConnection } from './connection.js';
import { ConnectionPool, connectionKey } from './connection-pool.js';
import type { SipMessageObserver } from './message-observer.js';
import { ioError, SipTransportError } from './errors.js';
import { OverloadGuard } from './overload-guard.js';
import { DatagramSources } from './datagram-sources.js';
import { responseDestination } from './response-routing.js';
import { type StreamAcceptor, StreamTransport, type TlsClientSettings } from './stream-transport.js';
import {
  emptyTransportStats,
  type SipTransportLayerOptions,
  type TransportDiagnostic,
  type TransportStats,
} from './transport-options.js';
import type { ListenSpec, MessageHandler, ReceivedFrom, SendErrorHandler, SipEndpoint, SipTransport } from './types.js';
import { type DatagramSink, UdpTransport } from './udp-transport.js';
import { stampTopVia, stampViaText, unbracket } from './via-stamping.js';

/** RFC 3261 §18.1.1: above this many octets (MTU unknown), a UDP request goes over TCP. */
const UDP_SIZE_LIMIT = 1300;
/** Output a peer may leave unread before we drop its connection. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Default time a stream peer has to send the rest of a message it started (as Kamailio's tcp_msg_read_timeout order of magnitude). */
const DEFAULT_MESSAGE_TIMEOUT_MS = 10_000;

interface Listener {
  transport: SipTransportName;
  host: string;
  port: number;
  sentByHost: string;
}

type State = 'new' | 'starting' | 'started' | 'closed';

/**
 * The SIP transport layer (RFC 3261 §18, RFC 3581): UDP, TCP and TLS sockets,
 * stream framing, connection reuse, received/rport stamping on requests,
 * §18.2.2 response routing, and stateless 400s for malformed requests.
 * Nothing it receives can throw out of it: every socket has an 'error'
 * listener, bad input is counted in `stats` and reported to `onDiagnostic`.
 */
export class SipTransportLayer implements SipTransport, DatagramSink, ConnectionListener, StreamAcceptor {
  /** Live counters (the object is updated in place). */
  readonly stats: TransportStats = emptyTransportStats();
  private readonly listenSpecs: ListenSpec[];
  private readonly udpReceiveBufferBytes: number | undefined;
  private readonly parseOptions: ParseOptions;
  /** Largest datagram taken (maxMessageBytes.udp): a larger one is answered 513 unread. */
  private readonly udpMaxBytes: number;
  private readonly settings: Record<'tcp' | 'tls', ConnectionSettings>;
  /** The scheduler we made (closed with us), when none was given. */
  private readonly ownScheduler: TimerScheduler | undefined;
  private readonly overload: OverloadGuard | undefined;
  private readonly retryAfterHeader: string;
  private readonly retryAfterSeconds: string;
  private readonly maxConnections: number;
  private readonly random: Random;
  private readonly tlsClient: TlsClientSettings;
  private readonly diagnostic: ((event: TransportDiagnostic) => void) | undefined;
  private readonly observer: SipMessageObserver | undefined;
  private handler: MessageHandler | undefined;
  private readonly udp: UdpTransport[] = [];
  /** The shared `source` objects of each UDP socket's datagrams. */
  private readonly datagramSources = new Map<UdpTransport, DatagramSources>();
  private readonly streamListeners: StreamTransport[] = [];
  private readonly connectors = new Map<'tcp' | 'tls', StreamTransport>();
  private readonly listeners: Listener[] = [];
  private readonly pool = new ConnectionPool();
  private nextConnectionId = 1;
  private state: State = 'new';

  constructor(options: SipTransportLayerOptions) {
    this.listenSpecs = options.listen.slice();
    this.udpReceiveBufferBytes = options.udpReceiveBufferBytes;
    const sizeFor = (transport: SipTransportName): number | undefined => options.maxMessageBytes?.[transport];
    const limitsFor = (transport: SipTransportName) => {
      const size = sizeFor(transport);
      return size === undefined ? options.limits : { ...options.limits, maxMessageBytes: size };
    };
    const udpLimits = limitsFor('udp');
    this.parseOptions = udpLimits === undefined ? { framing: 'datagram' } : { framing: 'datagram', limits: udpLimits };
    this.udpMaxBytes = udpLimits?.maxMessageBytes ?? DEFAULT_PARSE_LIMITS.maxMessageBytes;
    this.ownScheduler = options.scheduler === undefined ? new TimerScheduler(systemClock) : undefined;
    const scheduler = options.scheduler ?? (this.ownScheduler as TimerScheduler);
    const settingsFor = (transport: 'tcp' | 'tls'): ConnectionSettings => ({
      idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      limits: limitsFor(transport),
      maxQueuedBytes: MAX_QUEUED_BYTES,
      observed: options.observer !== undefined,
      messageTimeoutMs: options.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS,
      scheduler,
    });
    this.settings = { tcp: settingsFor('tcp'), tls: settingsFor('tls') };
    const overload = options.overload;
    this.retryAfterSeconds = String(overload?.retryAfterSeconds ?? 0);
    this.retryAfterHeader = `Retry-After: ${this.retryAfterSeconds}`;
    this.overload =
      overload === undefined || overload.backlogLimitBytes === 0
        ? undefined
        : new OverloadGuard(
            overload,
            scheduler,
            () => this.udp.map((u) => ({ address: u.localAddress, port: u.localPort })),
            () => this.udp.map((u) => u.receiveBufferSize),
            () => this.stats.received,
            (shedding, backlog) =>
              this.emit({
                kind: shedding ? 'overload-started' : 'overload-ended',
                transport: 'udp',
                detail: shedding
                  ? `receive backlog ${backlog} octets over ${this.overload?.limitBytes}: new requests are answered 503 (Retry-After: ${overload.retryAfterSeconds})`
                  : `receive backlog ${backlog} octets: requests are handled again (${this.stats.requestsShed} shed so far)`,
              }),
          );
    this.maxConnections = options.maxConnections ?? Number.POSITIVE_INFINITY;
    this.random = options.random ?? new CryptoRandom();
    const tlsSpec = this.listenSpecs.find((s) => s.transport === 'tls')?.tls;
    // Outgoing TLS verifies the server (node's default) unless told otherwise; a listener's
    // rejectUnauthorized is about client certificates of inbound connections, not this.
    this.tlsClient = options.tlsClient ?? (tlsSpec?.ca !== undefined ? { ca: tlsSpec.ca } : {});
    this.diagnostic = options.onDiagnostic;
    this.observer = options.observer;
  }

  /** Binds every ListenSpec; on failure, closes what was opened and rejects. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new SipTransportError('SIP_ERR_TRANSPORT_CLOSED', `Transport layer cannot start: it is ${this.state}`);
    this.state = 'starting';
    try {
      for (const spec of this.listenSpecs) {
        if (spec.transport === 'udp') {
          const udp = new UdpTransport(spec.host, spec.port, this, this.udpReceiveBufferBytes);
          this.udp.push(udp);
          await udp.start();
          this.listeners.push(listenerOf(spec, udp.localAddress, udp.localPort));
        } else {
          const stream = new StreamTransport(spec.transport, this, this.tlsClient);
          this.streamListeners.push(stream);
          await stream.listen(spec);
          if (!this.connectors.has(spec.transport)) this.connectors.set(spec.transport, stream);
          this.listeners.push(listenerOf(spec, stream.localAddress, stream.localPort));
        }
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    if (this.state === 'starting') {
      this.state = 'started';
      this.overload?.start();
    }
  }

  /** True while requests are being shed (receive backlog over its limit). */
  get shedding(): boolean {
    return this.overload?.shedding ?? false;
  }

  /** The last receive backlog sampled, octets (0 when shedding is off). */
  get receiveBacklog(): number {
    return this.overload?.lastBacklog ?? 0;
  }

  /** The backlog limit in force, octets (0: no shedding); `auto` is resolved at start(). */
  get overloadLimit(): number {
    return this.overload?.limitBytes ?? 0;
  }

  onMessage(handler: MessageHandler): void {
    this.handler = handler;
  }

  listening(): ReadonlyArray<{ transport: SipTransportName; host: string; port: number }> {
    return this.listeners.map((l) => ({ transport: l.transport, host: l.host, port: l.port }));
  }

  /**
   * Via sent-by / Contact host and port for `transport`: the ListenSpec's
   * advertisedHost, else the bound address (a wildcard bind is replaced by
   * the first non-internal interface address). IPv6 comes in brackets.
   */
  sentBy(transport: SipTransportName): { host: string; port: number } {
    const listener = this.listeners.find((l) => l.transport === transport);
    if (listener === undefined) throw new SipTransportError('SIP_ERR_TRANSPORT_UNAVAILABLE', `Not listening on ${transport}`);
    return { host: listener.sentByHost, port: listener.port };
  }

  chooseTransport(destination: SipEndpoint, byteLength: number, transportWasExplicit: boolean): SipTransportName {
    // RFC 3261 §18.1.1: a request over 1300 octets (MTU unknown) needs congestion control.
    if (destination.transport === 'udp' && !transportWasExplicit && byteLength > UDP_SIZE_LIMIT && this.listens('tcp')) return 'tcp';
    return destination.transport;
  }

  /** See SipTransport.send: bytes serialized once by the caller, connection reuse for responses (RFC 3261 §18.2.2). */
  send(data: Buffer, destination: SipEndpoint, onError?: SendErrorHandler, source?: ReceivedFrom): void {
    if (this.state !== 'started') {
      this.reportSendError(new SipTransportError('SIP_ERR_TRANSPORT_CLOSED', `Transport layer is ${this.state}`), onError, destination);
      return;
    }
    if (source?.connectionId !== undefined) {
      const connection = this.pool.get(source.connectionId);
      if (connection !== undefined && !connection.isClosed) {
        this.stats.sent++;
        connection.write(data, onError);
        return;
      }
    }
    const from = source?.transport === 'udp' ? this.udpByLocal(source.localAddress, source.localPort) : undefined;
    this.sendData(data, destination, onError, from);
  }

  /** Open TCP/TLS connections. */
  get connectionCount(): number {
    return this.pool.size;
  }

  /** Closes sockets and connections; resolves when all are closed. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.overload?.stop();
    this.ownScheduler?.close();
    const waits: Promise<void>[] = [];
    for (const stream of this.streamListeners) waits.push(stream.close());
    for (const connection of this.pool.all()) {
      waits.push(connection.whenClosed());
      connection.close(new SipTransportError('SIP_ERR_TRANSPORT_CLOSED', 'Transport layer closed'));
    }
    for (const udp of this.udp) waits.push(udp.close());
    await Promise.all(waits);
  }

  // ---- sending -------------------------------------------------------------

  private sendData(data: Buffer, target: SipEndpoint, onError: SendErrorHandler | undefined, from: UdpTransport | undefined): void {
    if (target.transport === 'udp') {
      const udp = from ?? this.udpFor(target.host);
      if (udp === undefined) {
        this.reportSendError(new SipTransportError('SIP_ERR_TRANSPORT_UNAVAILABLE', 'Not listening on UDP'), onError, target);
        return;
      }
      this.stats.sent++;
      if (this.observer !== undefined) this.observeDatagram('sent', data, udp, unbracket(target.host), target.port);
      udp.send(data, unbracket(target.host), target.port, onError);
      return;
    }
    this.streamSend(data, target, onError);
  }

  private streamSend(data: Buffer, target: SipEndpoint, onError: SendErrorHandler | undefined): void {
    const transport = target.transport === 'tls' ? 'tls' : 'tcp';
    const host = unbracket(target.host);
    const key = connectionKey(transport, host, target.port);
    let connection = this.pool.find(key);
    if (connection === undefined || connection.isClosed) {
      if (this.pool.size >= this.maxConnections) {
        this.stats.connectionsRejected++;
        this.reportSendError(new SipTransportError('SIP_ERR_TRANSPORT_LIMIT', `maxConnections (${this.maxConnections}) reached`), onError, target);
        return;
      }
      let socket: Socket;
      try {
        socket = this.connectorFor(transport).connect(host, target.port);
      } catch (error) {
        this.reportSendError(ioError(error, `Connect to ${key}`), onError, target);
        return;
      }
      connection = new SipConnection(this.nextConnectionId++, transport, socket, true, { host, port: target.port }, this, this.settings[transport]);
      this.pool.add(connection);
      this.pool.alias(connection, key);
      this.stats.connectionsOpened++;
    }
    this.stats.sent++;
    connection.write(data, onError);
  }

  private connectorFor(transport: 'tcp' | 'tls'): StreamTransport {
    let connector = this.connectors.get(transport);
    if (connector === undefined) {
      // Client-only use of a transport we do not listen on.
      connector = new StreamTransport(transport, this, this.tlsClient);
      this.connectors.set(transport, connector);
    }
    return connector;
  }

  private udpFor(host: string): UdpTransport | undefined {
    const family = isIP(unbracket(host)) === 6 ? 6 : 4;
    for (const udp of this.udp) if (udp.family === family) return udp;
    return this.udp[0];
  }

  private udpByLocal(address: string, port: number): UdpTransport | undefined {
    for (const udp of this.udp) if (udp.localPort === port && udp.localAddress === address) return udp;
    return undefined;
  }

  private listens(transport: SipTransportName): boolean {
    return this.listeners.some((l) => l.transport === transport);
  }

  private reportSendError(error: SipTransportError, onError: SendErrorHandler | undefined, target?: SipEndpoint): void {
    this.stats.sendErrors++;
    if (this.diagnostic !== undefined) {
      this.emit({
        kind: 'send-error',
        transport: target?.transport ?? 'udp',
        ...(target !== undefined ? { remoteAddress: target.host, remotePort: target.port } : {}),
        detail: error.message,
        error,
      });
    }
    if (onError === undefined) return;
    // Always asynchronous, so that send() never re-enters its caller.
    queueMicrotask(() => {
      try {
        onError(error);
      } catch (thrown) {
        this.stats.handlerErrors++;
        this.emit({ kind: 'handler-error', transport: target?.transport ?? 'udp', detail: 'send error handler threw', error: thrown });
      }
    });
  }

  // ---- receiving -----------------------------------------------------------

  /** @internal DatagramSink */
  onDatagram(data: Buffer, remoteAddress: string, remotePort: number, from: UdpTransport): void {
    if (this.state === 'closed') return;
    if (isKeepAliveDatagram(data)) {
      this.stats.keepAlivesReceived++;
      return;
    }
    this.stats.received++;
    if (this.observer !== undefined) this.observeDatagram('received', data, from, remoteAddress, remotePort);
    // One source object per remote address and port (shared: a transaction keeps it for Timer J).
    let sources = this.datagramSources.get(from);
    if (sources === undefined) {
      sources = new DatagramSources(from.localAddress, from.localPort);
      this.datagramSources.set(from, sources);
    }
    const source = sources.sourceOf(remoteAddress, remotePort);
    // Both checks before parsing: an overloaded or oversized request costs a header scan, no more.
    if (this.overload?.shedding === true && this.shedDatagram(data, source, from)) return;
    if (data.length > this.udpMaxBytes) {
      this.onTooLarge(data, source, from);
      return;
    }
    let message: SipMessage;
    try {
      message = parseSipMessage(data, this.parseOptions);
    } catch (error) {
      this.onMalformed(data, error, source, undefined, from);
      return;
    }
    this.deliver(message, source);
  }

  /** @internal DatagramSink */
  onSendError(error: SipTransportError, onError: SendErrorHandler | undefined): void {
    this.reportSendError(error, onError);
  }

  /** @internal DatagramSink */
  onSocketError(error: Error, from: UdpTransport): void {
    this.emit({ kind: 'socket-error', transport: 'udp', detail: `UDP ${from.localAddress}:${from.localPort}: ${error.message}`, error });
  }

  /** @internal StreamAcceptor */
  onAccepted(socket: Socket, transport: 'tcp' | 'tls'): void {
    // A socket that died before we saw it would never report 'close'.
    if (socket.destroyed || this.state === 'closed') {
      socket.destroy();
      return;
    }
    if (this.pool.size >= this.maxConnections) {
      // Refused before we kept it: a reset during destroy() concerns nobody (the refusal is reported below).
      socket.on('error', () => {});
      socket.destroy();
      this.stats.connectionsRejected++;
      this.emit({
        kind: 'connection-rejected',
        transport,
        remoteAddress: socket.remoteAddress ?? '',
        remotePort: socket.remotePort ?? 0,
        detail: `maxConnections (${this.maxConnections}) reached`,
      });
      return;
    }
    const remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    const connection = new SipConnection(this.nextConnectionId++, transport, socket, false, remote, this, this.settings[transport]);
    this.pool.add(connection);
    this.pool.alias(connection, connectionKey(transport, connection.remoteAddress, connection.remotePort));
    this.stats.connectionsOpened++;
    this.emitConnection('connection-opened', connection, 'inbound');
  }

  /** @internal StreamAcceptor */
  onListenerError(error: Error, transport: 'tcp' | 'tls', remote?: { address: string; port: number }): void {
    this.emit({
      kind: 'socket-error',
      transport,
      ...(remote !== undefined ? { remoteAddress: remote.address, remotePort: remote.port } : {}),
      detail: `${transport.toUpperCase()} listener: ${error.message}`,
      error,
    });
  }

  /** @internal ConnectionListener */
  onConnectionOpen(connection: SipConnection): void {
    // Also reachable under the address it resolved to (the key it was opened with is a name, maybe).
    this.pool.alias(connection, connectionKey(connection.transport, connection.remoteAddress, connection.remotePort));
    this.emitConnection('connection-opened', connection, 'outbound');
  }

  /** @internal ConnectionListener */
  onConnectionMessage(connection: SipConnection, message: SipMessage): void {
    if (this.state === 'closed') return;
    this.stats.received++;
    if (this.overload?.shedding === true && message.kind === 'request' && message.method !== 'ACK') {
      // Parsed already (the framer parses what it frames): answered 503 from the parsed request.
      this.stats.requestsShed++;
      const response = createResponse(message, 503, 'Service Unavailable', { toTag: this.random.token(10), headers: [['Retry-After', this.retryAfterSeconds]] });
      this.stats.sent++;
      connection.write(serializeSipMessage(response), undefined);
      return;
    }
    this.deliver(message, sourceOf(connection));
  }

  /** @internal ConnectionListener */
  onConnectionInvalidMessage(connection: SipConnection, error: SipParseError, bytes: Uint8Array): void {
    if (this.state === 'closed') return;
    this.stats.received++;
    this.onMalformed(bytes, error, sourceOf(connection), connection, undefined);
  }

  /** @internal ConnectionListener */
  onConnectionKeepAlive(_connection: SipConnection): void {
    this.stats.keepAlivesReceived++;
  }

  /** @internal ConnectionListener */
  onConnectionFramingError(connection: SipConnection, error: unknown): void {
    this.stats.parseErrors++;
    this.stats.malformedDropped++;
    const tooLarge = error instanceof PresenceB2BError && error.code === 'SIP_ERR_PARSE_LIMIT';
    if (tooLarge) this.stats.oversizeMessages++;
    this.emit({
      kind: tooLarge ? 'message-too-large' : 'framing-error',
      transport: connection.transport,
      remoteAddress: connection.remoteAddress,
      remotePort: connection.remotePort,
      connectionId: connection.id,
      detail: `closing connection: ${error instanceof Error ? error.message : String(error)}`,
      error,
    });
  }

  /** @internal ConnectionListener */
  onConnectionClosed(connection: SipConnection, error: SipTransportError | undefined): void {
    this.pool.remove(connection);
    this.stats.connectionsClosed++;
    this.emitConnection('connection-closed', connection, error === undefined ? 'closed' : error.message, error);
  }

  /** @internal ConnectionListener */
  onConnectionLimit(connection: SipConnection, limit: 'idle' | 'message-timeout', error: SipTransportError): void {
    if (limit === 'idle') {
      // A normal end of a connection nobody uses: the connection-closed diagnostic carries the reason.
      this.stats.idleTimeouts++;
      return;
    }
    this.stats.messageTimeouts++;
    this.emitConnection('message-timeout', connection, error.message, error);
  }

  /** @internal ConnectionListener */
  onWriteError(connection: SipConnection, error: SipTransportError, onError: SendErrorHandler | undefined): void {
    this.reportSendError(error, onError, { transport: connection.transport, host: connection.remoteAddress, port: connection.remotePort });
  }

  /** @internal ConnectionListener */
  onConnectionObserved(connection: SipConnection, direction: 'sent' | 'received', bytes: Uint8Array): void {
    const local = { address: connection.localAddress, port: connection.localPort };
    const remote = { address: connection.remoteAddress, port: connection.remotePort };
    this.observe(direction, connection.transport, bytes, local, remote);
  }

  /** Stamps a request's top Via and hands the message up; handler exceptions are contained. */
  private deliver(message: SipMessage, source: ReceivedFrom): void {
    if (message.kind === 'request') {
      const stamped = stampTopVia(message, source.remoteAddress, source.remotePort);
      if (stamped === 'no-via' || stamped === 'bad-via') {
        // The parser validates the top Via, so this is a safety net only.
        this.stats.parseErrors++;
        this.stats.malformedDropped++;
        this.emitFrom('malformed-dropped', source, 'request without a usable Via');
        return;
      }
    }
    const handler = this.handler;
    if (handler === undefined) return;
    try {
      handler(message, source);
    } catch (error) {
      this.stats.handlerErrors++;
      this.emitFrom('handler-error', source, `message handler threw: ${error instanceof Error ? error.message : String(error)}`, error);
    }
  }

  /**
   * A message that does not parse: a request with a Via we can read gets a
   * stateless 400 naming the problem (RFC 3261 §8.2.2, §21.4.1); a response,
   * or anything else, is dropped (RFC 3261 §18.1.2 drops bad responses).
   */
  private onMalformed(data: Uint8Array, error: unknown, source: ReceivedFrom, connection: SipConnection | undefined, from: UdpTransport | undefined): void {
    this.stats.parseErrors++;
    const problem = error instanceof Error ? error.message : 'Malformed message';
    const kind = classifyMalformed(data);
    if (kind === 'response') {
      this.stats.malformedResponsesDropped++;
      this.emitFrom('malformed-response-dropped', source, problem, error);
      return;
    }
    if (kind === 'request') {
      const reply = this.statelessReplyFor(data, source, 400, badRequestReason(problem));
      if (reply !== undefined) {
        this.stats.badRequestsAnswered++;
        this.emitFrom('bad-request-answered', source, problem, error);
        if (connection !== undefined) {
          this.stats.sent++;
          connection.write(reply.bytes, undefined);
        } else {
          this.sendData(reply.bytes, reply.target, undefined, from);
        }
        return;
      }
    }
    this.stats.malformedDropped++;
    this.emitFrom('malformed-dropped', source, problem, error);
  }

  /**
   * A datagram while shedding: a request (ACK aside) is answered `503` with
   * Retry-After from its raw head, without parsing the rest (RFC 3261 §21.5.4:
   * the server is temporarily overloaded; the client retries after
   * Retry-After). Responses and ACKs are not shed (false: handle it as usual):
   * they end transactions and free memory rather than take it.
   */
  private shedDatagram(data: Buffer, source: ReceivedFrom, from: UdpTransport): boolean {
    if (classifyMalformed(data) !== 'request' || requestMethodOf(data) === 'ACK') return false;
    this.stats.requestsShed++;
    const reply = this.statelessReplyFor(data, source, 503, 'Service Unavailable', [this.retryAfterHeader]);
    if (reply !== undefined) {
      this.stats.sent++;
      this.sendData(reply.bytes, reply.target, undefined, from);
    }
    return true;
  }

  /** A datagram over maxMessageBytes.udp: a request gets 513 (RFC 3261 §21.4.12), anything else is dropped. */
  private onTooLarge(data: Buffer, source: ReceivedFrom, from: UdpTransport): void {
    this.stats.parseErrors++;
    this.stats.oversizeMessages++;
    const detail = `${data.length} octets over the ${this.udpMaxBytes}-octet limit`;
    const reply = classifyMalformed(data) === 'request' && requestMethodOf(data) !== 'ACK' ? this.statelessReplyFor(data, source, 513, 'Message Too Large') : undefined;
    if (reply !== undefined) {
      this.stats.sent++;
      this.sendData(reply.bytes, reply.target, undefined, from);
    } else {
      this.stats.malformedDropped++;
    }
    this.emitFrom('message-too-large', source, `${reply !== undefined ? 'answered 513' : 'dropped'}: ${detail}`);
  }

  /**
   * A stateless response built from the raw head of a request (400, 503, 513),
   * or undefined without a usable Via (the caller drops and counts it). Our
   * received/rport go on its top Via, as on any request we hand up (RFC 3261
   * §18.2.1, RFC 3581 §4). Its target is for datagrams; a stream's answer goes
   * back on its connection.
   */
  private statelessReplyFor(data: Uint8Array, source: ReceivedFrom, status: number, reason: string, extra?: readonly string[]): { bytes: Buffer; target: SipEndpoint } | undefined {
    const head = readMalformedRequestHead(data);
    const firstLine = head.vias[0];
    if (firstLine === undefined) return undefined;
    const topElement = firstListElement(firstLine);
    let via: Via;
    try {
      via = parseVia(topElement);
    } catch {
      return undefined;
    }
    const topLine = stampViaText(topElement, via, source.remoteAddress, source.remotePort) + firstLine.slice(topElement.length);
    return { bytes: buildStatelessResponse(head, topLine, status, reason, this.random.token(10), extra), target: responseDestination(via, source) };
  }

  // ---- observing -----------------------------------------------------------

  private observeDatagram(direction: 'sent' | 'received', bytes: Uint8Array, udp: UdpTransport, remoteAddress: string, remotePort: number): void {
    this.observe(direction, 'udp', bytes, { address: this.observedAddressOf(udp), port: udp.localPort }, { address: remoteAddress, port: remotePort });
  }

  /** Our address as a capture shows it: the bound one, or for a wildcard bind the one we advertise. */
  private observedAddressOf(udp: UdpTransport): string {
    if (!isWildcard(udp.localAddress)) return udp.localAddress;
    const listener = this.listeners.find((l) => l.transport === 'udp' && l.port === udp.localPort);
    const advertised = listener === undefined ? '' : unbracket(listener.sentByHost);
    return isIP(advertised) !== 0 ? advertised : udp.localAddress;
  }

  private observe(
    direction: 'sent' | 'received',
    transport: SipTransportName,
    bytes: Uint8Array,
    local: { address: string; port: number },
    remote: { address: string; port: number },
  ): void {
    const observer = this.observer;
    if (observer === undefined) return;
    const [source, destination] = direction === 'sent' ? [local, remote] : [remote, local];
    try {
      observer.observe({
        direction,
        transport,
        sourceAddress: source.address,
        sourcePort: source.port,
        destinationAddress: destination.address,
        destinationPort: destination.port,
        bytes,
      });
    } catch (error) {
      this.stats.handlerErrors++;
      this.emit({ kind: 'handler-error', transport, detail: `message observer threw: ${error instanceof Error ? error.message : String(error)}`, error });
    }
  }

  // ---- diagnostics ---------------------------------------------------------

  private emit(event: TransportDiagnostic): void {
    if (this.diagnostic === undefined) return;
    try {
      this.diagnostic(event);
    } catch {
      // The diagnostic sink itself failed (a broken logger): nobody is left to tell, and
      // the transport must go on. The event was counted in `stats` already where it counts.
    }
  }

  private emitFrom(kind: TransportDiagnostic['kind'], source: ReceivedFrom, detail: string, error?: unknown): void {
    if (this.diagnostic === undefined) return;
    this.emit({
      kind,
      transport: source.transport,
      remoteAddress: source.remoteAddress,
      remotePort: source.remotePort,
      ...(source.connectionId !== undefined ? { connectionId: source.connectionId } : {}),
      detail,
      ...(error !== undefined ? { error } : {}),
    });
  }

  private emitConnection(kind: TransportDiagnostic['kind'], connection: SipConnection, detail: string, error?: unknown): void {
    if (this.diagnostic === undefined) return;
    this.emit({
      kind,
      transport: connection.transport,
      remoteAddress: connection.remoteAddress,
      remotePort: connection.remotePort,
      connectionId: connection.id,
      detail,
      ...(error !== undefined ? { error } : {}),
    });
  }
}

function sourceOf(connection: SipConnection): ReceivedFrom {
  return {
    transport: connection.transport,
    remoteAddress: connection.remoteAddress,
    remotePort: connection.remotePort,
    localAddress: connection.localAddress,
    localPort: connection.localPort,
    connectionId: connection.id,
  };
}

/**
 * A datagram made only of CR, LF, SP, HT or NUL (up to 8 octets): a keep-alive
 * some user agents send over UDP (the CRLFCRLF of RFC 5626 §4.4.1 is for
 * streams; on UDP it is simply ignored, not answered).
 */
function isKeepAliveDatagram(data: Buffer): boolean {
  if (data.length > 8) return false;
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if (c !== 0x0d && c !== 0x0a && c !== 0x20 && c !== 0x09 && c !== 0x00) return false;
  }
  return true;
}

function listenerOf(spec: ListenSpec, boundAddress: string, port: number): Listener {
  const host = spec.advertisedHost ?? (isWildcard(boundAddress) ? interfaceAddress(isIP(boundAddress) === 6 ? 6 : 4) : boundAddress);
  return { transport: spec.transport, host: boundAddress, port, sentByHost: isIP(host) === 6 ? `[${host}]` : host };
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** The first non-internal address of the family, for a wildcard bind without advertisedHost. */
function interfaceAddress(family: 4 | 6): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (!info.internal && (info.family === (family === 6 ? 'IPv6' : 'IPv4')) && !info.address.startsWith('fe80')) return info.address;
    }
  }
  return family === 6 ? '::1' : '127.0.0.1';
}
