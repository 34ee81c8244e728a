import type { Socket } from 'node:net';
import type { ParseLimits } from '../codec/index.js';
import { SipStreamFramer } from '../codec/index.js';
import type { SipMessage } from '../codec/message.js';
import type { SipParseError } from '../codec/parse-error.js';
import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';
import { ioError, SipTransportError, tlsVerifyError } from './errors.js';
import type { SendErrorHandler } from './types.js';

/** What a connection reports to its owner (the transport layer). */
export interface ConnectionListener {
  onConnectionOpen(connection: SipConnection): void;
  onConnectionMessage(connection: SipConnection, message: SipMessage): void;
  /** A message framed correctly that does not parse (the connection stays usable). */
  onConnectionInvalidMessage(connection: SipConnection, error: SipParseError, bytes: Uint8Array): void;
  onConnectionKeepAlive(connection: SipConnection): void;
  /** The byte stream lost its message boundaries; the connection is being closed. */
  onConnectionFramingError(connection: SipConnection, error: unknown): void;
  /** Always called once, last. `error` says why, when it was not a normal close. */
  onConnectionClosed(connection: SipConnection, error: SipTransportError | undefined): void;
  /** A write failed: count it and report it to `onError` when given. */
  onWriteError(connection: SipConnection, error: SipTransportError, onError: SendErrorHandler | undefined): void;
  /** The octets of one message written or framed (only with `ConnectionSettings.observed`). */
  onConnectionObserved(connection: SipConnection, direction: 'sent' | 'received', bytes: Uint8Array): void;
  /** The connection is being closed for a limit: `idle` (idleTimeoutMs) or `message-timeout` (messageTimeoutMs). */
  onConnectionLimit(connection: SipConnection, limit: 'idle' | 'message-timeout', error: SipTransportError): void;
}

export interface ConnectionSettings {
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  limits: Partial<ParseLimits> | undefined;
  /** A peer that reads slower than this much queued output is dropped (memory bound). */
  maxQueuedBytes: number;
  /** Report each message's octets to `onConnectionObserved` (a SipMessageObserver is installed). */
  observed: boolean;
  /** A message must arrive whole within this long of its first octet (0 = no limit). */
  messageTimeoutMs: number;
  /** The clock of the message timeout. */
  scheduler: TimerScheduler;
}

type State = 'connecting' | 'open' | 'closed';

interface QueuedWrite {
  data: Buffer;
  onError: SendErrorHandler | undefined;
}

