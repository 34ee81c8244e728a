/**
 * The load generator: a presence server simulator, run as its own process on
 * core 0 (`taskset -c 0`), spoken to by the bench runner over the Node IPC
 * channel (ops below), or run standalone printing one JSON stats line a second:
 *
 *   node dist/bench/load/presence-server-sim.js --port 5090 [--transport udp,tcp] [--max-expires 3600]
 *
 * It answers SUBSCRIBE with 200 (+ To-tag, Expires) and at once sends the
 * NOTIFY RFC 6665 §4.2.1 requires; refreshes get 200 + NOTIFY, Expires: 0 gets
 * 200 + a terminated NOTIFY and the dialog is forgotten. On command it sends
 * in-dialog NOTIFYs with PIDF bodies at a set rate (round robin over the live
 * dialogs), storms (one NOTIFY on every dialog within a spread), "restarts"
 * (terminated;reason=deactivated on every dialog, then forgets them), and
 * blasts out-of-dialog NOTIFYs at another target (Kamailio's stateless sink).
 *
 * Every NOTIFY gets a global sequence number `g` carried in the PIDF tuple id
 * together with the monotonic send time (pidf-body.ts); `expected[g]` says
 * whether the SUT must turn it into exactly one status message (1) or may
 * (2: terminating NOTIFYs). UDP NOTIFYs are retransmitted per RFC 3261
 * §17.1.2.2 (Timer E from T1 = 500 ms doubling to T2 = 4 s, Timer F = 32 s).
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { serveRpc } from '../harness/child-rpc.js';
import { maxInAnySecond } from '../harness/rate-window.js';
import { pidfBody } from './pidf-body.js';
import { type LiteMessage, StreamFramer, buildResponse, headerParam, hostPortOf, parseLite, uriOf } from './sip-lite.js';

type Transport = 'udp' | 'tcp';

interface Dest {
  transport: Transport;
  host: string;
  port: number;
}

interface SimDialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  /** The record (To URI of the SUBSCRIBE): From of our NOTIFYs and the PIDF entity. */
  localUri: string;
  /** The subscriber (From URI of the SUBSCRIBE): To of our NOTIFYs. */
  remoteUri: string;
  /** Request-URI of our NOTIFYs: the subscriber's Contact (RFC 3261 §12.1.1). */
  target: string;
  dest: Dest;
  cseq: number;
  /** Monotonic ms when the subscription expires. */
  expiresAt: number;
  open: boolean;
  /** Position in its list (live or fake), -1 when not listed. */
  listPos: number;
  fake: boolean;
}

/** What a NOTIFY generator of its own needs of one dialog (exportDialogs). */
export interface BlastDialog {
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: string;
  remoteUri: string;
  target: string;
  host: string;
  port: number;
  /** Contact of our NOTIFYs (so that a blasted NOTIFY refreshes the target to the same value). */
  contact: string;
}

interface NotifyTx {
  branch: string;
  text: string;
  dest: Dest;
  nextAt: number;
  interval: number;
  timeoutAt: number;
  done: boolean;
}

/** Counters reported by `stats`. */
export interface SimStats {
  subscribes: number;
  initialSubscribes: number;
  refreshes: number;
  unsubscribes: number;
  subscribeRetransmissions: number;
  subscribe481: number;
  notifiesSent: number;
  notifyRetransmissions: number;
  notifyTimeouts: number;
  notifyResponses: Record<string, number>;
  strayResponses: number;
  sendErrors: number;
  liveDialogs: number;
  nextSeq: number;
  pendingTransactions: number;
}

export interface RateResult {
  offeredRate: number;
  sent: number;
  seqFrom: number;
  seqTo: number;
  elapsedMs: number;
  achievedRate: number;
  /** With `timeline`: the generator in 10 ms buckets from `startNs` (monotonic, as the SUT's fine timeline). */
  timeline?: GeneratorTimeline;
}

/**
 * What the generator did per 10 ms: NOTIFYs sent, retransmissions sent, and how late its sends ran
 * against its schedule (the k-th NOTIFY is due at k / rate): a generator that stalls then sends a burst,
 * which the SUT sees as a burst although every NOTIFY is stamped when it is actually sent.
 */
