/**
 * The simulator's NOTIFY client transactions (RFC 3261 §17.1.2, non-INVITE),
 * kept in typed arrays rather than an object (with its text) in a Map per
 * NOTIFY: at 10,000/s a transaction lives until its final answer, but its
 * Timer F deadline lives 32 s, so the old records held ~320,000 objects and
 * their 1.3 KB texts, which the generator's GC kept marking.
 *
 * Transactions are numbered in send order (the number is in the branch,
 * notify-template.ts) and live in a ring indexed by number; the ring grows
 * when a transaction still pending would be overwritten. Because every UDP
 * transaction's first retransmission is due T1 after its send, and its
 * deadline 64·T1 after it, both come due in send order: a cursor over the
 * numbers finds them, without a queue. Later retransmissions (Timer E
 * doubling to T2) are few and go through FIFOs of numbers, one per interval.
 * What a retransmission must send again (exactly the bytes first sent) is
 * rebuilt from the record's fields (`fieldsOf`): numbers in typed arrays,
 * and references to what the NOTIFY shared with its dialog (the dialog, its
 * target and destination then, the state text), no object per NOTIFY.
 */
import type { NotifyFields } from './notify-template.js';

/** What a transaction keeps of its NOTIFY besides its timers (the rest comes from `owner`). */
export interface NotifyRecord<O, D> {
  owner: O;
  dest: D;
  target: string;
  stateText: string;
  expires: number;
  cseq: number;
  seq: number;
  sentNs: number;
  open: boolean;
}

export const T1 = 500;
export const T2 = 4000;
export const TIMER_F = 64 * T1;

const PENDING = 1;