const CRLF = Buffer.from('\r\n', 'latin1');
/** Settled once: `.then` on it is the cheapest way to run something after the pending microtasks. */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * One TCP or TLS connection carrying SIP: frames the byte stream into messages
 * (RFC 3261 §18.3), answers CRLFCRLF pings with a CRLF pong (RFC 5626
 * §4.4.1), queues writes until an outgoing connection is established, and
 * closes itself after `idleTimeoutMs` without traffic or `connectTimeoutMs`
 * without being established (Node's per-socket inactivity timer: these are
 * real I/O deadlines, not protocol timers), and when a message started does
 * not arrive whole within `messageTimeoutMs` (on the scheduler's clock).
 */
export class SipConnection {
  readonly transport: 'tcp' | 'tls';
  readonly outbound: boolean;
  remoteAddress: string;
  remotePort: number;
  localAddress = '';
  localPort = 0;
  private state: State;
  private queue: QueuedWrite[] | undefined;
  private closeReason: SipTransportError | undefined;
  private readonly framer: SipStreamFramer;
  private closeWaiters: Array<() => void> | undefined;
  /** Armed while part of a message is held: the peer has messageTimeoutMs to send the rest. */
  private messageDeadline: Timer | undefined;
  /** A microtask will hand on the next message framed (see handOn). */
  private handOnScheduled = false;
  /** A message was handed on since the message deadline was last decided. */
  private framedSinceDeadline = false;
  /** The socket is corked while a read's messages are handed on (see handOn). */
  private corked = false;

  constructor(
    readonly id: number,
    transport: 'tcp' | 'tls',
    private readonly socket: Socket,
    outbound: boolean,
    remote: { host: string; port: number },
    private readonly listener: ConnectionListener,
    private readonly settings: ConnectionSettings,
  ) {
    this.transport = transport;
    this.outbound = outbound;
    this.remoteAddress = remote.host;
    this.remotePort = remote.port;
    this.framer = new SipStreamFramer({
      limits: settings.limits,
      onKeepAlive: (kind) => {
        if (kind === 'ping') this.answerPing();
      },
      onInvalidMessage: (error, bytes) => this.listener.onConnectionInvalidMessage(this, error, bytes),
      ...(settings.observed ? { onMessageBytes: (bytes: Uint8Array) => this.listener.onConnectionObserved(this, 'received', bytes) } : {}),
    });
    socket.setNoDelay(true);
    socket.on('data', this.handleData);
    socket.on('error', this.handleError);
    socket.on('close', this.handleClose);
    socket.on('timeout', this.handleTimeout);
    if (outbound) {
      this.state = 'connecting';
      this.queue = [];
      socket.setTimeout(settings.connectTimeoutMs);
      socket.once(transport === 'tls' ? 'secureConnect' : 'connect', this.handleConnected);
    } else {
      this.state = 'open';
      this.readAddresses();
      socket.setTimeout(settings.idleTimeoutMs);
    }
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Writes one serialized message (queued while connecting). Errors go to the listener, never thrown. */
  write(data: Buffer, onError: SendErrorHandler | undefined): void {
    if (this.state === 'connecting') {
      this.queue!.push({ data, onError });
      return;
    }
    if (this.state === 'closed') {
      this.listener.onWriteError(this, new SipTransportError('SIP_ERR_TRANSPORT_CLOSED', `Connection ${this.describe()} is closed`), onError);
      return;
    }
    this.writeNow(data, onError);
  }

  /** Closes now; queued writes fail with `reason` (or SIP_ERR_TRANSPORT_CLOSED). */
  close(reason?: SipTransportError): void {
    if (this.state === 'closed') return;
    if (reason !== undefined && this.closeReason === undefined) this.closeReason = reason;
    this.socket.destroy();
  }

  /** Resolves once the socket has closed. */
  whenClosed(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      this.closeWaiters ??= [];
      this.closeWaiters.push(resolve);
    });
  }

  /** `transport:address:port` of the peer, for messages. */
  describe(): string {
    return `${this.transport}:${this.remoteAddress}:${this.remotePort}`;
  }

  private writeNow(data: Buffer, onError: SendErrorHandler | undefined): void {
    if (this.socket.writableLength > this.settings.maxQueuedBytes) {
      const error = new SipTransportError('SIP_ERR_TRANSPORT_LIMIT', `Peer ${this.describe()} is not reading; connection dropped`);
      this.listener.onWriteError(this, error, onError);
      this.close(error);
      return;
    }
    // Here, not in write(): an outgoing connection knows its addresses only once established.
    if (this.settings.observed) this.listener.onConnectionObserved(this, 'sent', data);
    if (onError === undefined) this.socket.write(data);
    else
      this.socket.write(data, (error) => {
        if (error) this.listener.onWriteError(this, ioError(error, `Write to ${this.describe()}`), onError);
      });
  }

  private answerPing(): void {
    this.listener.onConnectionKeepAlive(this);
    if (this.state === 'open') this.socket.write(CRLF);
  }

  private readAddresses(): void {
    if (this.socket.remoteAddress !== undefined) this.remoteAddress = this.socket.remoteAddress;
    if (this.socket.remotePort !== undefined) this.remotePort = this.socket.remotePort;
    this.localAddress = this.socket.localAddress ?? '';
    this.localPort = this.socket.localPort ?? 0;
  }

  private readonly handleConnected = (): void => {
    if (this.state !== 'connecting') return;
    this.state = 'open';
    this.readAddresses();
    this.socket.setTimeout(this.settings.idleTimeoutMs);
    this.listener.onConnectionOpen(this);
    const queued = this.queue ?? [];
    this.queue = undefined;
    for (const item of queued) this.write(item.data, item.onError);
  };

  private readonly handleData = (chunk: Buffer): void => {
    try {
      this.framer.write(chunk);
    } catch (error) {
      this.failFraming(error);
      return;
    }
    if (!this.handOnScheduled) this.handOn();
  };

  /**
   * Hands each message on as soon as it is framed, before the next one is
   * parsed: under backlog one read holds dozens of messages, and the first
   * must not wait for the parsing of the others. Between two messages the
   * microtask queue runs (what handling the first set in motion: a queue's
   * consumer awaiting it, a promise continuation), as it does between two
   * datagrams over UDP; a socket's next read cannot come in between, so the
   * order of messages and of reads is kept.
   */
  private readonly handOn = (): void => {
    this.handOnScheduled = false;
    let handedOn = false;
    try {
      for (;;) {
        if (this.state === 'closed') return;
        let message: SipMessage | undefined;
        try {
          message = this.framer.next();
        } catch (error) {
          this.failFraming(error);
          return;
        }
        if (message === undefined) break;
        this.framedSinceDeadline = true;
        if (!this.corked && this.framer.bufferedBytes > 0) {
          // More octets of this read wait behind this message: what is written in answer to the
          // messages of the read (their 200s) is gathered and written at once when the last of
          // them has been handled (one writev, not one write per response). No answer waits
          // beyond the end of the read; a read with one message is written as before.
          this.socket.cork();
          this.corked = true;
        }
        this.listener.onConnectionMessage(this, message);
        if (this.framer.bufferedBytes > 0) {
          this.handOnScheduled = true;
          handedOn = true;
          // A reaction on a settled promise: 30-70 ns a hop here, queueMicrotask 110-290 ns (it makes an AsyncResource).
          void SETTLED.then(this.handOn);
          return;
        }
      }
    } finally {
      // Every way out but the hop to the next message ends the read: a handler that threw, a
      // framing error, the connection closed, or nothing whole left.
      if (!handedOn) this.uncork();
    }
    // Usually whole messages per read and nothing held: one comparison. A message held in part
    // (re)starts the deadline when it is new, i.e. when none was armed or this read finished another.
    if (this.framer.bufferedBytes > 0) {
      if (this.messageDeadline === undefined || this.framedSinceDeadline) this.armMessageDeadline();
    } else if (this.messageDeadline !== undefined) {
      this.messageDeadline.cancel();
      this.messageDeadline = undefined;
    }
    this.framedSinceDeadline = false;
  };

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private failFraming(error: unknown): void {
    // RFC 3261 §18.3: without a trustworthy Content-Length the stream cannot be resynchronised.
    this.listener.onConnectionFramingError(this, error);
    this.close(new SipTransportError('SIP_ERR_TRANSPORT_CLOSED', `Framing error on ${this.describe()}`, { cause: error }));
  }

  /**
   * A peer that sends a message a few octets at a time would hold this
   * connection (and its slot under maxConnections) as long as it likes: the
   * rest of the message must come within messageTimeoutMs (as Kamailio's
   * tcp_msg_read_timeout), or the connection is closed.
   */
  private armMessageDeadline(): void {
    this.messageDeadline?.cancel();
    this.messageDeadline = undefined;
    const limit = this.settings.messageTimeoutMs;
    if (limit <= 0 || this.state === 'closed') return;
    try {
      this.messageDeadline = this.settings.scheduler.after(limit, this.handleMessageTimeout);
    } catch {
      // The scheduler is closed (shutdown): the connection is about to close anyway.
      this.messageDeadline = undefined;
    }
  }

  private readonly handleMessageTimeout = (): void => {
    this.messageDeadline = undefined;
    if (this.state === 'closed') return;
    const error = new SipTransportError(
      'SIP_ERR_TRANSPORT_MESSAGE_TIMEOUT',
      `No whole message from ${this.describe()} within ${this.settings.messageTimeoutMs} ms of its first octet (${this.framer.bufferedBytes} octets held)`,
    );
    this.listener.onConnectionLimit(this, 'message-timeout', error);
    this.close(error);
  };

  private readonly handleError = (error: Error): void => {
    // 'close' follows; remember why. A certificate refused during our handshake is a failure of its
    // own (SIP_ERR_TRANSPORT_TLS_VERIFY), so that the layers above can say so, not just "I/O error".
    if (this.closeReason !== undefined) return;
    const verify = this.transport === 'tls' && this.outbound && this.state === 'connecting' ? tlsVerifyError(error, `TLS to ${this.describe()}`) : undefined;
    this.closeReason = verify ?? ioError(error, `Connection ${this.describe()}`);
  };

  private readonly handleTimeout = (): void => {
    if (this.state === 'connecting') {
      this.close(new SipTransportError('SIP_ERR_TRANSPORT_CONNECT_TIMEOUT', `No connection to ${this.describe()} within ${this.settings.connectTimeoutMs} ms`));
    } else {
      // Idle: nothing in flight; the reason is for the diagnostic, no write is waiting.
      const error = new SipTransportError('SIP_ERR_TRANSPORT_IDLE', `Connection ${this.describe()} idle for ${this.settings.idleTimeoutMs} ms`);
      this.listener.onConnectionLimit(this, 'idle', error);
      this.close(error);
    }
  };

  private readonly handleClose = (): void => {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.messageDeadline?.cancel();
    this.messageDeadline = undefined;
    const reason = this.closeReason;
    const queued = this.queue ?? [];
    this.queue = undefined;
    const failure = reason ?? new SipTransportError('SIP_ERR_TRANSPORT_CLOSED', `Connection ${this.describe()} closed`);
    for (const item of queued) this.listener.onWriteError(this, failure, item.onError);
    this.listener.onConnectionClosed(this, reason);
    const waiters = this.closeWaiters ?? [];
    this.closeWaiters = undefined;
    for (const resolve of waiters) resolve();
  };
}
