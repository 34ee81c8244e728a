/**
 * Ports for the "nothing left bound" checks: a port free for both UDP and TCP
 * on 127.0.0.1, and a check that binds it again at once (exclusively), which
 * fails with EADDRINUSE while any socket of ours still holds it.
 */
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

function listenTcp(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => resolve(server));
  });
}

function closeTcp(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function bindUdp(port: number): Promise<() => Promise<void>> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', (error) => {
      socket.close();
      reject(error);
    });
    socket.bind({ address: '127.0.0.1', port, exclusive: true }, () =>
      resolve(() => new Promise<void>((done) => socket.close(() => done()))),
    );
  });
}

/** A port that was free for UDP and TCP on 127.0.0.1 a moment ago (bounded tries). */
export async function freeUdpTcpPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const server = await listenTcp(0);
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const closeUdp = await bindUdp(port);
      await closeUdp();
      await closeTcp(server);
      return port;
    } catch {
      // The UDP side of that port is taken: try another.
      await closeTcp(server);
    }
  }
  throw new Error('no port free for both UDP and TCP after 20 tries');
}

/** Binds `port` on 127.0.0.1 for UDP and TCP, then releases it: rejects (EADDRINUSE) when something still holds it. */
export async function assertPortFree(port: number): Promise<void> {
  const server = await listenTcp(port);
  await closeTcp(server);
  const closeUdp = await bindUdp(port);
  await closeUdp();
}

/** Holds a TCP port on 127.0.0.1 until the returned function is called. */
export async function occupyTcpPort(port = 0): Promise<{ port: number; release: () => Promise<void> }> {
  const server = await listenTcp(port);
  const address = server.address();
  return { port: typeof address === 'object' && address !== null ? address.port : 0, release: () => closeTcp(server) };
}
