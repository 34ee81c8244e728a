/**
 * A userspace lossy UDP relay between the B2BUA and a real SIP server, for
 * the loss tests (the kernel's netem is not available here): every datagram,
 * in both directions, is dropped with probability `lossRate`, decided by a
 * seeded generator, so that a run can be told again. Loopback only.
 *
 *   B2BUA (udp E) ──▶ R1 ─┐         ┌─▶ server (udp S)
 *                         relay ────┤
 *   B2BUA (udp E) ◀── R1 ◀┘         └── R2 ◀── server
 *
 * The B2BUA uses R1 as its outbound proxy (its refreshes too). To make the
 * server's traffic pass the relay as well, the relay rewrites two things and
 * nothing else: the Contact of the B2BUA's requests (127.0.0.1:E → R2), so
 * that the server's NOTIFYs come to R2; and the top Via of the server's
 * requests (its sent-by → R1), so that the B2BUA's answers come to R1, where
 * the Via is put back before they go on. The server answers our requests at
 * the source address (rport), R2. Header lengths change, bodies do not, so
 * Content-Length stays right.
 *
 * A datagram seen twice in a direction (same start line, top Via and CSeq)
 * is counted as a retransmission.
 */
import { createSocket, type Socket } from 'node:dgram';
import { SeededRandom } from '../../src/util/random.js';
import type { PeerAddress } from './peers.js';

export interface DirectionStats {
  /** Datagrams that arrived at the relay. */
  received: number;
  forwarded: number;
  dropped: number;
  /** Datagrams that repeat one seen before in this direction (start line, top Via, CSeq). */
  retransmissions: number;
}

export interface LossyUdpRelay {
  /** Where the B2BUA sends (its presence_outbound_proxy). */
  readonly clientSide: PeerAddress;
  readonly toServer: DirectionStats;
  readonly toClient: DirectionStats;
  close(): Promise<void>;
}

function emptyStats(): DirectionStats {
  return { received: 0, forwarded: 0, dropped: 0, retransmissions: 0 };
}

async function bound(): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  // The kernel default (≈208 KB) would drop a burst of 200 SUBSCRIBEs on its own: the
  // only loss must be the relay's, at the rate asked for.
  socket.setRecvBufferSize(4 * 1024 * 1024);
  return { socket, port: socket.address().port };
}

/** The identity of a datagram for retransmission counting. */
function fingerprint(text: string): string {
  const firstLine = text.slice(0, text.indexOf('\r\n'));
  const via = /^(?:Via|v):[^\r\n]*/im.exec(text)?.[0] ?? '';
  const cseq = /^CSeq:[^\r\n]*/im.exec(text)?.[0] ?? '';
  return `${firstLine}\n${via}\n${cseq}`;
}

function isRequest(text: string): boolean {
  return !text.startsWith('SIP/2.0 ');
}

/** The sent-by host:port of the first Via line. */
function topViaSentBy(text: string): string | undefined {
  return /^(?:Via|v):\s*SIP\/2\.0\/UDP\s+([^;\s]+)/im.exec(text)?.[1];
}

export async function startLossyUdpRelay(options: { server: PeerAddress; lossRate: number; seed: number }): Promise<LossyUdpRelay> {
  const random = new SeededRandom(options.seed);
  const r1 = await bound();
  const r2 = await bound();
  const toServer = emptyStats();
  const toClient = emptyStats();
  const seenToServer = new Set<string>();
  const seenToClient = new Set<string>();
  /** The B2BUA's socket, learnt from its first datagram. */
  let client: PeerAddress | undefined;
  const server = options.server;
  const serverSentBy = `${server.host}:${server.port}`;
  const relaySentBy = `127.0.0.1:${r1.port}`;

  const pass = (stats: DirectionStats, seen: Set<string>, text: string): boolean => {
    stats.received++;
    const key = fingerprint(text);
    if (seen.has(key)) stats.retransmissions++;
    else seen.add(key);
    if (random.next() < options.lossRate) {
      stats.dropped++;
      return false;
    }
    stats.forwarded++;
    return true;
  };

  r1.socket.on('message', (data, rinfo) => {
    client ??= { host: rinfo.address, port: rinfo.port };
    let text = data.toString('latin1');
    if (!pass(toServer, seenToServer, text)) return;
    if (isRequest(text)) {
      // Our Contact → R2: the server's requests in this dialog come through the relay.
      const ours = `${client.host}:${client.port}`;
      text = text.replace(/^(Contact|m):([^\r\n]*)$/gim, (line) => line.split(ours).join(`127.0.0.1:${r2.port}`));
    } else if (topViaSentBy(text) === relaySentBy) {
      // An answer to one of the server's requests: its own Via back.
      text = text.replace(relaySentBy, serverSentBy);
    }
    r2.socket.send(Buffer.from(text, 'latin1'), server.port, server.host);
  });

  r2.socket.on('message', (data) => {
    let text = data.toString('latin1');
    if (!pass(toClient, seenToClient, text) || client === undefined) return;
    if (isRequest(text) && topViaSentBy(text) === serverSentBy) text = text.replace(serverSentBy, relaySentBy);
    r1.socket.send(Buffer.from(text, 'latin1'), client.port, client.host);
  });

  return {
    clientSide: { host: '127.0.0.1', port: r1.port },
    toServer,
    toClient,
    close: async () => {
      await Promise.all([r1, r2].map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}
