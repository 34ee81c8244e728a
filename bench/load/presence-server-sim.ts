/**
 * The load generator: a presence server simulator, run as its own process on
 * core 0 (`taskset -c 0`), spoken to by the bench runner over the Node IPC
 * channel (ops below), or run standalone printing one JSON stats line a second:
 *
 *   node dist/bench/load/presence-server-sim.js --port 5090 [--transport udp,tcp] [--max-expires 3600] [--pacing ticks|spin]
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
import dns from 'node:dns';
import dgram from 'node:dgram';
import net, { isIPv4 } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { serveRpc } from '../harness/child-rpc.js';
import { maxInAnySecond } from '../harness/rate-window.js';
import { BRANCH_DIGITS, NotifyTemplate, type NotifyFields, notifyText } from './notify-template.js';
import { NotifyTransactions, type NotifyRecord, TIMER_F, type TransactionEvents } from './notify-transactions.js';
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
  /** Its NOTIFY serialized, one for open and one for closed (they alternate), patched per send. */
  templateOpen?: NotifyTemplate | undefined;
  templateClosed?: NotifyTemplate | undefined;
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

const SIP_VERSION = Buffer.from('SIP/2.0 ');
const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const VIA_LINE = Buffer.from('\r\nVia: ');
const CALL_ID_LINE = Buffer.from('\r\nCall-ID: ');
const BRANCH_PARAM = Buffer.from(';branch=');
/** Status codes as the stats' keys, made once. */
const STATUS_KEYS: string[] = Array.from({ length: 700 }, (_, i) => String(i));

const GENERATOR_BUCKET_MS = 10;
const GENERATOR_BUCKETS = 6000;

export interface SimOptions {
  host: string;
  port: number;
  transports: Transport[];
  /** Longest Expires granted; shorter requests are granted as asked. */
  maxExpires: number;
  /** How a rate run waits between sends (SimPacing); default `ticks`. */
  pacing?: SimPacing;
}

/**
 * How a rate run paces its NOTIFYs.
 * - `ticks`: it sleeps ~1 ms (a timer) between sends and then sends what came due meanwhile, in a
 *   burst (20 at 20,000/s): the generator leaves its core idle between bursts, and each answer that
 *   comes while it sleeps wakes it.
 * - `spin`: it never sleeps (setImmediate, which also polls its socket): each NOTIFY goes out when it
 *   comes due, one or two at a time, answers are read without a wake-up, and the generator keeps its
 *   core busy. W2's pacing, on a load core of its own (docs/latency-tail.md, "Episodes of half speed,
 *   and the generator's pacing").
 */