/** A FIFO of transaction numbers (one retransmission interval: their deadlines come out in order). */
class IdFifo {
  private items: number[] = [];
  private head = 0;
  push(id: number): void {
    this.items.push(id);
  }
  peek(): number | undefined {
    return this.items[this.head];
  }
  shift(): void {
    this.head++;
    if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export interface TransactionEvents {
  /** Timer E fired for a pending UDP transaction: send it again (`fieldsOf`, `ownerOf`, `destOf`). */
  retransmit(id: number): void;
  /** Timer F fired: the transaction ends without a final answer. */
  timeout(id: number): void;
}

export class NotifyTransactions<O, D> {
  private mask: number;
  private ids: Float64Array;
  private state: Uint8Array;
  private udp: Uint8Array;
  private sentAt: Float64Array;
  private nextAt: Float64Array;
  private interval: Float64Array;
  private seqs: Float64Array;
  private stamps: Float64Array;
  private cseqs: Float64Array;
  private expires: Float64Array;
  private opens: Uint8Array;
  private owners: Array<O | undefined>;
  private dests: Array<D | undefined>;
  private targets: string[];
  private states: string[];
  private next = 0;
  /** Every transaction below this number has had its first Timer E considered. */
  private firstRetransmitCursor = 0;
  /** Every transaction below this number has ended (answered or Timer F). */
  private timeoutCursor = 0;
  private readonly later = [new IdFifo(), new IdFifo(), new IdFifo()];
  pending = 0;

  constructor(capacity = 1 << 16) {
    let size = 1;
    while (size < capacity) size *= 2;
    this.mask = size - 1;
    this.ids = new Float64Array(size).fill(-1);
    this.state = new Uint8Array(size);
    this.udp = new Uint8Array(size);
    this.sentAt = new Float64Array(size);
    this.nextAt = new Float64Array(size);
    this.interval = new Float64Array(size);
    this.seqs = new Float64Array(size);
    this.stamps = new Float64Array(size);
    this.cseqs = new Float64Array(size);
    this.expires = new Float64Array(size);
    this.opens = new Uint8Array(size);
    this.owners = new Array<O | undefined>(size).fill(undefined);
    this.dests = new Array<D | undefined>(size).fill(undefined);
    this.targets = new Array<string>(size).fill('');
    this.states = new Array<string>(size).fill('');
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** The number the next `begin` will return (for the branch, written before the send). */
  peekId(): number {
    return this.next;
  }

  /** A new client transaction sent at `nowMs`; UDP ones are retransmitted (Timer E), all time out (Timer F). */
  begin(nowMs: number, udp: boolean, r: NotifyRecord<O, D>): number {
    const id = this.next++;
    let slot = id & this.mask;
    if (this.state[slot] === PENDING) {
      this.grow();
      slot = id & this.mask;
    }
    this.ids[slot] = id;
    this.state[slot] = PENDING;
    this.udp[slot] = udp ? 1 : 0;
    this.sentAt[slot] = nowMs;
    this.nextAt[slot] = nowMs + T1;
    this.interval[slot] = T1;
    this.seqs[slot] = r.seq;
    this.stamps[slot] = r.sentNs;
    this.cseqs[slot] = r.cseq;
    this.expires[slot] = r.expires;
    this.opens[slot] = r.open ? 1 : 0;
    this.owners[slot] = r.owner;
    this.dests[slot] = r.dest;
    this.targets[slot] = r.target;
    this.states[slot] = r.stateText;
    this.pending++;
    return id;
  }

  /** A final answer for transaction `id`: true when it was pending (false: stray, late or repeated). */
  answer(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id >= this.next) return false;
    const slot = id & this.mask;
    if (this.ids[slot] !== id || this.state[slot] !== PENDING) return false;
    this.end(slot);
    return true;
  }

  isPending(id: number): boolean {
    const slot = id & this.mask;
    return id >= 0 && id < this.next && this.ids[slot] === id && this.state[slot] === PENDING;
  }

  /** The owner (dialog) of pending transaction `id`. */
  ownerOf(id: number): O | undefined {
    return this.isPending(id) ? this.owners[id & this.mask] : undefined;
  }

  destOf(id: number): D | undefined {
    return this.isPending(id) ? this.dests[id & this.mask] : undefined;
  }

  /** Writes the NOTIFY's own fields of pending transaction `id` into `f` (the owner's are the caller's to fill). */
  fieldsOf(id: number, f: NotifyFields): boolean {
    if (!this.isPending(id)) return false;
    const slot = id & this.mask;
    f.txId = id;
    f.target = this.targets[slot]!;
    f.stateText = this.states[slot]!;
    f.expires = this.expires[slot]!;
    f.cseq = this.cseqs[slot]!;
    f.seq = this.seqs[slot]!;
    f.sentNs = this.stamps[slot]!;
    f.open = this.opens[slot] === 1;
    return true;
  }

  /** Fires the timers due at `nowMs` (RFC 3261 §17.1.2.2: Timer E from T1 doubling to T2, Timer F at 64·T1). */
  tick(nowMs: number, on: TransactionEvents): void {
    // Timer F first: a transaction past its deadline is not retransmitted again.
    while (this.timeoutCursor < this.next) {
      const id = this.timeoutCursor;
      const slot = id & this.mask;
      if (this.ids[slot] === id && this.state[slot] === PENDING) {
        if (this.sentAt[slot]! + TIMER_F > nowMs) break;
        this.end(slot);
        on.timeout(id);
      }
      this.timeoutCursor++;
    }
    // The first retransmission of each UDP transaction, in send order.
    while (this.firstRetransmitCursor < this.next) {
      const id = this.firstRetransmitCursor;
      const slot = id & this.mask;
      if (this.ids[slot] === id && this.state[slot] === PENDING && this.udp[slot] === 1) {
        if (this.nextAt[slot]! > nowMs) break;
        this.retransmitted(slot, id, nowMs, 0, on);
      }
      this.firstRetransmitCursor++;
    }
    for (let level = 0; level < this.later.length; level++) {
      const q = this.later[level]!;
      for (let id = q.peek(); id !== undefined; id = q.peek()) {
        const slot = id & this.mask;
        if (this.ids[slot] !== id || this.state[slot] !== PENDING) {
          q.shift();
          continue;
        }
        if (this.nextAt[slot]! > nowMs) break;
        q.shift();
        this.retransmitted(slot, id, nowMs, level + 1, on);
      }
    }
  }

  private retransmitted(slot: number, id: number, nowMs: number, level: number, on: TransactionEvents): void {
    on.retransmit(id);
    const interval = Math.min(this.interval[slot]! * 2, T2);
    this.interval[slot] = interval;
    this.nextAt[slot] = nowMs + interval;
    this.later[Math.min(level, this.later.length - 1)]!.push(id);
  }

  private end(slot: number): void {
    this.state[slot] = 0;
    this.pending--;
    this.owners[slot] = undefined;
    this.dests[slot] = undefined;
  }

  /** Doubles the ring: every number in it moves to its slot under the new mask. */
  private grow(): void {
    const size = (this.mask + 1) * 2;
    const mask = size - 1;
    const ids = new Float64Array(size).fill(-1);
    const state = new Uint8Array(size);
    const udp = new Uint8Array(size);
    const sentAt = new Float64Array(size);
    const nextAt = new Float64Array(size);
    const interval = new Float64Array(size);
    const seqs = new Float64Array(size);
    const stamps = new Float64Array(size);
    const cseqs = new Float64Array(size);
    const expires = new Float64Array(size);
    const opens = new Uint8Array(size);
    const owners = new Array<O | undefined>(size).fill(undefined);
    const dests = new Array<D | undefined>(size).fill(undefined);
    const targets = new Array<string>(size).fill('');
    const states = new Array<string>(size).fill('');
    for (let old = 0; old <= this.mask; old++) {
      const id = this.ids[old]!;
      if (id < 0 || this.state[old] !== PENDING) continue;
      const s = id & mask;
      ids[s] = id;
      state[s] = PENDING;
      udp[s] = this.udp[old]!;
      sentAt[s] = this.sentAt[old]!;
      nextAt[s] = this.nextAt[old]!;
      interval[s] = this.interval[old]!;
      seqs[s] = this.seqs[old]!;
      stamps[s] = this.stamps[old]!;
      cseqs[s] = this.cseqs[old]!;
      expires[s] = this.expires[old]!;
      opens[s] = this.opens[old]!;
      owners[s] = this.owners[old];
      dests[s] = this.dests[old];
      targets[s] = this.targets[old]!;
      states[s] = this.states[old]!;
    }
    this.mask = mask;
    this.ids = ids;
    this.state = state;
    this.udp = udp;
    this.sentAt = sentAt;
    this.nextAt = nextAt;
    this.interval = interval;
    this.seqs = seqs;
    this.stamps = stamps;
    this.cseqs = cseqs;
    this.expires = expires;
    this.opens = opens;
    this.owners = owners;
    this.dests = dests;
    this.targets = targets;
    this.states = states;
  }
}
