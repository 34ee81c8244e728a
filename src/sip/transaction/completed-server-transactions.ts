import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';
import type { ReceivedFrom, SipEndpoint } from '../transport/types.js';
import { mappedBuffer, mappedFloat64Array, mappedInt32Array } from '../../util/mapped-memory.js';

/** Chunks of 64 KB: about 140 kept finals to NOTIFYs each (≈400 octets, with their keys). */
const CHUNK_BYTES = 64 * 1024;
/** Most records ended per wake-up, so that a backlog of expiries cannot starve I/O. */
const BATCH = 4096;
/** Tickets count kept records modulo 2^30: small integers however long the process runs. */
const TICKET_MASK = 0x3fffffff;
const FIRST_CAPACITY = 1024;
const FIRST_INDEX_SIZE = 2 * FIRST_CAPACITY;
/**
 * Positions of the old table moved into the new one per record kept while the table grows: it
 * grows at a quarter full into twice its size, so it has moved everything before the new one is a
 * fifth full.
 */
const MIGRATE_STEP = 8;
/**
 * Chunks let go and kept for the next records, at most (4 MB): enough for a steady rate's turnover
 * (one chunk comes free as one fills), not a burst's peak.
 */
const MAX_SPARE_CHUNKS = 64;
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
 * is found through an open-addressing table (linear probing) of tickets
 * keyed by the key's hash; a hash match is confirmed against the key's bytes
 * kept in the chunk, so two keys with the same hash are never confused. The
 * match is exactly the transaction layer's (RFC 3261 §17.2.3, and the RFC
 * 2543 fallback): the same key strings, compared whole.
 *
 * The table does not grow in one go on the NOTIFY path: it holds tickets, not
 * slots, so the ring's resize only copies its columns (one TypedArray#set per
 * run) and leaves the table alone, and the table grows into one twice its size
 * a few entries per record kept (both are looked in meanwhile). The ring's
 * doublings used to rebuild the table too, and held the event loop for 12 ms
 * (to 262,144 slots) and 50 ms (to 524,288) in W2's 10,000/s and 15,000/s
 * steps (docs/latency-tail.md, "The ring's doublings").
 */
export class CompletedServerTransactions {
  // The ring's columns, one typed array each, all of `capacity` slots (made by `allocate`).
  private capacity = 0;
  private mask = 0;
  /** The record's ticket while it is kept, NONE otherwise. */
  private tickets!: Int32Array;
  private deadlines!: Float64Array;
  private hashes!: Int32Array;
  /** Number of the chunk holding the key and the response (chunk numbers only grow). */
  private chunkNumbers!: Float64Array;
  /** Where the key's UTF-8 bytes start in the chunk; the response follows them. */
  private offsets!: Int32Array;
  private keyLengths!: Int32Array;
  private responseLengths!: Int32Array;
  /** The request's source (one object per remote address and port, shared), for the socket and the destination: see `endpoints`. */
  private sourceIds!: Int32Array;
  /** Where responses go when it is not the source's own address and port (rare: see responseDestinationUnlessSource), or 0. */
  private destinationIds!: Int32Array;
  /** Ticket + 1 per entry (0: empty), at most a quarter full: it grows (`growIndex`) before it would be more. */
  private index = mappedInt32Array(FIRST_INDEX_SIZE);
  private indexMask = FIRST_INDEX_SIZE - 1;
  /**
   * While the table grows: the table twice its size that new entries go to, and the position of
   * the old one up to which every entry has been moved there (`migrateIndex`). A record is in one
   * of the two.
   */
  private nextIndex: Int32Array | undefined;
  private nextIndexMask = 0;
  private migratedTo = 0;
  /** Ticket of the oldest position in the ring, and of the next record to keep. */
  private head = 0;
  private tail = 0;
  private live = 0;
  private chunks: Buffer[] = [];
  /** The number of chunks[0]. */
  private firstChunk = 0;
  private chunkUsed = 0;
  /**
   * Chunks whose records have all ended, written over by the next records instead of a new chunk
   * each time. A chunk is memory outside the JavaScript heap, and V8 counts such memory allocated
   * since its last mark-compact towards starting the next one, while a chunk let go is freed only
   * by a mark-compact (it lived 32 s: it is in the old generation): a new chunk per 64 KB made a
   * mark-compact every 2-4 s at 10,000 NOTIFY/s (issue 11, docs/latency-tail.md "Timer J's chunks
   * and V8's external memory").
   */
  private spareChunks: Buffer[] = [];
  private scratch = Buffer.allocUnsafeSlow(256);
  private timer: Timer | undefined;
  /**
   * Sources and destinations, numbered (from 1) and counted by the records that use them: a
   * record holds a number, not a pointer, so that no array of 320,000 pointers is written
   * (a write barrier each) and traced by every mark-compact.
   */
  private endpoints: Array<ReceivedFrom | SipEndpoint | undefined> = [undefined];
  private readonly endpointIds = new Map<ReceivedFrom | SipEndpoint, number>();
  private endpointUses = new Int32Array(64);
  private freeEndpointIds: number[] = [];
  /** The endpoint numbered last (the usual source of the next request too). */
  private lastEndpoint: ReceivedFrom | SipEndpoint | undefined;
  private lastEndpointId = 0;
  /** The key `find` was last asked for, and its hash. */
  private lastKey = '';
  private lastHash = 0;

