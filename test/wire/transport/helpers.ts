import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { SipStreamFramer, serializeSipMessage, topVia } from '../../../src/sip/codec/index.js';
import type { SipMessage, SipResponse } from '../../../src/sip/codec/message.js';
import { responseDestination } from '../../../src/sip/transport/response-routing.js';
import { SipTransportLayer } from '../../../src/sip/transport/transport-layer.js';
import type { SipTransportLayerOptions } from '../../../src/sip/transport/transport-options.js';
import type { ListenSpec, ReceivedFrom, SendErrorHandler } from '../../../src/sip/transport/types.js';

/** Upper bound for any single wait on loopback I/O in these tests. */
export const IO_DEADLINE_MS = 3000;

/** Resolves when `check()` is true, polling on I/O turns; rejects after `deadlineMs`. */
export async function until(check: () => boolean, what: string, deadlineMs = IO_DEADLINE_MS): Promise<void> {
  const end = performance.now() + deadlineMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Sends `response` as a server transaction does: to responseDestination() of
 * its top Via and the request's source, handing the source over so that a
 * stream connection is reused (RFC 3261 §18.2.2).
 */
export function respond(layer: SipTransportLayer, response: SipResponse, source: ReceivedFrom, onError?: SendErrorHandler): void {
  layer.send(serializeSipMessage(response), responseDestination(topVia(response), source), onError, source);
}

export interface Received {
  message: SipMessage;
  source: ReceivedFrom;
}

/** A started layer that records what it receives. */
export interface TestLayer {
  layer: SipTransportLayer;
  received: Received[];
  port(transport: 'udp' | 'tcp' | 'tls'): number;
}

export async function startLayer(listen: ListenSpec[], options: Partial<SipTransportLayerOptions> = {}): Promise<TestLayer> {
  const layer = new SipTransportLayer({ ...options, listen });
  const received: Received[] = [];
  layer.onMessage((message, source) => received.push({ message, source }));
  await layer.start();
  return {
    layer,
    received,
    port(transport) {
      const entry = layer.listening().find((l) => l.transport === transport);
      if (entry === undefined) throw new Error(`not listening on ${transport}`);
      return entry.port;
    },
  };
}

/** A raw UDP peer that records every datagram. */
export interface RawUdpPeer {
  socket: DgramSocket;
  port: number;
  datagrams: Buffer[];
  send(data: Buffer | string, port: number): Promise<void>;
  close(): Promise<void>;
}

export async function rawUdpPeer(): Promise<RawUdpPeer> {
  const socket = createSocket('udp4');
  const datagrams: Buffer[] = [];
  socket.on('message', (data) => datagrams.push(data));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    socket,
    port: socket.address().port,
    datagrams,
    send: (data, port) =>
      new Promise((resolve, reject) => socket.send(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, port, '127.0.0.1', (e) => (e ? reject(e) : resolve()))),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** A raw TCP client that frames what it receives into SIP messages and records pongs. */
export interface RawTcpClient {
  socket: Socket;
  messages: SipMessage[];
  raw: Buffer[];
  closed: boolean;
  write(data: Buffer | string): Promise<void>;
  close(): Promise<void>;
}

export async function rawTcpClient(port: number): Promise<RawTcpClient> {
  const socket = connect({ host: '127.0.0.1', port });
  const framer = new SipStreamFramer();
  const client: RawTcpClient = {
    socket,
    messages: [],
    raw: [],
    closed: false,
    write: (data) => new Promise((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve()))),
    close: () =>
      new Promise((resolve) => {
        if (client.closed) resolve();
        else {
          socket.once('close', () => resolve());
          socket.destroy();
        }
      }),
  };
  socket.on('data', (chunk: Buffer) => {
    client.raw.push(chunk);
    try {
      client.messages.push(...framer.push(chunk));
    } catch {
      // the test looks at `raw`
    }
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    client.closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return client;
}

/** A port on 127.0.0.1 where nothing listens (TCP), found by binding and closing. */
export async function closedTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP server that accepts and never says anything (a TLS handshake to it never completes). */
export async function silentTcpServer(): Promise<{ server: Server; port: number; sockets: Socket[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    server,
    port,
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A request as text (CRLF line ends), Content-Length computed from the body. */
export function requestText(options: {
  method?: string;
  via: string;
  callId?: string | null;
  cseq?: string;
  extra?: string[];
  body?: string;
  uri?: string;
}): string {
  const method = options.method ?? 'OPTIONS';
  const body = options.body ?? '';
  const lines = [
    `${method} ${options.uri ?? 'sip:bob@127.0.0.1'} SIP/2.0`,
    `Via: ${options.via}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=a1',
    'To: <sip:bob@example.com>',
  ];
  if (options.callId !== null) lines.push(`Call-ID: ${options.callId ?? 'call-1@example.com'}`);
  lines.push(`CSeq: ${options.cseq ?? `1 ${method}`}`);
  if (options.extra) lines.push(...options.extra);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
