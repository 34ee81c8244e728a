/**
 * PUBLISHes presence to Kamailio for the tests with real processes (the crash
 * test, the cluster tests): one publication per record, changed with
 * SIP-If-Match (RFC 3903); `last` holds what each record was last set to,
 * each change with a note `v<n>`, n increasing across the records.
 */
import { createPresenceB2B, type PresenceB2B } from '../../../src/b2b/create-presence-b2b.js';
import { buildPidf } from '../../../src/presence/index.js';
import { createRequest } from '../../../src/sip/codec/index.js';

export interface Published {
  basic: 'open' | 'closed';
  note: string;
}

/** PUBLISHes to Kamailio from a UA of our own: one publication per record, changed with SIP-If-Match (RFC 3903). */
export class Publisher {
  readonly last = new Map<number, Published>();
  private readonly etags = new Map<number, string>();
  private readonly busy = new Set<number>();
  private version = 0;
  failures = 0;
  sent = 0;

  private constructor(
    private readonly ua: PresenceB2B,
    private readonly proxy: string,
    private readonly userBase: number,
    private readonly callIdPrefix: string,
  ) {}

  /** Records are `sip:user<userBase + i>@example.com`: each test its own range, far from the others'. */
  static async start(proxy: string, userBase: number, callIdPrefix: string): Promise<Publisher> {
    const ua = await createPresenceB2B({ listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }], handlePresenceSubscriptions: false });
    return new Publisher(ua, proxy, userBase, callIdPrefix);
  }

  record(i: number): string {
    return `sip:user${this.userBase + i}@example.com`;
  }

  /** Publishes a new state for record `i` unless a PUBLISH for it is in flight; resolves when answered. */
  async publish(i: number, basic: 'open' | 'closed'): Promise<void> {
    if (this.busy.has(i)) return;
    this.busy.add(i);
    try {
      const note = `v${++this.version}`;
      let status = await this.send(i, basic, note, this.etags.get(i));
      // 412: Kamailio no longer knows the entity tag (RFC 3903 §6): publish afresh.
      if (status === 412) status = await this.send(i, basic, note, undefined);
      if (status === 200) this.last.set(i, { basic, note });
      else this.failures++;
    } finally {
      this.busy.delete(i);
    }
  }

  private send(i: number, basic: 'open' | 'closed', note: string, etag: string | undefined): Promise<number> {
    const record = this.record(i);
    const headers: Array<[string, string]> = [
      ['From', `<${record}>;tag=p${i}x${this.version}`],
      ['To', `<${record}>`],
      ['Call-ID', `${this.callIdPrefix}-pub-${i}-${this.version}`],
      ['CSeq', '1 PUBLISH'],
      ['Event', 'presence'],
      ['Expires', '900'],
      ['Content-Type', 'application/pidf+xml'],
    ];
    if (etag !== undefined) headers.push(['SIP-If-Match', etag]);
    const request = createRequest({
      method: 'PUBLISH',
      uri: record,
      headers,
      body: buildPidf({ entity: record, tuples: [{ id: 't1', basic, note }] }),
    });
    this.sent++;
    return new Promise((resolve) => {
      this.ua.ua.sendRequest(
        request,
        {
          onFinal: (response) => {
            const tag = response.headers.get('SIP-ETag');
            if (response.status === 200 && tag !== undefined) this.etags.set(i, tag);
            resolve(response.status);
          },
        },
        { outboundProxy: this.proxy },
      );
    });
  }

  close(): Promise<void> {
    return this.ua.close(1000);
  }
}
