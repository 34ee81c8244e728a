import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import { ioError, SipTransportError } from './errors.js';
import type { SendErrorHandler } from './types.js';

/** Default SO_RCVBUF for our UDP sockets: 4 MiB asked, 8 MiB granted by Linux (doubled), about 3,600 NOTIFYs of 1.3 KB. */
export const DEFAULT_UDP_RECEIVE_BUFFER = 4 * 1024 * 1024;

/** What a UDP socket reports upward (the transport layer). */
export interface DatagramSink {
  onDatagram(data: Buffer, remoteAddress: string, remotePort: number, from: UdpTransport): void;
  /** A datagram could not be sent: count it and tell `onError` (asynchronously) when given. */
  onSendError(error: SipTransportError, onError: SendErrorHandler | undefined): void;
  /** An 'error' event on the socket (e.g. ECONNREFUSED from ICMP); the socket stays open. */
  onSocketError(error: Error, from: UdpTransport): void;
}

/** RFC 768 / IPv4: the largest UDP payload a socket can send. */
const MAX_DATAGRAM = 65_507;

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * The `lookup` of our sockets. dgram passes every destination of `send()` through
 * `dns.lookup`, which answers an IP literal only on the next tick: one closure and one
 * `process.nextTick` per datagram, on the path of every 200 to a NOTIFY. Our destinations
 * are addresses already (RFC 3263 resolution happens above the transport), so an IP
 * literal is answered at once; anything else still goes to `dns.lookup`.
 */
function lookupLiteral(hostname: string, options: LookupOneOptions | number, callback: LookupCallback): void {
  // dns.lookup itself answers a literal with the literal, whatever family was asked for.
  const literal = isIP(hostname);
  if (literal !== 0) {
    callback(null, hostname, literal);
    return;
  }
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}

/**
 * One bound UDP socket (RFC 3261 §18: every UDP listener also sends, so that
 * responses leave from the address and port their requests arrived on, RFC 3581 §4).
 */
export class UdpTransport {
  readonly family: 4 | 6;
  private readonly socket: Socket;
  private bound = false;
  private closed = false;
  private address = '';
  private boundPort = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly sink: DatagramSink,
    /** SO_RCVBUF to ask for; the kernel caps it at net.core.rmem_max; 0 leaves the kernel's default. */
    private readonly receiveBufferBytes = DEFAULT_UDP_RECEIVE_BUFFER,
  ) {
    this.family = isIP(host) === 6 ? 6 : 4;
    this.socket = createSocket({ type: this.family === 6 ? 'udp6' : 'udp4', lookup: lookupLiteral });
    // Without an 'error' listener, an ICMP error surfacing on the socket would kill the process.
    this.socket.on('error', this.handleError);
    this.socket.on('message', this.handleMessage);
  }

  /** Bound address (as requested, e.g. 0.0.0.0) and the real port. */
  get localAddress(): string {
    return this.address;
  }

  get localPort(): number {
    return this.boundPort;
  }

  /** SO_RCVBUF as the kernel set it (Linux doubles what was asked, for its bookkeeping); 0 before binding. */
  get receiveBufferSize(): number {
    if (!this.bound || this.closed) return 0;
    try {
      return this.socket.getRecvBufferSize();
    } catch {
      // Not supported here: no figure to derive a limit from.
      return 0;
    }
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onBindError = (error: Error) => reject(ioError(error, `UDP bind ${this.host}:${this.port}`));
      this.socket.once('error', onBindError);
      this.socket.bind({ address: this.host, port: this.port, exclusive: true }, () => {
        this.socket.off('error', onBindError);
        try {
          // The kernel default (≈208 KB, about 90 NOTIFYs of 1.3 KB: each takes ≈2.3 KB of it on
          // Linux) overflows during a GC pause under a burst, and every datagram dropped there costs
          // a 500 ms retransmission. 0: the kernel's default, as asked.
          if (this.receiveBufferBytes > 0) this.socket.setRecvBufferSize(this.receiveBufferBytes);
        } catch {
          // Not allowed or not supported: keep the default.
        }
        const info = this.socket.address();
        this.address = info.address;
        this.boundPort = info.port;
        this.bound = true;
        resolve();
      });
    });
  }

  /** Sends one datagram; errors go to `onError`, else to the sink. Never throws. */
  send(data: Buffer, host: string, port: number, onError: SendErrorHandler | undefined): void {
    if (!this.bound || this.closed) {
      this.fail(new SipTransportError('SIP_ERR_TRANSPORT_CLOSED', 'UDP socket is not open'), onError);
      return;
    }
    if (data.length > MAX_DATAGRAM) {
      this.fail(new SipTransportError('SIP_ERR_TRANSPORT_LIMIT', `Datagram of ${data.length} octets is too large for UDP`), onError);
      return;
    }
    try {
      // Without a caller handler, one shared callback: no closure per datagram.
      if (onError === undefined) this.socket.send(data, port, host, this.afterUnwatchedSend);
      else
        this.socket.send(data, port, host, (error) => {
          if (error) this.fail(ioError(error, `UDP send to ${host}:${port}`), onError);
        });
    } catch (error) {
      // dgram throws synchronously on a bad port or a closed socket.
      this.fail(ioError(error, `UDP send to ${host}:${port}`), onError);
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (!this.bound) {
      try {
        this.socket.close();
      } catch {
        // never bound: nothing to release
      }
      return Promise.resolve();
    }
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private fail(error: SipTransportError, onError: SendErrorHandler | undefined): void {
    this.sink.onSendError(error, onError);
  }

  private readonly afterUnwatchedSend = (error: Error | null): void => {
    if (error) this.sink.onSendError(ioError(error, 'UDP send'), undefined);
  };

  private readonly handleMessage = (data: Buffer, rinfo: RemoteInfo): void => {
    this.sink.onDatagram(data, rinfo.address, rinfo.port, this);
  };

  private readonly handleError = (error: Error): void => {
    this.sink.onSocketError(error, this);
  };
}