export interface GeneratorTimeline {
  bucketMs: number;
  startNs: number;
  sent: number[];
  retransmitted: number[];
  lateMaxMs: number[];
  /** The largest number of NOTIFYs sent in one turn of the pacing loop (a burst). */
  burstMax?: number[];
  /** The generator's own GC pauses that started in the bucket (ms; from a PerformanceObserver). */
  gcMs?: number[];
}

const GENERATOR_BUCKET_MS = 10;
const GENERATOR_BUCKETS = 6000;

const T1 = 500;
const T2 = 4000;
const TIMER_F = 64 * T1;

/** A FIFO of transactions sharing one retransmission interval, so deadlines come out in order. */
class TxFifo {
  private items: NotifyTx[] = [];
  private head = 0;
  push(tx: NotifyTx): void {
    this.items.push(tx);
  }
  peek(): NotifyTx | undefined {
    return this.items[this.head];
  }
  shift(): void {
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
  get size(): number {
    return this.items.length - this.head;
  }
}

export interface SimOptions {
  host: string;
  port: number;
  transports: Transport[];
  /** Longest Expires granted; shorter requests are granted as asked. */
  maxExpires: number;
}

export class PresenceServerSim {
  private readonly opts: SimOptions;
  private udp: dgram.Socket | undefined;
  private tcpServer: net.Server | undefined;
  private readonly outbound = new Map<string, net.Socket>();
  private readonly inbound = new Set<net.Socket>();
  private readonly dialogs = new Map<string, SimDialog>();
  private live: SimDialog[] = [];
  private fake: SimDialog[] = [];
  private rrLive = 0;
  private rrFake = 0;
  private readonly txs = new Map<string, NotifyTx>();
  /** Retransmission FIFOs per interval (500, 1000, 2000, 4000 ms) and the Timer F FIFO. */
  private readonly retrans = [new TxFifo(), new TxFifo(), new TxFifo(), new TxFifo()];
  private readonly timeouts = new TxFifo();
  /** Responses to SUBSCRIBE by branch, for absorbing retransmitted SUBSCRIBEs (RFC 3261 §17.2.2). */
  private readonly answered = new Map<string, { text: string; at: number }>();
  private answeredOrder: string[] = [];
  private answeredHead = 0;
  private expected = new Uint8Array(1 << 20);
  private seq = 0;
  private branchSeq = 0;
  private readonly branchPrefix = `z9hG4bKsim${randomBytes(3).toString('hex')}`;
  private tagSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Arrival times (ms) of new SUBSCRIBE requests (retransmissions left out) while recording. */
  private subscribeArrivals: number[] | undefined;
  readonly stats: SimStats = {
    subscribes: 0,
    initialSubscribes: 0,
    refreshes: 0,
    unsubscribes: 0,
    subscribeRetransmissions: 0,
    subscribe481: 0,
    notifiesSent: 0,
    notifyRetransmissions: 0,
    notifyTimeouts: 0,
    notifyResponses: {},
    strayResponses: 0,
    sendErrors: 0,
    liveDialogs: 0,
    nextSeq: 0,
    pendingTransactions: 0,
  };

  constructor(opts: SimOptions) {
    this.opts = opts;
  }

  /** Monotonic ms for the simulator's own timers (no allocation, unlike hrtime.bigint). */
  private nowMs(): number {
    return performance.now();
  }