  constructor(
    private readonly scheduler: TimerScheduler,
    private readonly delayMs: number,
    /** Tests give a poor hash to check that colliding keys are told apart. */
    private readonly hashOf: (key: string) => number = transactionKeyHash,
  ) {
    this.allocate(FIRST_CAPACITY);
  }

  /** Records kept (not yet expired nor dropped). */
  get size(): number {
    return this.live;
  }

  /** Slots of the ring (for tests and measurement): grows with the positions in use, shrinks after a burst. */
  get slotCount(): number {
    return this.capacity;
  }

  /** Positions of the lookup table (for tests): it grows a few entries at a time, and shrinks after a burst. */
  get indexSize(): number {
    return this.indexMask + 1;
  }

  /** True while the lookup table is growing into a larger one (for tests). */
  get indexGrowing(): boolean {
    return this.nextIndex !== undefined;
  }

  /** Chunks of response bytes held (for tests and measurement). */
  get chunkCount(): number {
    return this.chunks.length;
  }

  /** Chunks let go by their records and kept for the next ones (for tests and measurement). */
  get spareChunkCount(): number {
    return this.spareChunks.length;
  }

  /**
   * Keeps the transaction `key`, completed with `response` (copied: the caller may reuse it),
   * for `delayMs`; returns its ticket. The key must not be kept already (the layer looks first).
   */
  keep(key: string, response: Uint8Array, source: ReceivedFrom, destination: SipEndpoint | undefined): number {
    if (((this.tail - this.head) & TICKET_MASK) === this.capacity) this.resize(this.capacity * 2);
    const ticket = this.tail;
    const slot = ticket & this.mask;
    // A UTF-8 character takes at most 3 bytes per UTF-16 code unit.
    const need = key.length * 3 + response.byteLength;
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.chunkUsed + need > chunk.length) {
      chunk = (need <= CHUNK_BYTES ? this.spareChunks.pop() : undefined) ?? mappedBuffer(Math.max(CHUNK_BYTES, need));
      this.chunks.push(chunk);
      this.chunkUsed = 0;
    }
    const at = this.chunkUsed;
    const keyLength = this.encodeKey(key);
    this.scratch.copy(chunk, at, 0, keyLength);
    chunk.set(response, at + keyLength);
    this.chunkUsed = at + keyLength + response.byteLength;
    // The layer looked the key up just before (a new request): its hash is known.
    const hash = key === this.lastKey ? this.lastHash : this.hashOf(key);
    this.lastKey = '';
    this.tickets[slot] = ticket;
    this.deadlines[slot] = this.scheduler.clock.now() + this.delayMs;
    this.hashes[slot] = hash;
    this.chunkNumbers[slot] = this.firstChunk + this.chunks.length - 1;
    this.offsets[slot] = at;
    this.keyLengths[slot] = keyLength;
    this.responseLengths[slot] = response.byteLength;
    this.sourceIds[slot] = this.endpointId(source);
    this.destinationIds[slot] = destination === undefined ? 0 : this.endpointId(destination);
    this.insert(ticket, hash);
    this.tail = (ticket + 1) & TICKET_MASK;
    this.live++;
    if (this.timer === undefined) this.arm();
    return ticket;
  }

  /** The ticket of the record kept for `key`, or -1. */
  find(key: string): number {
    const hash = this.hashOf(key);
    this.lastKey = key;
    this.lastHash = hash;
    const ticket = this.findIn(this.index, this.indexMask, hash, key);
    if (ticket !== NONE || this.nextIndex === undefined) return ticket;
    return this.findIn(this.nextIndex, this.nextIndexMask, hash, key);
  }

  private findIn(index: Int32Array, indexMask: number, hash: number, key: string): number {
    for (let i = home(hash, indexMask); ; i = (i + 1) & indexMask) {
      const entry = index[i]!;
      if (entry === 0) return NONE;
      const slot = (entry - 1) & this.mask;
      if (this.hashes[slot] === hash && this.keyMatches(slot, key)) return entry - 1;
    }
  }

  /** True while the record `ticket` is kept (neither expired nor dropped). */
  has(ticket: number): boolean {
    return ticket >= 0 && this.tickets[ticket & this.mask] === ticket;
  }

  /**
   * The kept final's bytes, of a kept record: a copy, not a view of the chunk, since the chunk is
   * written over once its records have ended, and a send the socket had to queue may still read
   * them then (a retransmission is rare: the copy costs nothing measurable).
   */
  response(ticket: number): Buffer {
    const slot = ticket & this.mask;
    const chunk = this.chunks[this.chunkNumbers[slot]! - this.firstChunk]!;
    const start = this.offsets[slot]! + this.keyLengths[slot]!;
    return Buffer.from(chunk.subarray(start, start + this.responseLengths[slot]!));
  }

  /** The source of the request, of a kept record. */
  source(ticket: number): ReceivedFrom {
    return this.endpoints[this.sourceIds[ticket & this.mask]!] as ReceivedFrom;
  }

  /** Where responses go, of a kept record: undefined for the source's own address and port. */
  destination(ticket: number): SipEndpoint | undefined {
    const id = this.destinationIds[ticket & this.mask]!;
    return id === 0 ? undefined : (this.endpoints[id] as SipEndpoint);
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
    for (let t = this.head; t !== this.tail; t = (t + 1) & TICKET_MASK) this.tickets[t & this.mask] = NONE;
    this.index.fill(0);
    this.nextIndex = undefined;
    this.endpoints = [undefined];
    this.endpointIds.clear();
    this.endpointUses.fill(0);
    this.freeEndpointIds = [];
    this.lastEndpoint = undefined;
    this.head = this.tail;
    this.live = 0;
    this.firstChunk += this.chunks.length;
    this.chunks = [];
    this.chunkUsed = 0;
    this.spareChunks = [];
  }

  private end(slot: number): void {
    this.remove(slot);
    this.tickets[slot] = NONE;
    this.release(this.sourceIds[slot]!);
    const destination = this.destinationIds[slot]!;
    if (destination !== 0) this.release(destination);
    this.live--;
  }

  private endpointId(endpoint: ReceivedFrom | SipEndpoint): number {
    let id = endpoint === this.lastEndpoint ? this.lastEndpointId : this.endpointIds.get(endpoint);
    if (id === undefined) {
      id = this.freeEndpointIds.pop() ?? this.endpoints.length;
      this.endpoints[id] = endpoint;
      this.endpointIds.set(endpoint, id);
      if (id >= this.endpointUses.length) {
        const uses = new Int32Array(2 * this.endpointUses.length);
        uses.set(this.endpointUses);
        this.endpointUses = uses;
      }
    }
    this.lastEndpoint = endpoint;
    this.lastEndpointId = id;
    this.endpointUses[id]!++;
    return id;
  }

  /** A record no longer uses endpoint `id`: the last one lets it go. */
  private release(id: number): void {
    if (--this.endpointUses[id]! > 0) return;
    const endpoint = this.endpoints[id]!;
    this.endpointIds.delete(endpoint);
    this.endpoints[id] = undefined;
    this.freeEndpointIds.push(id);
    if (endpoint === this.lastEndpoint) this.lastEndpoint = undefined;
  }

  private keyMatches(slot: number, key: string): boolean {
    const kept = this.keyLengths[slot]!;
    // UTF-8 takes 1 to 3 bytes per UTF-16 code unit: most other keys are told apart by length.
    if (kept < key.length || kept > 3 * key.length) return false;
    const length = this.encodeKey(key);
    if (length !== kept) return false;
    const chunk = this.chunks[this.chunkNumbers[slot]! - this.firstChunk]!;
    const at = this.offsets[slot]!;
    return chunk.compare(this.scratch, 0, length, at, at + length) === 0;
  }

  /**
   * Writes `key` as UTF-8 at the start of the scratch buffer and returns its length. The usual key
   * is ASCII (branch, host, port, method: RFC 3261 tokens), copied by code unit here rather than
   * through Buffer.write (a call into C++). Into the scratch, a plain Buffer, and from there into a
   * chunk with one Buffer#copy: a chunk is memory V8 maps itself (util/mapped-memory.ts), and a
   * byte stored through a view of it one at a time costs up to 20× a plain one's in Node 20
   * (docs/establishment.md §15).
   */
  private encodeKey(key: string): number {
    const length = key.length;
    if (this.scratch.length < length * 3) this.scratch = Buffer.allocUnsafeSlow(length * 3);
    const scratch = this.scratch;
    for (let i = 0; i < length; i++) {
      const unit = key.charCodeAt(i);
      if (unit >= 0x80) return scratch.write(key, 0, 'utf8');
      scratch[i] = unit;
    }
    return length;
  }

  private insert(ticket: number, hash: number): void {
    if (this.nextIndex === undefined && (this.live + 1) * 4 > this.indexMask + 1) this.growIndex();
    if (this.nextIndex === undefined) {
      put(this.index, this.indexMask, hash, ticket + 1);
    } else {
      put(this.nextIndex, this.nextIndexMask, hash, ticket + 1);
      this.migrateIndex(MIGRATE_STEP);
    }
  }

  /** Takes the record in `slot` out of the table that holds it. */
  private remove(slot: number): void {
    const entry = this.tickets[slot]! + 1;
    const hash = this.hashes[slot]!;
    if (this.removeFrom(this.index, this.indexMask, hash, entry) || this.nextIndex === undefined) return;
    this.removeFrom(this.nextIndex, this.nextIndexMask, hash, entry);
  }

  private removeFrom(index: Int32Array, indexMask: number, hash: number, entry: number): boolean {
    for (let i = home(hash, indexMask); ; i = (i + 1) & indexMask) {
      const at = index[i]!;
      if (at === 0) return false;
      if (at === entry) {
        this.emptyAt(index, indexMask, i);
        return true;
      }
    }
  }

  /**
   * Empties position `i` of a table, moving later entries of its probe run back (no tombstones):
   * every entry stays reachable from its home by a run without a hole.
   */
  private emptyAt(index: Int32Array, indexMask: number, i: number): void {
    let j = i;
    for (;;) {
      j = (j + 1) & indexMask;
      const entry = index[j]!;
      if (entry === 0) break;
      const k = home(this.hashOfEntry(entry), indexMask);
      // The entry at j may move to the hole at i only if its home is not within (i, j].
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      index[i] = entry;
      i = j;
    }
    index[i] = 0;
  }

  /** The key's hash of a table entry (ticket + 1 of a kept record). */
  private hashOfEntry(entry: number): number {
    return this.hashes[(entry - 1) & this.mask]!;
  }

  /** Starts growing the table into one twice its size (`migrateIndex` moves the entries). */
  private growIndex(): void {
    const size = 2 * (this.indexMask + 1);
    this.nextIndex = mappedInt32Array(size);
    this.nextIndexMask = size - 1;
    this.migratedTo = 0;
  }

  /**
   * Moves the entries of up to `positions` positions of the old table into the new one, in order.
   * Emptying a position moves later entries of its run back, maybe into it: it is looked at again.
   * Every position before `migratedTo` is then empty, so a lookup in the old table still finds
   * what it holds (a run never crosses an empty position). Done, the new table replaces it.
   */
  private migrateIndex(positions: number): void {
    const old = this.index;
    const oldMask = this.indexMask;
    const next = this.nextIndex!;
    const nextMask = this.nextIndexMask;
    let at = this.migratedTo;
    for (let budget = positions; budget > 0 && at <= oldMask; budget--) {
      const entry = old[at]!;
      if (entry === 0) {
        at++;
        continue;
      }
      put(next, nextMask, this.hashOfEntry(entry), entry);
      this.emptyAt(old, oldMask, at);
    }
    this.migratedTo = at;
    if (at > oldMask) {
      this.index = next;
      this.indexMask = nextMask;
      this.nextIndex = undefined;
    }
  }

  /**
   * After a burst has expired, a table far larger than the records need is made smaller at once:
   * a pass over it, only when at most a sixteenth of it is in use (rare, and cheap at that point).
   */
  private shrinkIndex(): void {
    const size = this.indexMask + 1;
    if (this.nextIndex !== undefined || size <= FIRST_INDEX_SIZE || this.live * 16 > size) return;
    let smaller = FIRST_INDEX_SIZE;
    while (smaller < 8 * this.live) smaller *= 2;
    const old = this.index;
    const index = mappedInt32Array(smaller);
    const indexMask = smaller - 1;
    for (let i = 0; i < size; i++) {
      const entry = old[i]!;
      if (entry !== 0) put(index, indexMask, this.hashOfEntry(entry), entry);
    }
    this.index = index;
    this.indexMask = indexMask;
  }

  /** Gives the ring empty columns of `capacity` slots (a power of two). */
  private allocate(capacity: number): void {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.tickets = mappedInt32Array(capacity).fill(NONE);
    this.deadlines = mappedFloat64Array(capacity);
    this.hashes = mappedInt32Array(capacity);
    this.chunkNumbers = mappedFloat64Array(capacity);
    this.offsets = mappedInt32Array(capacity);
    this.keyLengths = mappedInt32Array(capacity);
    this.responseLengths = mappedInt32Array(capacity);
    this.sourceIds = mappedInt32Array(capacity);
    this.destinationIds = mappedInt32Array(capacity);
  }

  /**
   * Gives the ring `capacity` slots, keeping every position between the oldest and
   * the next at its ticket's new slot: doubled when full, made smaller again once a burst has
   * expired (`fire`), so that a peak of 10,000 NOTIFYs/s does not hold its ≈ 27 MB of columns for
   * the life of the process. `capacity` is a power of two not below the positions in use.
   */
  private resize(capacity: number): void {
    const before = this.columns();
    const beforeMask = this.mask;
    const span = (this.tail - this.head) & TICKET_MASK;
    this.allocate(capacity);
    const after = this.columns();
    // Positions in use are copied a run at a time (one TypedArray#set per column): a run ends where
    // either ring wraps, so there are at most three. The columns are mapped memory, and a copy slot
    // by slot through their views is slower than through plain ones in code that runs too rarely
    // to be optimized (util/mapped-memory.ts). The table holds tickets: it stays as it is.
    for (let t = this.head, left = span; left > 0; ) {
      const from = t & beforeMask;
      const to = t & this.mask;
      const run = Math.min(left, beforeMask + 1 - from, this.mask + 1 - to);
      for (let c = 0; c < after.length; c++) after[c]!.set(before[c]!.subarray(from, from + run), to);
      left -= run;
      t = (t + run) & TICKET_MASK;
    }
  }

  /** The ring's columns, in a fixed order (for `resize`). */
  private columns(): Array<Int32Array | Float64Array> {
    return [this.tickets, this.deadlines, this.hashes, this.chunkNumbers, this.offsets, this.keyLengths, this.responseLengths, this.sourceIds, this.destinationIds];
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
    // Nothing left to wait out: the spares go too, their pages back to the system (a daemon at rest
    // keeps none of a burst's chunks; the next record maps one).
    if (this.head === this.tail) this.spareChunks = [];
    // A growing table also moves on while records expire (no record kept may come for a while).
    if (this.nextIndex !== undefined) this.migrateIndex(BATCH);
    this.shrinkAfterBurst();
    this.shrinkIndex();
    this.arm();
  };

  /**
   * Once the positions in use fill at most a quarter of the ring, it is made the smallest power of
   * two that holds twice as many (at least the first capacity): a half-full ring, so that a steady
   * rate does not grow and shrink it in turns. The cost is one pass over the positions in use.
   */
  private shrinkAfterBurst(): void {
    if (this.capacity <= FIRST_CAPACITY) return;
    const span = (this.tail - this.head) & TICKET_MASK;
    if (span > this.capacity >>> 2) return;
    let capacity = FIRST_CAPACITY;
    while (capacity < 2 * span) capacity *= 2;
    this.resize(capacity);
  }

  /** Lets go of the chunks older than the oldest position's (the current chunk stays for the next records). */
  private releaseChunks(): void {
    const current = this.firstChunk + this.chunks.length - 1;
    const oldest = this.head === this.tail ? current : this.chunkNumbers[this.head & this.mask]!;
    const unused = Math.min(oldest, current) - this.firstChunk;
    if (unused <= 0) return;
    const spare = this.spareChunks;
    for (let i = 0; i < unused && spare.length < MAX_SPARE_CHUNKS; i++) {
      const chunk = this.chunks[i]!;
      if (chunk.length === CHUNK_BYTES) spare.push(chunk);
    }
    this.chunks.splice(0, unused);
    this.firstChunk += unused;
  }
}

/** Puts `entry` in the first empty position of a table from its hash's home on (the table is never full). */
function put(index: Int32Array, indexMask: number, hash: number, entry: number): void {
  let at = home(hash, indexMask);
  while (index[at] !== 0) at = (at + 1) & indexMask;
  index[at] = entry;
}

/** Where a hash's probe run starts in an index of `indexMask + 1` entries. */
function home(hash: number, indexMask: number): number {
  return (hash ^ (hash >>> 15)) & indexMask;
}
