import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';
import type { ReceivedFrom, SipEndpoint } from '../transport/types.js';

/** Chunks of 64 KB: about 140 kept finals to NOTIFYs each (≈400 octets, with their keys). */
const CHUNK_BYTES = 64 * 1024;
/** Most records ended per wake-up, so that a backlog of expiries cannot starve I/O. */
const BATCH = 4096;
/** Tickets count kept records modulo 2^30: small integers however long the process runs. */
const TICKET_MASK = 0x3fffffff;
const FIRST_CAPACITY = 1024;
/** A slot that holds no live record. */
const NONE = -1;

/** A 32-bit hash of a transaction key (FNV-1a over its UTF-16 code units). */
export function transactionKeyHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash | 0;
}

/**
 * Completed non-INVITE server transactions over UDP waiting out Timer J
 * (64·T1 = 32 s, RFC 3261 §17.2.2). In Completed a transaction only answers
 * a retransmission of its request with the same final response and absorbs
 * it, so nothing of it is kept but what that needs: its key and its final's
 * bytes (copied one after the other into a shared 64 KB chunk), the hash of
 * its key, where those bytes are, its deadline, and the (shared, one per
 * remote address and port) source it came from. No JavaScript object per
 * transaction: at 10,000 NOTIFYs/s 320,000 of them wait at any moment, and
 * an object, a key string and a `Map` entry each were copied by scavenges and
 * marked by every mark-compact (issue 11, "Timer J at 10,000/s").
 *
 * Records sit in a ring of slots in the order they were kept; Timer J is the
 * same delay for all, so the ring's oldest record is the next due (one
 * scheduler timer for all) and chunks fall out of use oldest first. A record
 * is found through an open-addressing table (linear probing) of slot numbers
 * keyed by the key's hash; a hash match is confirmed against the key's bytes
 * kept in the chunk, so two keys with the same hash are never confused. The
 * match is exactly the transaction layer's (RFC 3261 §17.2.3, and the RFC
 * 2543 fallback): the same key strings, compared whole.
 */
export class CompletedServerTransactions {
  private capacity = FIRST_CAPACITY;
  private mask = FIRST_CAPACITY - 1;
  /** The record's ticket while it is kept, NONE otherwise. */
  private tickets = new Int32Array(FIRST_CAPACITY).fill(NONE);
  private deadlines = new Float64Array(FIRST_CAPACITY);
  private hashes = new Int32Array(FIRST_CAPACITY);
  /** Number of the chunk holding the key and the response (chunk numbers only grow). */
  private chunkNumbers = new Float64Array(FIRST_CAPACITY);
  /** Where the key's UTF-8 bytes start in the chunk; the response follows them. */
  private offsets = new Int32Array(FIRST_CAPACITY);
  private keyLengths = new Int32Array(FIRST_CAPACITY);
  private responseLengths = new Int32Array(FIRST_CAPACITY);
  /** The request's source (one object per remote address and port, shared), for the socket and the destination. */
  private sources: Array<ReceivedFrom | undefined> = new Array<ReceivedFrom | undefined>(FIRST_CAPACITY).fill(undefined);
  /** Where responses go when it is not the source's own address and port (rare: see responseDestinationUnlessSource). */
  private destinations: Array<SipEndpoint | undefined> = new Array<SipEndpoint | undefined>(FIRST_CAPACITY).fill(undefined);
  /** Slot + 1 per entry (0: empty), twice the ring's capacity: at most half full. */
  private index = new Int32Array(2 * FIRST_CAPACITY);
  private indexMask = 2 * FIRST_CAPACITY - 1;
  /** Ticket of the oldest position in the ring, and of the next record to keep. */
  private head = 0;
  private tail = 0;
  private live = 0;
  private chunks: Buffer[] = [];
  /** The number of chunks[0]. */
  private firstChunk = 0;
  private chunkUsed = 0;
  private scratch = Buffer.allocUnsafeSlow(256);
  private timer: Timer | undefined;

  constructor(
    private readonly scheduler: TimerScheduler,
    private readonly delayMs: number,
    /** Tests give a poor hash to check that colliding keys are told apart. */
    private readonly hashOf: (key: string) => number = transactionKeyHash,
  ) {}

  /** Records kept (not yet expired nor dropped). */
  get size(): number {
    return this.live;
  }

  /** Chunks of response bytes held (for tests and measurement). */
  get chunkCount(): number {
    return this.chunks.length;
  }