  async start(): Promise<{ port: number }> {
    let port = this.opts.port;
    if (this.opts.transports.includes('udp')) {
      const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
      sock.on('message', (buf, rinfo) => this.onDatagram(buf, rinfo));
      sock.on('error', () => this.stats.sendErrors++);
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(port, this.opts.host, () => resolve());
      });
      port = sock.address().port;
      this.udp = sock;
    }
    if (this.opts.transports.includes('tcp')) {
      const server = net.createServer((s) => this.onInboundConnection(s));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.opts.host, () => resolve());
      });
      const addr = server.address();
      if (typeof addr === 'object' && addr !== null) port = addr.port;
      this.tcpServer = server;
    }
    this.opts.port = port;
    this.timer = setInterval(() => this.onTick(), 10);
    return { port };
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    for (const s of this.outbound.values()) s.destroy();
    for (const s of this.inbound) s.destroy();
    if (this.tcpServer !== undefined) await new Promise<void>((r) => this.tcpServer?.close(() => r()));
    if (this.udp !== undefined) await new Promise<void>((r) => this.udp?.close(() => r()));
  }

  // ------------------------------------------------------------------ receive

  private onDatagram(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    const msg = parseLite(buf.toString('latin1'));
    if (msg === undefined) return;
    this.onMessage(msg, (text) => this.udp?.send(text, rinfo.port, rinfo.address, (e) => e && this.stats.sendErrors++), 'udp');
  }

  private onInboundConnection(sock: net.Socket): void {
    this.inbound.add(sock);
    sock.setNoDelay(true);
    const framer = new StreamFramer();
    sock.on('data', (chunk) =>
      framer.push(chunk, (text) => {
        const msg = parseLite(text);
        if (msg !== undefined) this.onMessage(msg, (t) => sock.write(t), 'tcp');
      }),
    );
    sock.on('error', () => undefined);
    sock.on('close', () => this.inbound.delete(sock));
  }

  private onMessage(msg: LiteMessage, reply: (text: string) => void, arrivedOn: Transport): void {
    if (!msg.isRequest) {
      this.onResponse(msg);
      return;
    }
    if (msg.method === 'SUBSCRIBE') this.onSubscribe(msg, reply, arrivedOn);
    else if (msg.method === 'OPTIONS') reply(buildResponse(msg, 200, 'OK', this.newTag(), ''));
    else reply(buildResponse(msg, 405, 'Method Not Allowed', this.newTag(), 'Allow: SUBSCRIBE, OPTIONS\r\n'));
  }

  private onResponse(msg: LiteMessage): void {
    const tx = this.txs.get(msg.topBranch);
    if (tx === undefined) {
      this.stats.strayResponses++;
      return;
    }
    if (msg.status < 200) return;
    const key = String(msg.status);
    this.stats.notifyResponses[key] = (this.stats.notifyResponses[key] ?? 0) + 1;
    tx.done = true;
    this.txs.delete(msg.topBranch);
  }

  private newTag(): string {
    return `ps${(this.tagSeq++).toString(36)}`;
  }

  private onSubscribe(msg: LiteMessage, reply: (text: string) => void, arrivedOn: Transport): void {
    const cached = this.answered.get(msg.topBranch);
    if (cached !== undefined) {
      this.stats.subscribeRetransmissions++;
      reply(cached.text);
      return;
    }
    this.stats.subscribes++;
    this.subscribeArrivals?.push(this.nowMs());
    const toTag = headerParam(msg.to, 'tag');
    const requested = msg.expires ?? 3600;
    const grant = Math.min(requested, this.opts.maxExpires);
    const contactHeader = `Contact: <sip:ps@${this.opts.host}:${this.opts.port};transport=${arrivedOn}>\r\n`;
    let dialog: SimDialog | undefined;
    if (toTag !== '') {
      dialog = this.dialogs.get(msg.callId);
      if (dialog === undefined || dialog.localTag !== toTag) {
        this.stats.subscribe481++;
        this.answer(msg, reply, buildResponse(msg, 481, 'Subscription Does Not Exist', '', ''));
        return;
      }
      if (msg.contact !== '') this.retarget(dialog, msg.contact, arrivedOn);
    } else {
      this.stats.initialSubscribes++;
      dialog = this.newDialog(msg, arrivedOn);
    }
    if (requested === 0) {
      this.stats.unsubscribes++;
      this.answer(msg, reply, buildResponse(msg, 200, 'OK', dialog.localTag, `${contactHeader}Expires: 0\r\n`));
      // RFC 6665 §4.2.1.4: the notifier sends a terminating NOTIFY, then forgets the subscription.
      this.sendNotify(dialog, 'terminated;reason=timeout', 2);
      this.forget(dialog);
      return;
    }
    if (toTag !== '') this.stats.refreshes++;
    dialog.expiresAt = this.nowMs() + grant * 1000;
    this.answer(msg, reply, buildResponse(msg, 200, 'OK', dialog.localTag, `${contactHeader}Expires: ${grant}\r\n`));
    this.sendNotify(dialog, `active;expires=${grant}`, 1);
  }

  private answer(msg: LiteMessage, reply: (text: string) => void, text: string): void {
    reply(text);
    if (msg.topBranch === '') return;
    this.answered.set(msg.topBranch, { text, at: this.nowMs() });
    this.answeredOrder.push(msg.topBranch);
  }

  private newDialog(msg: LiteMessage, arrivedOn: Transport): SimDialog {
    const old = this.dialogs.get(msg.callId);
    if (old !== undefined) this.forget(old);
    const dialog: SimDialog = {
      callId: msg.callId,
      localTag: this.newTag(),
      remoteTag: headerParam(msg.from, 'tag'),
      localUri: uriOf(msg.to),
      remoteUri: uriOf(msg.from),
      target: '',
      dest: { transport: arrivedOn, host: '127.0.0.1', port: 5060 },
      cseq: 0,
      expiresAt: 0,
      open: true,
      listPos: -1,
      fake: false,
    };
    this.retarget(dialog, msg.contact === '' ? msg.from : msg.contact, arrivedOn);
    this.dialogs.set(dialog.callId, dialog);
    dialog.listPos = this.live.length;
    this.live.push(dialog);
    this.stats.liveDialogs = this.live.length;
    return dialog;
  }

  private retarget(dialog: SimDialog, contact: string, arrivedOn: Transport): void {
    const target = uriOf(contact);
    if (target === dialog.target) return;
    const hp = hostPortOf(target);
    dialog.target = target;
    dialog.dest = { transport: hp.transport === 'tcp' ? 'tcp' : hp.transport === 'udp' ? 'udp' : arrivedOn, host: hp.host, port: hp.port };
  }

  private forget(dialog: SimDialog): void {
    if (this.dialogs.get(dialog.callId) === dialog) this.dialogs.delete(dialog.callId);
    const list = dialog.fake ? this.fake : this.live;
    const at = dialog.listPos;
    if (at >= 0 && list[at] === dialog) {
      const last = list.pop();
      if (last !== undefined && last !== dialog) {
        list[at] = last;
        last.listPos = at;
      }
    }
    dialog.listPos = -1;
    this.stats.liveDialogs = this.live.length;
  }

  // ------------------------------------------------------------------ send

  private markExpected(g: number, kind: number): void {
    if (g >= this.expected.length) {
      const bigger = new Uint8Array(this.expected.length * 2);
      bigger.set(this.expected);
      this.expected = bigger;
    }
    this.expected[g] = kind;
  }

  /** Sends one NOTIFY on `dialog`; `kind` 1 = the SUT must deliver it, 2 = it may. Returns its g. */
  private sendNotify(dialog: SimDialog, subscriptionState: string, kind: number): number {
    const g = this.seq++;
    this.stats.nextSeq = this.seq;
    this.markExpected(g, dialog.fake ? 0 : kind);
    dialog.cseq++;
    dialog.open = !dialog.open;
    const branch = this.branchPrefix + (this.branchSeq++).toString(36);
    const tp = dialog.dest.transport;
    const sentNs = process.hrtime.bigint();
    const body = pidfBody(dialog.localUri, g, sentNs, dialog.open);
    const text =
      `NOTIFY ${dialog.target} SIP/2.0\r\n` +
      `Via: SIP/2.0/${tp === 'tcp' ? 'TCP' : 'UDP'} ${this.opts.host}:${this.opts.port};branch=${branch};rport\r\n` +
      'Max-Forwards: 70\r\n' +
      `From: <${dialog.localUri}>;tag=${dialog.localTag}\r\n` +
      `To: <${dialog.remoteUri}>${dialog.remoteTag === '' ? '' : `;tag=${dialog.remoteTag}`}\r\n` +
      `Call-ID: ${dialog.callId}\r\n` +
      `CSeq: ${dialog.cseq} NOTIFY\r\n` +
      `Contact: <sip:ps@${this.opts.host}:${this.opts.port};transport=${tp}>\r\n` +
      'Event: presence\r\n' +
      `Subscription-State: ${subscriptionState}\r\n` +
      'Content-Type: application/pidf+xml\r\n' +
      `Content-Length: ${body.length}\r\n\r\n` +
      body;
    const now = this.nowMs();
    const tx: NotifyTx = { branch, text, dest: dialog.dest, nextAt: now + T1, interval: T1, timeoutAt: now + TIMER_F, done: false };
    this.txs.set(branch, tx);
    if (tp === 'udp') this.retrans[0]?.push(tx);
    this.timeouts.push(tx);
    this.stats.notifiesSent++;
    this.transmit(tx);
    return g;
  }

  private transmit(tx: NotifyTx): void {
    const d = tx.dest;
    if (d.transport === 'udp') {
      this.udp?.send(tx.text, d.port, d.host, (e) => {
        if (e) this.stats.sendErrors++;
      });
      return;
    }
    this.connection(d).write(tx.text);
  }

  private connection(d: Dest): net.Socket {
    const key = `${d.host}:${d.port}`;
    let sock = this.outbound.get(key);
    if (sock === undefined || sock.destroyed) {
      const s = net.connect({ host: d.host, port: d.port });
      s.setNoDelay(true);
      const framer = new StreamFramer();
      s.on('data', (chunk) =>
        framer.push(chunk, (text) => {
          const msg = parseLite(text);
          if (msg !== undefined) this.onMessage(msg, (t) => s.write(t), 'tcp');
        }),
      );
      s.on('error', () => this.stats.sendErrors++);
      s.on('close', () => {
        if (this.outbound.get(key) === s) this.outbound.delete(key);
      });
      this.outbound.set(key, s);
      sock = s;
    }
    return sock;
  }

  /** Retransmissions (Timer E), Timer F, and expiry of the SUBSCRIBE response cache. */
  private onTick(): void {
    const now = this.nowMs();
    for (let level = 0; level < this.retrans.length; level++) {
      const q = this.retrans[level];
      if (q === undefined) continue;
      for (let tx = q.peek(); tx !== undefined && tx.nextAt <= now; tx = q.peek()) {
        q.shift();
        if (tx.done || now >= tx.timeoutAt) continue;
        this.stats.notifyRetransmissions++;
        const tl = this.timeline;
        if (tl !== undefined) tl.retransmitted[Math.min(GENERATOR_BUCKETS - 1, Math.floor((Number(process.hrtime.bigint()) - tl.startNs) / 1e6 / GENERATOR_BUCKET_MS))]!++;
        this.transmit(tx);
        // RFC 3261 §17.1.2.2: Timer E doubles up to T2.
        tx.interval = Math.min(tx.interval * 2, T2);
        tx.nextAt = now + tx.interval;
        this.retrans[Math.min(level + 1, this.retrans.length - 1)]?.push(tx);
      }
    }
    for (let tx = this.timeouts.peek(); tx !== undefined && tx.timeoutAt <= now; tx = this.timeouts.peek()) {
      this.timeouts.shift();
      if (tx.done) continue;
      tx.done = true;
      this.txs.delete(tx.branch);
      this.stats.notifyTimeouts++;
    }
    this.stats.pendingTransactions = this.txs.size;
    // Keep SUBSCRIBE answers 32 s (Timer J, RFC 3261 §17.2.2).
    while (this.answeredHead < this.answeredOrder.length) {
      const branch = this.answeredOrder[this.answeredHead];
      if (branch === undefined) break;
      const entry = this.answered.get(branch);
      if (entry !== undefined && now - entry.at < TIMER_F) break;
      this.answered.delete(branch);
      this.answeredHead++;
    }
    if (this.answeredHead > 65536 && this.answeredHead * 2 > this.answeredOrder.length) {
      this.answeredOrder = this.answeredOrder.slice(this.answeredHead);
      this.answeredHead = 0;
    }
  }

  // ------------------------------------------------------------------ commands

  private timeline:
    | { startNs: number; startPerfMs: number; sent: Uint32Array; retransmitted: Uint32Array; lateMaxMs: Float64Array; burstMax: Uint32Array; gcMs: Float64Array; gc: PerformanceObserver }
    | undefined;

  private startTimeline(startNs: number): NonNullable<PresenceServerSim['timeline']> {
    this.timeline?.gc.disconnect();
    const startPerfMs = performance.now();
    const gcMs = new Float64Array(GENERATOR_BUCKETS);
    // The generator's own GC pauses: a pause makes it late, and late it sends a burst.
    const gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const b = Math.floor((e.startTime - startPerfMs) / GENERATOR_BUCKET_MS);
        if (b >= 0) gcMs[Math.min(GENERATOR_BUCKETS - 1, b)]! += e.duration;
      }
    });
    gc.observe({ entryTypes: ['gc'] });
    const tl = {
      startNs,
      startPerfMs,
      sent: new Uint32Array(GENERATOR_BUCKETS),
      retransmitted: new Uint32Array(GENERATOR_BUCKETS),
      lateMaxMs: new Float64Array(GENERATOR_BUCKETS),
      burstMax: new Uint32Array(GENERATOR_BUCKETS),
      gcMs,
      gc,
    };
    this.timeline = tl;
    return tl;
  }

  private endTimeline(tl: NonNullable<PresenceServerSim['timeline']>, elapsedMs: number): GeneratorTimeline {
    const n = Math.min(GENERATOR_BUCKETS, Math.ceil(elapsedMs / GENERATOR_BUCKET_MS));
    const r = (x: number): number => Math.round(x * 100) / 100;
    // Retransmissions go on being counted (into the same arrays) until the next timeline starts: they are read at the drain's end.
    return {
      bucketMs: GENERATOR_BUCKET_MS,
      startNs: tl.startNs,
      sent: Array.from(tl.sent.subarray(0, n)),
      retransmitted: Array.from(tl.retransmitted.subarray(0, n)),
      lateMaxMs: Array.from(tl.lateMaxMs.subarray(0, n), r),
      burstMax: Array.from(tl.burstMax.subarray(0, n)),
      gcMs: Array.from(tl.gcMs.subarray(0, n), r),
    };
  }

  /**
   * Sends NOTIFYs at `rate`/s for `durationMs`, round robin over the live (or
   * fake) dialogs; with `once`, one NOTIFY per dialog spread over `durationMs`.
   * `state` is the Subscription-State; `forget` drops each dialog after its
   * NOTIFY (a presence server that deactivates everything and restarts).
   * `bounded` stops at `durationMs` even when behind (a flood lasts its
   * duration whatever the machine lets the generator send).
   */
  runRate(args: {
    rate: number;
    durationMs: number;
    set?: 'live' | 'fake';
    once?: boolean;
    state?: string;
    forget?: boolean;
    bounded?: boolean;
    timeline?: boolean;
  }): Promise<RateResult> {
    const list = args.set === 'fake' ? this.fake : this.live;
    const oncePlan = args.once === true ? list.slice() : undefined;
    const total = oncePlan !== undefined ? oncePlan.length : Math.round((args.rate * args.durationMs) / 1000);
    const rate = oncePlan !== undefined ? (total * 1000) / Math.max(1, args.durationMs) : args.rate;
    const state = args.state ?? 'active;expires=3600';
    const kind = state.startsWith('terminated') ? 2 : 1;
    const seqFrom = this.seq;
    const t0 = process.hrtime.bigint();
    let sent = 0;
    const maxBurst = Math.max(64, Math.ceil(rate / 100));
    const tl = args.timeline === true ? this.startTimeline(Number(t0)) : undefined;
    return new Promise((resolve) => {
      const step = () => {
        const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
        let due = Math.min(total, Math.floor((rate * elapsedMs) / 1000) + 1) - sent;
        if (due > maxBurst) due = maxBurst;
        if (tl !== undefined && due > 0) {
          const b = Math.min(GENERATOR_BUCKETS - 1, Math.floor(elapsedMs / GENERATOR_BUCKET_MS));
          tl.sent[b]! += due;
          // The first NOTIFY of this burst was due at sent / rate.
          const late = elapsedMs - (sent * 1000) / rate;
          if (late > tl.lateMaxMs[b]!) tl.lateMaxMs[b] = late;
          if (due > tl.burstMax[b]!) tl.burstMax[b] = due;
        }
        for (let i = 0; i < due; i++) {
          let dialog: SimDialog | undefined;
          if (oncePlan !== undefined) dialog = oncePlan[sent];
          else if (list.length > 0) {
            if (args.set === 'fake') {
              this.rrFake = (this.rrFake + 1) % list.length;
              dialog = list[this.rrFake];
            } else {
              this.rrLive = (this.rrLive + 1) % list.length;
              dialog = list[this.rrLive];
            }
          }
          sent++;
          if (dialog === undefined) continue;
          const expires = Math.max(0, Math.round((dialog.expiresAt - this.nowMs()) / 1000));
          this.sendNotify(dialog, kind === 1 && !dialog.fake ? `active;expires=${expires}` : state, kind);
          if (args.forget === true) this.forget(dialog);
        }
        if (sent >= total || (args.bounded === true && elapsedMs >= args.durationMs)) {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          const timeline = tl === undefined ? undefined : this.endTimeline(tl, ms);
          resolve({ offeredRate: rate, sent, seqFrom, seqTo: this.seq, elapsedMs: ms, achievedRate: (sent * 1000) / Math.max(1, ms), ...(timeline !== undefined ? { timeline } : {}) });
          return;
        }
        // Still behind after a full burst: go again right after I/O; otherwise wait for the next
        // timer tick (~1 ms) instead of spinning, so the generator's CPU is spent on messages.
        if (due >= maxBurst) setImmediate(step);
        else setTimeout(step, 1);
      };
      step();
    });
  }

  /**
   * The live UDP dialogs as a NOTIFY needs them (bench/load/notify-blaster.ts
   * sends in-dialog NOTIFYs on them from its own socket): Call-ID, tags,
   * URIs, target, where they go, and the Contact of our NOTIFYs.
   */
  exportDialogs(): BlastDialog[] {
    return this.live
      .filter((d) => d.dest.transport === 'udp')
      .map((d) => ({
        callId: d.callId,
        localTag: d.localTag,
        remoteTag: d.remoteTag,
        localUri: d.localUri,
        remoteUri: d.remoteUri,
        target: d.target,
        host: d.dest.host,
        port: d.dest.port,
        contact: `<sip:ps@${this.opts.host}:${this.opts.port};transport=udp>`,
      }));
  }

  /** Every dialog's next CSeq at least `cseq` (after a blaster sent NOTIFYs with CSeqs of its own). */
  raiseCSeq(cseq: number): void {
    for (const d of this.dialogs.values()) if (d.cseq < cseq) d.cseq = cseq;
  }

  /** Fake dialogs towards another NOTIFY sink (Kamailio notify-sink.cfg): out-of-dialog as far as it is concerned. */
  addFakeDialogs(args: { count: number; host: string; port: number; transport?: Transport }): number {
    for (let i = 0; i < args.count; i++) {
      const callId = `fake${i}-${randomBytes(4).toString('hex')}@bench`;
      const d: SimDialog = {
        callId,
        localTag: this.newTag(),
        remoteTag: `w${i}`,
        localUri: `sip:user${i}@example.com`,
        remoteUri: `sip:w${i}@b2b.bench`,
        target: `sip:b2bua@${args.host}:${args.port}`,
        dest: { transport: args.transport ?? 'udp', host: args.host, port: args.port },
        cseq: 100,
        expiresAt: this.nowMs() + 3_600_000,
        open: true,
        listPos: this.fake.length,
        fake: true,
      };
      this.fake.push(d);
    }
    return this.fake.length;
  }

  clearFakeDialogs(): void {
    this.fake = [];
    this.rrFake = 0;
  }

  /** Forgets every dialog without telling anyone (a crash of the presence server). */
  forgetAll(): number {
    const n = this.live.length;
    for (const d of this.live) {
      this.dialogs.delete(d.callId);
      d.listPos = -1;
    }
    this.live = [];
    this.rrLive = 0;
    this.stats.liveDialogs = 0;
    return n;
  }

  /** `expected[g]` for g in [from, to). */
  expectedRange(from: number, to: number): Uint8Array {
    return this.expected.slice(from, Math.min(to, this.seq));
  }

  /** Waits until no NOTIFY transaction is pending (all answered or timed out), at most `boundMs`. */
  async drain(boundMs: number): Promise<number> {
    const t0 = Date.now();
    while (this.txs.size > 0 && Date.now() - t0 < boundMs) await new Promise((r) => setTimeout(r, 20));
    return this.txs.size;
  }

  /** Starts recording the arrival time of every new SUBSCRIBE (the resume benchmark's rate check). */
  recordSubscribes(): void {
    this.subscribeArrivals = [];
  }

  /**
   * The SUBSCRIBE rate as received since recordSubscribes(): how many, and
   * the most within any sliding second (what max_subscribe_rate bounds).
   */
  subscribeRate(): { count: number; maxInAnySecond: number; spanMs: number } {
    const t = this.subscribeArrivals ?? [];
    return { count: t.length, maxInAnySecond: maxInAnySecond(t), spanMs: t.length > 0 ? (t[t.length - 1] ?? 0) - (t[0] ?? 0) : 0 };
  }

  snapshot(): SimStats {
    this.stats.pendingTransactions = this.txs.size;
    return JSON.parse(JSON.stringify(this.stats)) as SimStats;
  }

  resetStats(): void {
    this.stats.subscribes = 0;
    this.stats.initialSubscribes = 0;
    this.stats.refreshes = 0;
    this.stats.unsubscribes = 0;
    this.stats.subscribeRetransmissions = 0;
    this.stats.subscribe481 = 0;
    this.stats.notifiesSent = 0;
    this.stats.notifyRetransmissions = 0;
    this.stats.notifyTimeouts = 0;
    this.stats.notifyResponses = {};
    this.stats.strayResponses = 0;
    this.stats.sendErrors = 0;
  }
}

