/** A plain UDP socket on 127.0.0.1 that records every datagram it gets (not a test file itself). */
import { createSocket, type Socket } from 'node:dgram';

export class DatagramPeer {
  readonly received: Array<{ data: Buffer; port: number }> = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (data, rinfo) => {
      this.received.push({ data: Buffer.from(data), port: rinfo.port });
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  static async bind(): Promise<DatagramPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    return new DatagramPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(data: Buffer | string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }

  /** Resolves once `count` datagrams have arrived; rejects after a real-time I/O deadline (a safety net, not a protocol timer). */
  async waitFor(count: number, deadlineMs = 3000): Promise<void> {
    const started = Date.now();
    while (this.received.length < count) {
      const remaining = deadlineMs - (Date.now() - started);
      if (remaining <= 0) throw new Error(`DatagramPeer: ${this.received.length} datagrams, expected ${count}`);
      await new Promise<void>((resolve) => {
        const guard = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(guard);
          resolve();
        });
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