  /**
   * Keeps the transaction `key`, completed with `response` (copied: the caller may reuse it),
   * for `delayMs`; returns its ticket. The key must not be kept already (the layer looks first).
   */
  keep(key: string, response: Uint8Array, source: ReceivedFrom, destination: SipEndpoint | undefined): number {
    if (((this.tail - this.head) & TICKET_MASK) === this.capacity) this.grow();
    const ticket = this.tail;
    const slot = ticket & this.mask;
    // A UTF-8 character takes at most 3 bytes per UTF-16 code unit.
    const need = key.length * 3 + response.byteLength;
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.chunkUsed + need > chunk.length) {
      chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, need));
      this.chunks.push(chunk);
      this.chunkUsed = 0;
    }
    const at = this.chunkUsed;
    const keyLength = chunk.write(key, at, 'utf8');
    chunk.set(response, at + keyLength);
    this.chunkUsed = at + keyLength + response.byteLength;
    const hash = this.hashOf(key);
    this.tickets[slot] = ticket;
    this.deadlines[slot] = this.scheduler.clock.now() + this.delayMs;
    this.hashes[slot] = hash;
    this.chunkNumbers[slot] = this.firstChunk + this.chunks.length - 1;
    this.offsets[slot] = at;
    this.keyLengths[slot] = keyLength;
    this.responseLengths[slot] = response.byteLength;
    this.sources[slot] = source;
    this.destinations[slot] = destination;
    this.insert(slot, hash);
    this.tail = (ticket + 1) & TICKET_MASK;
    this.live++;
    if (this.timer === undefined) this.arm();
    return ticket;
  }

  /** The ticket of the record kept for `key`, or -1. */
  find(key: string): number {
    const hash = this.hashOf(key);
    const index = this.index;
    const indexMask = this.indexMask;
    for (let i = home(hash, indexMask); ; i = (i + 1) & indexMask) {
      const entry = index[i]!;
      if (entry === 0) return NONE;
      const slot = entry - 1;
      if (this.hashes[slot] === hash && this.keyMatches(slot, key)) return this.tickets[slot]!;
    }
  }

  /** True while the record `ticket` is kept (neither expired nor dropped). */
  has(ticket: number): boolean {
    return ticket >= 0 && this.tickets[ticket & this.mask] === ticket;
  }

  /** The kept final's bytes (a view of the chunk), of a kept record. */
  response(ticket: number): Buffer {
    const slot = ticket & this.mask;
    const chunk = this.chunks[this.chunkNumbers[slot]! - this.firstChunk]!;
    const start = this.offsets[slot]! + this.keyLengths[slot]!;
    return chunk.subarray(start, start + this.responseLengths[slot]!);
  }

  /** The source of the request, of a kept record. */
  source(ticket: number): ReceivedFrom {
    return this.sources[ticket & this.mask]!;
  }

  /** Where responses go, of a kept record: undefined for the source's own address and port. */
  destination(ticket: number): SipEndpoint | undefined {
    return this.destinations[ticket & this.mask];
  }

  /** Ends the record now (a transport failure, RFC 3261 §17.2.4); nothing happens if it is no longer kept. */
  drop(ticket: number): void {
    if (!this.has(ticket)) return;
    this.end(ticket & this.mask);
  }

  /** Forgets every record without expiring any (shutdown). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    for (let t = this.head; t !== this.tail; t = (t + 1) & TICKET_MASK) {
      const slot = t & this.mask;
      this.tickets[slot] = NONE;
      this.sources[slot] = undefined;
      this.destinations[slot] = undefined;
    }
    this.index.fill(0);
    this.head = this.tail;
    this.live = 0;
    this.firstChunk += this.chunks.length;
    this.chunks = [];
    this.chunkUsed = 0;
  }

  private end(slot: number): void {
    this.remove(slot);
    this.tickets[slot] = NONE;
    this.sources[slot] = undefined;
    this.destinations[slot] = undefined;
    this.live--;
  }

  private keyMatches(slot: number, key: string): boolean {
    if (this.scratch.length < key.length * 3) this.scratch = Buffer.allocUnsafeSlow(key.length * 3);
    const length = this.scratch.write(key, 0, 'utf8');
    if (length !== this.keyLengths[slot]) return false;
    const chunk = this.chunks[this.chunkNumbers[slot]! - this.firstChunk]!;
    const at = this.offsets[slot]!;
    return chunk.compare(this.scratch, 0, length, at, at + length) === 0;
  }

  private insert(slot: number, hash: number): void {
    const index = this.index;
    const indexMask = this.indexMask;
    let i = home(hash, indexMask);
    while (index[i] !== 0) i = (i + 1) & indexMask;
    index[i] = slot + 1;
  }

  /** Takes `slot` out of the index, moving later entries of its probe run back (no tombstones). */
  private remove(slot: number): void {
    const index = this.index;
    const indexMask = this.indexMask;
    let i = home(this.hashes[slot]!, indexMask);
    while (index[i] !== slot + 1) i = (i + 1) & indexMask;
    let j = i;
    for (;;) {
      j = (j + 1) & indexMask;
      const entry = index[j]!;
      if (entry === 0) break;
      const k = home(this.hashes[entry - 1]!, indexMask);
      // The entry at j may move to the hole at i only if its home is not within (i, j].
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      index[i] = entry;
      i = j;
    }
    index[i] = 0;
  }

  /** Doubles the ring (and the index), keeping every position at its ticket's new slot. */
  private grow(): void {
    const capacity = this.capacity * 2;
    const mask = capacity - 1;
    const tickets = new Int32Array(capacity).fill(NONE);
    const deadlines = new Float64Array(capacity);
    const hashes = new Int32Array(capacity);
    const chunkNumbers = new Float64Array(capacity);
    const offsets = new Int32Array(capacity);
    const keyLengths = new Int32Array(capacity);
    const responseLengths = new Int32Array(capacity);
    const sources = new Array<ReceivedFrom | undefined>(capacity).fill(undefined);
    const destinations = new Array<SipEndpoint | undefined>(capacity).fill(undefined);
    const index = new Int32Array(2 * capacity);
    const indexMask = 2 * capacity - 1;
    for (let t = this.head; t !== this.tail; t = (t + 1) & TICKET_MASK) {
      const from = t & this.mask;
      const to = t & mask;
      tickets[to] = this.tickets[from]!;
      deadlines[to] = this.deadlines[from]!;
      hashes[to] = this.hashes[from]!;
      chunkNumbers[to] = this.chunkNumbers[from]!;
      offsets[to] = this.offsets[from]!;
      keyLengths[to] = this.keyLengths[from]!;
      responseLengths[to] = this.responseLengths[from]!;
      sources[to] = this.sources[from];
      destinations[to] = this.destinations[from];
      if (tickets[to] !== NONE) {
        let i = home(hashes[to]!, indexMask);
        while (index[i] !== 0) i = (i + 1) & indexMask;
        index[i] = to + 1;
      }
    }
    this.capacity = capacity;
    this.mask = mask;
    this.tickets = tickets;
    this.deadlines = deadlines;
    this.hashes = hashes;
    this.chunkNumbers = chunkNumbers;
    this.offsets = offsets;
    this.keyLengths = keyLengths;
    this.responseLengths = responseLengths;
    this.sources = sources;
    this.destinations = destinations;
    this.index = index;
    this.indexMask = indexMask;
  }

  /** Wakes up for the oldest position in the ring (dropped records are ended when their time comes). */
  private arm(): void {
    if (this.head === this.tail) return;
    const at = this.deadlines[this.head & this.mask]!;
    this.timer = this.scheduler.after(Math.max(0, at - this.scheduler.clock.now()), this.fire);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.scheduler.clock.now();
    let budget = BATCH;
    while (this.head !== this.tail && budget-- > 0) {
      const slot = this.head & this.mask;
      if (this.deadlines[slot]! > now) break;
      if (this.tickets[slot] !== NONE) this.end(slot);
      this.head = (this.head + 1) & TICKET_MASK;
    }
    this.releaseChunks();
    this.arm();
  };

  /** Lets go of the chunks older than the oldest position's (the current chunk stays for the next records). */
  private releaseChunks(): void {
    const current = this.firstChunk + this.chunks.length - 1;
    const oldest = this.head === this.tail ? current : this.chunkNumbers[this.head & this.mask]!;
    const unused = Math.min(oldest, current) - this.firstChunk;
    if (unused <= 0) return;
    this.chunks.splice(0, unused);
    this.firstChunk += unused;
  }
}

/** Where a hash's probe run starts in an index of `indexMask + 1` entries. */
function home(hash: number, indexMask: number): number {
  return (hash ^ (hash >>> 15)) & indexMask;
}