// ------------------------------------------------------------------ process entry

function argValue(argv: string[], name: string, fallback: string): string {
  const at = argv.indexOf(name);
  return at >= 0 && at + 1 < argv.length ? (argv[at + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const transports = argValue(argv, '--transport', 'udp,tcp')
    .split(',')
    .filter((t): t is Transport => t === 'udp' || t === 'tcp');
  const sim = new PresenceServerSim({
    host: argValue(argv, '--host', '127.0.0.1'),
    port: Number(argValue(argv, '--port', '0')),
    transports,
    maxExpires: Number(argValue(argv, '--max-expires', '3600')),
  });
  const { port } = await sim.start();
  if (process.send === undefined) {
    // Standalone: a presence server on the console.
    console.log(JSON.stringify({ listening: port, transports }));
    setInterval(() => console.log(JSON.stringify(sim.snapshot())), 1000);
    return;
  }
  serveRpc(
    {
      info: () => ({ port, pid: process.pid }),
      stats: () => sim.snapshot(),
      resetStats: () => sim.resetStats(),
      rate: (a: { rate: number; durationMs: number; set?: 'live' | 'fake'; once?: boolean; state?: string; forget?: boolean; bounded?: boolean; timeline?: boolean }) =>
        sim.runRate(a),
      addFakeDialogs: (a: { count: number; host: string; port: number; transport?: Transport }) => sim.addFakeDialogs(a),
      clearFakeDialogs: () => sim.clearFakeDialogs(),
      forgetAll: () => sim.forgetAll(),
      recordSubscribes: () => sim.recordSubscribes(),
      subscribeRate: () => sim.subscribeRate(),
      expected: (a: { from: number; to: number }) => sim.expectedRange(a.from, a.to),
      drain: (a: { boundMs: number }) => sim.drain(a.boundMs),
      cpu: () => process.cpuUsage(),
      exportDialogs: () => sim.exportDialogs(),
      raiseCSeq: (a: { cseq: number }) => sim.raiseCSeq(a.cseq),
    },
    () => sim.close(),
  );
}

if (process.argv[1]?.endsWith('presence-server-sim.js')) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
