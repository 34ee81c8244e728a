import { createServer as createTcpServer, isIP, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { type ConnectionOptions, createServer as createTlsServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { InvalidOptionError } from '../../util/invalid-option-error.js';
import { ioError } from './errors.js';
import type { ListenSpec } from './types.js';

/** TLS material for connections we open. */
export interface TlsClientSettings {
  ca?: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  rejectUnauthorized?: boolean;
}

/** What a stream listener reports upward. */
export interface StreamAcceptor {
  /** A new inbound connection, ready for SIP (TLS handshake done). */
  onAccepted(socket: Socket, transport: 'tcp' | 'tls'): void;
  /** Errors that concern no connection we keep: listener errors, failed TLS handshakes. */
  onListenerError(error: Error, transport: 'tcp' | 'tls', remote?: { address: string; port: number }): void;
}

/**
 * A TCP or TLS listening socket (RFC 3261 §18: a stream listener that
 * accepts connections carrying SIP), and the factory of outgoing connections
 * of the same transport.
 */
export class StreamTransport {
  private server: Server | undefined;
  private address = '';
  private boundPort = 0;

  constructor(
    readonly transport: 'tcp' | 'tls',
    private readonly acceptor: StreamAcceptor,
    private readonly client: TlsClientSettings,
  ) {}

  get localAddress(): string {
    return this.address;
  }

  get localPort(): number {
    return this.boundPort;
  }

  listen(spec: ListenSpec): Promise<void> {
    const server = this.createServer(spec);
    this.server = server;
    return new Promise((resolve, reject) => {
      const onListenError = (error: Error) => reject(ioError(error, `${this.transport.toUpperCase()} listen ${spec.host}:${spec.port}`));
      server.once('error', onListenError);
      server.listen({ host: spec.host, port: spec.port, exclusive: true }, () => {
        server.off('error', onListenError);
        // Later listener errors (EMFILE on accept, …) must not kill the process.
        server.on('error', (error) => this.acceptor.onListenerError(error, this.transport));
        const info = server.address();
        if (info !== null && typeof info === 'object') {
          this.address = info.address;
          this.boundPort = info.port;
        }
        resolve();
      });
    });
  }

  /** Starts an outgoing connection; it reports 'connect' / 'secureConnect' or 'error' + 'close'. */
  connect(host: string, port: number): Socket {
    if (this.transport === 'tcp') return tcpConnect({ host, port });
    const options: ConnectionOptions = { host, port };
    // SNI only for names (RFC 6066 §3 forbids literal addresses); identity is checked against `host` either way.
    if (isIP(host) === 0) options.servername = host;
    if (this.client.ca !== undefined) options.ca = this.client.ca;
    if (this.client.cert !== undefined) options.cert = this.client.cert;
    if (this.client.key !== undefined) options.key = this.client.key;
    if (this.client.rejectUnauthorized !== undefined) options.rejectUnauthorized = this.client.rejectUnauthorized;
    return tlsConnect(options);
  }

  /** Stops accepting; open connections are closed by their owner. */
  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined || !server.listening) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  private createServer(spec: ListenSpec): Server {
    if (this.transport === 'tcp') {
      return createTcpServer({ noDelay: true }, (socket) => this.acceptor.onAccepted(socket, 'tcp'));
    }
    const tls = spec.tls;
    if (tls === undefined) {
      throw new InvalidOptionError({ option: `listen (tls ${spec.host}:${spec.port}).tls`, message: 'expected { key, cert } for a TLS listener, got nothing' });
    }
    const server = createTlsServer({
      key: tls.key,
      cert: tls.cert,
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      // Ask for a client certificate only when a CA to verify it against is given.
      requestCert: tls.ca !== undefined,
      rejectUnauthorized: tls.ca !== undefined && (tls.rejectUnauthorized ?? false),
    });
    server.on('secureConnection', (socket: TLSSocket) => this.acceptor.onAccepted(socket, 'tls'));
    server.on('tlsClientError', (error: Error, socket: TLSSocket) =>
      this.acceptor.onListenerError(error, 'tls', { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 }),
    );
    return server;
  }
}
