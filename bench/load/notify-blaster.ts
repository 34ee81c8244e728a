/**
 * A NOTIFY generator for floods (bench/flood.ts): in-dialog NOTIFYs on the
 * simulator's dialogs (PresenceServerSim.exportDialogs), sent as fast as one
 * process can. Unlike the simulator it keeps no transaction, never
 * retransmits and sends no answer: each dialog's NOTIFY is serialized once
 * into a Buffer of its own, and a send only patches the varying bytes in
 * place (the CSeq number and the branch, fixed-width decimal) and hands the
 * Buffer to a connected UDP socket, in batches, without a callback per send.
 * A Buffer is patched again only when its dialog comes round again (round
 * robin over hundreds of dialogs), long after the kernel took the datagram.
 * The answers (200, 503) come back to the sending socket and are counted by
 * status code from their first bytes.
 *
 * Why many sockets: on loopback a datagram stays charged to its sender's send
 * buffer until the receiver reads or drops it, and the send buffer is capped
 * by net.core.wmem_max (212,992 bytes here: about 90 NOTIFYs). One socket is
 * therefore held back to the pace at which the B2BUA reads, as soon as its
 * receive queue holds 90 of them; with `sockets` of them (default 64, each
 * with its own port in the Via of its dialogs' NOTIFYs) the generator is held
 * back only once the B2BUA's receive buffer is full, where the kernel drops
 * instead (RcvbufErrors).
 *
 * Several of these may run at once, each on its own share of the dialogs
 * (`index` of `count`: every count-th dialog), so that CSeqs still rise per
 * dialog. CSeqs start at CSEQ_BASE: the simulator's own NOTIFYs after the
 * flood must go above the highest one (PresenceServerSim.raiseCSeq).
 */
import { type Socket, createSocket } from 'node:dgram';
import { serveRpc } from '../harness/child-rpc.js';
import { pidfBody } from './pidf-body.js';
import type { BlastDialog } from './presence-server-sim.js';

/** First CSeq of a blasted NOTIFY (10 digits, room for 10^9 per dialog below 2^31). */
export const CSEQ_BASE = 1_000_000_000;
const DIGITS = 10;

export interface BlastResult {
  offeredRate: number;
  sent: number;
  elapsedMs: number;
  achievedRate: number;
  /** Answers by status code, as received so far. */
  responses: Record<string, number>;
  /** Highest CSeq sent on any dialog. */
  maxCSeq: number;
  /** CPU time of this process during the blast (µs). */
  cpuUs: number;
}

interface Template {
  buffer: Buffer;
  socket: Socket;
  cseqAt: number;
  branchAt: number;
  sends: number;
}

function writeDigits(buffer: Buffer, at: number, value: number): void {
  let v = value;
  for (let i = DIGITS - 1; i >= 0; i--) {
    buffer[at + i] = 48 + (v % 10);
    v = Math.floor(v / 10);
  }
}

const PAD = '0'.repeat(DIGITS);
const RETRY_AFTER = Buffer.from('\r\nRetry-After:');

export class NotifyBlaster {
  private sockets: Socket[] = [];
  private templates: Template[] = [];
  private readonly responses = new Map<number, number>();
  private maxCSeq = 0;
  private checked503 = 0;
  private retryAfter503 = 0;

