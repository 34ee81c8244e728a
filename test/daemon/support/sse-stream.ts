/**
 * A Server-Sent Events client for the daemon tests (`status` events with
 * their ids), and a bounded polling wait.
 */
import { request as httpRequest } from 'node:http';

export interface StatusEvent {
  id: number;
  data: {
    sequence: number;
    state: string;
    subscriptionId: string;
    body?: string;
    presence?: { tuples: Array<{ basic?: string; notes: Array<{ text: string }> }> };
  };
}

/** An open SSE stream collecting `status` events. */
export class SseStream {
  readonly events: StatusEvent[] = [];
  /** The data of each `event: gap`. */
  readonly gaps: Array<{ lastEventId: number; reason: string; newestId?: number | null; oldestAvailable?: number | null }> = [];
  private text = '';
  private readonly req: ReturnType<typeof httpRequest>;
  private waiters: Array<() => void> = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.req = httpRequest(url, { headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        this.text += chunk;
        let end = this.text.indexOf('\n\n');
        while (end >= 0) {
          const block = this.text.slice(0, end);
          this.text = this.text.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (/^event: status$/m.test(block) && id !== null && data !== null) {
            this.events.push({ id: Number(id[1]), data: JSON.parse(data[1] ?? '') as StatusEvent['data'] });
            for (const w of this.waiters.splice(0)) w();
          } else if (/^event: gap$/m.test(block) && data !== null) {
            this.gaps.push(JSON.parse(data[1] ?? '') as SseStream['gaps'][number]);
          }
          end = this.text.indexOf('\n\n');
        }
      });
    });
    this.req.on('error', () => undefined);
    this.req.end();
  }

  async waitFor(count: number, timeoutMs = 4000): Promise<StatusEvent[]> {
    const deadline = performance.now() + timeoutMs;
    while (this.events.length < count) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`only ${this.events.length} of ${count} SSE events within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.events;
  }

  close(): void {
    this.req.destroy();
  }
}

/** Polls `probe` every 50 ms until it returns a value; fails after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 4000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