export type SimPacing = 'ticks' | 'spin';

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
  /** NOTIFY client transactions (RFC 3261 §17.1.2): Timer E over UDP, Timer F, matched by the number in the branch. */
  private readonly txs = new NotifyTransactions<SimDialog, Dest>();
  /** One NOTIFY's fields, reused for every send (no object per NOTIFY). */
  private readonly fields: NotifyFields = {
    target: '',
    transport: 'udp',
    host: '',
    port: 0,
    branchPrefix: '',
    txId: 0,
    localUri: '',
    localTag: '',
    remoteUri: '',
    remoteTag: '',
    callId: '',
    cseq: 0,
    stateText: '',
    expires: -1,
    seq: 0,
    sentNs: 0,
    open: false,
  };
  private readonly record: NotifyRecord<SimDialog | undefined, Dest | undefined> = {
    owner: undefined,
    dest: undefined,
    target: '',
    stateText: '',
    expires: -1,
    cseq: 0,
    seq: 0,
    sentNs: 0,
    open: false,
  };
  private readonly timerEvents: TransactionEvents = {
    retransmit: (id) => this.retransmit(id),
    timeout: () => {
      this.stats.notifyTimeouts++;
    },
  };
  /** process.hrtime's nanoseconds at performance.now() = 0: the stamp without a BigInt per NOTIFY (the same monotonic clock). */
  private readonly nsOrigin = Number(process.hrtime.bigint()) - Math.round(performance.now() * 1e6);
  /** Responses to SUBSCRIBE by branch, for absorbing retransmitted SUBSCRIBEs (RFC 3261 §17.2.2). */
  private readonly answered = new Map<string, { text: string; at: number }>();
  private answeredOrder: string[] = [];
  private answeredHead = 0;
  private expected = new Uint8Array(1 << 20);
  private seq = 0;
  private readonly branchPrefix = `z9hG4bKsim${randomBytes(3).toString('hex')}`;
  private readonly branchPrefixBytes = Buffer.from(this.branchPrefix);
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
      const sock = dgram.createSocket({
        type: 'udp4',
        recvBufferSize: 8 << 20,
        sendBufferSize: 8 << 20,
        // An address literal is its own lookup: answered at once, the datagram goes out inside send()
        // (dns.lookup answers on the next tick, after the whole burst), so its stamp is its send time
        // and its Buffer may be patched again as soon as send() returns with nothing queued.
        lookup: (host: string, _family: unknown, cb: (e: Error | null, address: string, family: number) => void) => {
          if (isIPv4(host)) cb(null, host, 4);
          else dns.lookup(host, 4, cb);
        },
      });
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
    if (this.onNotifyAnswer(buf)) return;
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
    const b = msg.topBranch;
    const id = b.length === this.branchPrefix.length + BRANCH_DIGITS && b.startsWith(this.branchPrefix) ? Number(b.slice(this.branchPrefix.length)) : -1;
    if (!this.txs.isPending(id)) {
      this.stats.strayResponses++;
      return;
    }
    if (msg.status < 200) return;
    const key = String(msg.status);
    this.stats.notifyResponses[key] = (this.stats.notifyResponses[key] ?? 0) + 1;
    this.txs.answer(id);
  }

  /**
   * The answer to one of our NOTIFYs, read from its bytes (one per NOTIFY sent, so no string per answer)
   * when it has the usual form: `SIP/2.0 NNN`, a complete head with a Call-ID, and a top Via (the first,
   * long form) whose branch is our prefix and a transaction number (RFC 3261 §17.1.3 matches on it).
   * False for anything else, which then goes through the parser as before (and is dropped if unreadable).
   */
  private onNotifyAnswer(buf: Buffer): boolean {
    if (buf.length < 12 || buf.compare(SIP_VERSION, 0, 8, 0, 8) !== 0) return false;
    const status = (buf[8]! - 48) * 100 + (buf[9]! - 48) * 10 + (buf[10]! - 48);
    if (!(status >= 100 && status < 700) || buf[11] !== 0x20) return false;
    const headEnd = buf.indexOf(HEAD_END);
    const via = buf.indexOf(VIA_LINE);
    if (headEnd < 0 || via < 0 || via > headEnd) return false;
    const callId = buf.indexOf(CALL_ID_LINE);
    if (callId < 0 || callId > headEnd) return false;
    const viaEnd = buf.indexOf(CRLF, via + 2);
    const at = buf.indexOf(this.branchPrefixBytes, via);
    if (at < 0 || at > viaEnd || buf.compare(BRANCH_PARAM, 0, BRANCH_PARAM.length, at - BRANCH_PARAM.length, at) !== 0) return false;
    const from = at + this.branchPrefixBytes.length;
    let id = 0;
    for (let i = from; i < from + BRANCH_DIGITS; i++) {
      const c = buf[i] ?? 0;
      if (c < 48 || c > 57) return false;
      id = id * 10 + (c - 48);
    }
    const next = buf[from + BRANCH_DIGITS];
    // The branch ends there (another parameter, the end of the line, or white space).
    if (next !== 0x3b && next !== 0x0d && next !== 0x2c && next !== 0x20) return false;
    if (!this.txs.isPending(id)) {
      this.stats.strayResponses++;
      return true;
    }
    if (status < 200) return true;
    const counts = this.stats.notifyResponses;
    const key = STATUS_KEYS[status] ?? String(status);
    counts[key] = (counts[key] ?? 0) + 1;
    this.txs.answer(id);
    return true;
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
      this.sendNotify(dialog, 'terminated;reason=timeout', -1, 2);
      this.forget(dialog);
      return;
    }
    if (toTag !== '') this.stats.refreshes++;
    dialog.expiresAt = this.nowMs() + grant * 1000;
    this.answer(msg, reply, buildResponse(msg, 200, 'OK', dialog.localTag, `${contactHeader}Expires: ${grant}\r\n`));
    this.sendNotify(dialog, 'active;expires=', grant, 1);
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

  /**
   * Sends one NOTIFY on `dialog` with Subscription-State `stateText` (followed by `expires` when ≥ 0);
   * `kind` 1 = the SUT must deliver it, 2 = it may. Returns its g. With `reuse` (a rate run, where every
   * dialog comes round again) the NOTIFY is the dialog's template (notify-template.ts) with this NOTIFY's
   * numbers patched in; without (the NOTIFY answering a SUBSCRIBE, a storm's one per dialog) it is built
   * as text. Either way it is stamped just before it goes to the socket.
   */
  private sendNotify(dialog: SimDialog, stateText: string, expires: number, kind: number, reuse = false): number {
    const g = this.seq++;
    this.stats.nextSeq = this.seq;
    this.markExpected(g, dialog.fake ? 0 : kind);
    dialog.cseq++;
    dialog.open = !dialog.open;
    const dest = dialog.dest;
    const f = this.fieldsFor(dialog, dest);
    f.txId = this.txs.peekId();
    f.cseq = dialog.cseq;
    f.stateText = stateText;
    f.expires = expires;
    f.seq = g;
    f.open = dialog.open;
    const now = this.nowMs();
    f.sentNs = this.nsOrigin + Math.round(now * 1e6);
    let template: NotifyTemplate | undefined;
    if (reuse) {
      template = dialog.open ? dialog.templateOpen : dialog.templateClosed;
      if (template === undefined || !template.fits(f)) {
        template = new NotifyTemplate(f);
        if (dialog.open) dialog.templateOpen = template;
        else dialog.templateClosed = template;
      }
    }
    const r = this.record;
    r.owner = dialog;
    r.dest = dest;
    r.target = f.target;
    r.stateText = stateText;
    r.expires = expires;
    r.cseq = f.cseq;
    r.seq = g;
    r.sentNs = f.sentNs;
    r.open = f.open;
    this.txs.begin(now, dest.transport === 'udp', r as NotifyRecord<SimDialog, Dest>);
    r.owner = undefined;
    r.dest = undefined;
    this.stats.notifiesSent++;
    // The template itself goes to the socket only when nothing can still hold it: over UDP with the
    // socket's send queue empty the datagram is out when send() returns (Node tries the send at once);
    // otherwise (a queue, TCP's buffering) a copy goes.
    if (template === undefined) {
      this.transmit(Buffer.from(notifyText(f), 'utf8'), dest);
      return g;
    }
    const inPlace = dest.transport === 'udp' && isIPv4(dest.host) && (this.udp?.getSendQueueCount() ?? 1) === 0;
    const bytes = template.patch(f);
    this.transmit(inPlace ? bytes : Buffer.from(bytes), dest);
    return g;
  }

  /** `this.fields` with the dialog's own parts (the NOTIFY's numbers are the caller's). */
  private fieldsFor(dialog: SimDialog, dest: Dest): NotifyFields {
    const f = this.fields;
    f.target = dialog.target;
    f.transport = dest.transport;
    f.host = this.opts.host;
    f.port = this.opts.port;
    f.branchPrefix = this.branchPrefix;
    f.localUri = dialog.localUri;
    f.localTag = dialog.localTag;
    f.remoteUri = dialog.remoteUri;
    f.remoteTag = dialog.remoteTag;
    f.callId = dialog.callId;
    return f;
  }

  /** Timer E: the NOTIFY of transaction `id` again, byte for byte (rebuilt from its record: rare). */
  private retransmit(id: number): void {
    const dialog = this.txs.ownerOf(id);
    const dest = this.txs.destOf(id);
    if (dialog === undefined || dest === undefined) return;
    const f = this.fieldsFor(dialog, dest);
    if (!this.txs.fieldsOf(id, f)) return;
    this.stats.notifyRetransmissions++;
    const tl = this.timeline;
    if (tl !== undefined) tl.retransmitted[Math.min(GENERATOR_BUCKETS - 1, Math.floor((this.nowMs() - tl.startPerfMs) / GENERATOR_BUCKET_MS))]!++;
    this.transmit(Buffer.from(notifyText(f), 'utf8'), dest);
  }

  /** To the socket without a callback: a UDP send error is the socket's 'error' event (counted). */
  private transmit(bytes: Buffer, d: Dest): void {
    if (d.transport === 'udp') {
      this.udp?.send(bytes, d.port, d.host);
      return;
    }
    this.connection(d).write(bytes);
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
    this.txs.tick(now, this.timerEvents);
    this.stats.pendingTransactions = this.txs.pending;
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
    // Every dialog comes round again in a rate run: worth a template each. Not so for one per dialog.
    const reuse = oncePlan === undefined && args.forget !== true;
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
          if (kind === 1 && !dialog.fake) this.sendNotify(dialog, 'active;expires=', expires, kind, reuse);
          else this.sendNotify(dialog, state, -1, kind, reuse);
          if (args.forget === true) this.forget(dialog);
        }
        if (sent >= total || (args.bounded === true && elapsedMs >= args.durationMs)) {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          const timeline = tl === undefined ? undefined : this.endTimeline(tl, ms);
          resolve({ offeredRate: rate, sent, seqFrom, seqTo: this.seq, elapsedMs: ms, achievedRate: (sent * 1000) / Math.max(1, ms), ...(timeline !== undefined ? { timeline } : {}) });
          return;
        }
        // Still behind after a full burst, or spinning: go again right after I/O; otherwise wait for
        // the next timer tick (~1 ms), so the generator's CPU is spent on messages (SimPacing).
        if (due >= maxBurst || this.opts.pacing === 'spin') setImmediate(step);
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
    while (this.txs.pending > 0 && Date.now() - t0 < boundMs) await new Promise((r) => setTimeout(r, 20));
    return this.txs.pending;
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
    this.stats.pendingTransactions = this.txs.pending;
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
    pacing: argValue(argv, '--pacing', 'ticks') === 'spin' ? 'spin' : 'ticks',
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