  async setup(args: { dialogs: BlastDialog[]; index: number; count: number; host: string; sockets?: number }): Promise<{ dialogs: number; sockets: number }> {
    const mine = args.dialogs.filter((_, i) => i % args.count === args.index);
    const first = mine[0];
    if (first === undefined) throw new Error('no dialog to send on');
    const count = Math.max(1, Math.min(args.sockets ?? 64, mine.length));
    for (let k = 0; k < count; k++) {
      const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 8 << 20 });
      socket.on('message', (msg) => {
        // "SIP/2.0 503 …": the status code is bytes 8-10.
        if (msg.length < 12 || msg[0] !== 0x53) return;
        const code = (msg[8]! - 48) * 100 + (msg[9]! - 48) * 10 + (msg[10]! - 48);
        this.responses.set(code, (this.responses.get(code) ?? 0) + 1);
        // Whether the 503s say when to come back (RFC 3261 §21.5.4): the first thousand are read.
        if (code === 503 && this.checked503 < 1000) {
          this.checked503++;
          if (msg.includes(RETRY_AFTER)) this.retryAfter503++;
        }
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, args.host, () => resolve());
      });
      // Every dialog of a run goes to the same B2BUA: connected sockets, no address per send.
      await new Promise<void>((resolve) => socket.connect(first.port, first.host, () => resolve()));
      this.sockets.push(socket);
    }
    this.templates = mine.map((d, i) => {
      const socket = this.sockets[i % count]!;
      const port = socket.address().port;
      const body = pidfBody(d.localUri, 0, 0n, i % 2 === 0);
      const branchPrefix = `z9hG4bKblast${args.index}x${i}x`;
      const head =
        `NOTIFY ${d.target} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${args.host}:${port};branch=${branchPrefix}`;
      const middle =
        ';rport\r\n' +
        'Max-Forwards: 70\r\n' +
        `From: <${d.localUri}>;tag=${d.localTag}\r\n` +
        `To: <${d.remoteUri}>;tag=${d.remoteTag}\r\n` +
        `Call-ID: ${d.callId}\r\n` +
        'CSeq: ';
      const tail =
        ' NOTIFY\r\n' +
        `Contact: ${d.contact}\r\n` +
        'Event: presence\r\n' +
        'Subscription-State: active;expires=3600\r\n' +
        'Content-Type: application/pidf+xml\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
        body;
      const text = head + PAD + middle + PAD + tail;
      const branchAt = Buffer.byteLength(head);
      const cseqAt = branchAt + DIGITS + Buffer.byteLength(middle);
      return { buffer: Buffer.from(text, 'utf8'), socket, cseqAt, branchAt, sends: 0 };
    });
    return { dialogs: this.templates.length, sockets: count };
  }

  /** Sends at `rate`/s for `durationMs` (stops at the time even when behind), in batches of at most `batch`. */
  blast(args: { rate: number; durationMs: number; batch?: number }): Promise<BlastResult> {
    if (this.sockets.length === 0) throw new Error('setup first');
    const templates = this.templates;
    const batch = args.batch ?? 512;
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let sent = 0;
    let next = 0;
    return new Promise((resolve) => {
      const step = (): void => {
        const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
        if (elapsedMs >= args.durationMs) {
          const cpu = process.cpuUsage(cpu0);
          resolve({
            offeredRate: args.rate,
            sent,
            elapsedMs,
            achievedRate: (sent * 1000) / elapsedMs,
            responses: this.responseCounts(),
            maxCSeq: this.maxCSeq,
            cpuUs: cpu.user + cpu.system,
          });
          return;
        }
        let due = Math.floor((args.rate * elapsedMs) / 1000) - sent;
        if (due > batch) due = batch;
        for (let i = 0; i < due; i++) {
          const t = templates[next]!;
          next = next + 1 === templates.length ? 0 : next + 1;
          const cseq = CSEQ_BASE + ++t.sends;
          writeDigits(t.buffer, t.cseqAt, cseq);
          writeDigits(t.buffer, t.branchAt, t.sends);
          t.socket.send(t.buffer);
          if (cseq > this.maxCSeq) this.maxCSeq = cseq;
        }
        sent += due;
        // Behind: again right after I/O (the answers are read meanwhile); on time: the next ms.
        if (due >= batch) setImmediate(step);
        else setTimeout(step, 1);
      };
      step();
    });
  }

  /** Answers by status code; `503+retry-after` and `503-checked`: of the first 503s read, how many had a Retry-After. */
  responseCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [code, n] of this.responses) out[String(code)] = n;
    if (this.checked503 > 0) {
      out['503-checked'] = this.checked503;
      out['503+retry-after'] = this.retryAfter503;
    }
    return out;
  }

  close(): void {
    for (const socket of this.sockets) socket.close();
    this.sockets = [];
  }
}

if (process.argv[1]?.endsWith('notify-blaster.js')) {
  const blaster = new NotifyBlaster();
  serveRpc(
    {
      setup: (a: { dialogs: BlastDialog[]; index: number; count: number; host: string; sockets?: number }) => blaster.setup(a),
      blast: (a: { rate: number; durationMs: number; batch?: number }) => blaster.blast(a),
      responses: () => blaster.responseCounts(),
    },
    () => blaster.close(),
  );
}
