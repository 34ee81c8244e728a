import type { Timer, TimerScheduler } from '../../util/timer-scheduler.js';
import type { ReceivedFrom, SipEndpoint } from '../transport/types.js';
import { mappedBuffer, mappedInt32Array, unmapNow } from '../../util/mapped-memory.js';
import type { SipRequest } from '../codec/message.js';
import { serializeBodylessResponse } from '../codec/bodyless-response.js';
import { headerKey } from '../codec/header-names.js';
import { CompletedRecordSegment, NONE, SEGMENT_SHIFT, SEGMENT_SLOTS, SLOT_MASK } from './completed-record-segment.js';
import type { BodylessFinal } from './transaction-context.js';

/** Chunks of 64 KB: about 140 kept finals to NOTIFYs each (≈400 octets, with their keys). */
const CHUNK_BYTES = 64 * 1024;
/** Most records ended per wake-up, so that a backlog of expiries cannot starve I/O. */
const BATCH = 4096;
/** Tickets count kept records modulo 2^30: small integers however long the process runs. */
const TICKET_MASK = 0x3fffffff;
/** Segment numbers (a ticket's high bits) wrap with the tickets. */
const SEGMENT_NUMBER_MASK = TICKET_MASK >>> SEGMENT_SHIFT;
const FIRST_INDEX_SIZE = 2048;
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
/** Segments let go and kept for the next records, at most (≈ 720 KB), for the same reason as the chunks. */
const MAX_SPARE_SEGMENTS = 4;
/**
 * Distinct ways of writing a final again (BodylessFinal) that records can name, at most: a
 * server answers with a handful (a 200 to NOTIFY, a refusal or two, with its Server header).
 */
const MAX_BODYLESS_FINALS = 16;

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
 * Records sit in segments of slots (CompletedRecordSegment) in the order they
 * were kept, a ticket each; Timer J is the same delay for all, so the oldest
 * record is the next due (one scheduler timer for all), and segments and
 * chunks fall out of use oldest first. A record
 * is found through an open-addressing table (linear probing) of tickets
 * keyed by the key's hash; a hash match is confirmed against the key's bytes
 * kept in the chunk, so two keys with the same hash are never confused. The
 * match is exactly the transaction layer's (RFC 3261 §17.2.3, and the RFC
 * 2543 fallback): the same key strings, compared whole.
 *
 * Nothing grows in one go on the NOTIFY path. Records take a new segment
 * every 4,096 and never move, and the table, which holds tickets, grows into
 * one twice its size a few entries per record kept (both are looked in
 * meanwhile). A ring of slots doubled in one go used to: rebuilding the table
 * held the event loop for 12 ms (to 262,144 slots) and 50 ms (to 524,288) in
 * W2's 10,000/s and 15,000/s steps, and copying its columns still 27-45 ms
 * (docs/latency-tail.md, "The ring's doublings" and "Timer J's records in
 * segments").
 */
export class CompletedServerTransactions {
  /**
   * The segments from the oldest position's on: segments[i] holds the tickets whose high bits are
   * `firstSegment + i`. The last may be the one before the next record's (taken when it is kept).
   */
  private segments: CompletedRecordSegment[] = [new CompletedRecordSegment()];
  private firstSegment = 0;
  /** Segments whose records have all ended, for the next records (dropped when none is kept). */
  private spareSegments: CompletedRecordSegment[] = [];
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
  /** Ticket of the oldest position (expired or not), and of the next record to keep. */
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
  /**
   * Finals without a body that records name instead of holding their octets (responseLengths
   * −1 − n for the n-th): written again from the retransmitted request (keep, response).
   */
  private readonly bodylessFinals: BodylessFinal[] = [];
  /** The key `find` was last asked for, and its hash. */
  private lastKey = '';
  private lastHash = 0;

  constructor(
    private readonly scheduler: TimerScheduler,
    private readonly delayMs: number,
    /** Tests give a poor hash to check that colliding keys are told apart. */
    private readonly hashOf: (key: string) => number = transactionKeyHash,
    /** Tests start just before the tickets wrap (at 2^30). */
    firstTicket = 0,
  ) {
    this.head = this.tail = firstTicket & TICKET_MASK;
    this.firstSegment = this.head >>> SEGMENT_SHIFT;
  }

  /** Records kept (not yet expired nor dropped). */
  get size(): number {
    return this.live;
  }

  /** Slots held (for tests and measurement): a segment's per 4,096 positions in use, never less than one segment's. */
  get slotCount(): number {
    return this.segments.length * SEGMENT_SLOTS;
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
   * With `bodyless` (how `response` was written from the request, adding no To tag), the record
   * names it instead of holding the octets: a 200 to a NOTIFY is about 360 of the 400 a record
   * took with its key (issue 11: at 10,000/s Timer J held 128 MB, and its growth, external
   * memory to V8, started a mark-compact every 5 s; docs/latency-tail.md, "Timer J keeps how to
   * answer, not the answer"): a retransmission of the request carries the same fields, and
   * `response` writes the same octets again from it.
   */
  keep(key: string, response: Uint8Array, source: ReceivedFrom, destination: SipEndpoint | undefined, bodyless?: BodylessFinal): number {
    const ticket = this.tail;
    const slot = ticket & SLOT_MASK;
    const segmentAt = ((ticket >>> SEGMENT_SHIFT) - this.firstSegment) & SEGMENT_NUMBER_MASK;
    if (segmentAt === this.segments.length) this.segments.push(this.spareSegments.pop() ?? new CompletedRecordSegment());
    const segment = this.segments[segmentAt]!;
    const final = bodyless === undefined ? -1 : this.bodylessFinalNumber(bodyless);
    const responseBytes = final < 0 ? response.byteLength : 0;
    // A UTF-8 character takes at most 3 bytes per UTF-16 code unit.
    const need = key.length * 3 + responseBytes;
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.chunkUsed + need > chunk.length) {
      chunk = (need <= CHUNK_BYTES ? this.spareChunks.pop() : undefined) ?? mappedBuffer(Math.max(CHUNK_BYTES, need));
      this.chunks.push(chunk);
      this.chunkUsed = 0;
    }
    const at = this.chunkUsed;
    const keyLength = this.encodeKey(key);
    this.scratch.copy(chunk, at, 0, keyLength);
    if (final < 0) chunk.set(response, at + keyLength);
    this.chunkUsed = at + keyLength + responseBytes;
    // The layer looked the key up just before (a new request): its hash is known.
    const hash = key === this.lastKey ? this.lastHash : this.hashOf(key);
    this.lastKey = '';
    segment.tickets[slot] = ticket;
    segment.deadlines[slot] = this.scheduler.clock.now() + this.delayMs;
    segment.hashes[slot] = hash;
    segment.chunkNumbers[slot] = this.firstChunk + this.chunks.length - 1;
    segment.offsets[slot] = at;
    segment.keyLengths[slot] = keyLength;
    segment.responseLengths[slot] = final < 0 ? response.byteLength : -1 - final;
    segment.sourceIds[slot] = this.endpointId(source);
    segment.destinationIds[slot] = destination === undefined ? 0 : this.endpointId(destination);
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
      const segment = this.segmentOf(entry - 1);
      const slot = (entry - 1) & SLOT_MASK;
      if (segment.hashes[slot] === hash && this.keyMatches(segment, slot, key)) return entry - 1;
    }
  }

  /** True while the record `ticket` is kept (neither expired nor dropped). */
  has(ticket: number): boolean {
    // Only a position between the oldest and the next has a segment.
    if (ticket < 0 || ((ticket - this.head) & TICKET_MASK) >= ((this.tail - this.head) & TICKET_MASK)) return false;
    return this.segmentOf(ticket).tickets[ticket & SLOT_MASK] === ticket;
  }

  /** The segment of a position between the oldest and the next. */
  private segmentOf(ticket: number): CompletedRecordSegment {
    return this.segments[((ticket >>> SEGMENT_SHIFT) - this.firstSegment) & SEGMENT_NUMBER_MASK]!;
  }

  /**
   * The kept final's bytes, of a kept record: a copy, not a view of the chunk, since the chunk is
   * written over once its records have ended, and a send the socket had to queue may still read
   * them then (a retransmission is rare: the copy costs nothing measurable). A final kept as a
   * BodylessFinal is written again from `request`, the retransmission (undefined without it; it
   * throws what serializeBodylessResponse throws).
   */
  response(ticket: number, request?: SipRequest): Buffer | undefined {
    const segment = this.segmentOf(ticket);
    const slot = ticket & SLOT_MASK;
    const length = segment.responseLengths[slot]!;
    if (length < 0) {
      const final = this.bodylessFinals[-1 - length]!;
      return request === undefined ? undefined : serializeBodylessResponse(request, final.status, final.reason, undefined, final.headers);
    }
    const chunk = this.chunks[segment.chunkNumbers[slot]! - this.firstChunk]!;
    const start = segment.offsets[slot]! + segment.keyLengths[slot]!;
    return Buffer.from(chunk.subarray(start, start + length));
  }

  /** Octets of keys and finals in the chunks in use (tests: what a record holds). */
  get chunkBytesUsed(): number {
    return this.chunks.length === 0 ? 0 : (this.chunks.length - 1) * CHUNK_BYTES + this.chunkUsed;
  }

  /**
   * The number of `final` among bodylessFinals (added if new), or -1: a table of at most
   * MAX_BODYLESS_FINALS, for finals that come again; one copying a Record-Route (a header
   * that differs from dialog to dialog) is kept as octets instead of taking a place.
   */
  private bodylessFinalNumber(final: BodylessFinal): number {
    const finals = this.bodylessFinals;
    for (let n = 0; n < finals.length; n++) if (sameBodylessFinal(finals[n]!, final)) return n;
    if (finals.length >= MAX_BODYLESS_FINALS) return -1;
    for (const [name] of final.headers) if (headerKey(name) === 'record-route') return -1;
    finals.push({ status: final.status, reason: final.reason, headers: final.headers.map(([name, value]) => [name, value] as const) });
    return finals.length - 1;
  }

  /** The source of the request, of a kept record. */
  source(ticket: number): ReceivedFrom {
    return this.endpoints[this.segmentOf(ticket).sourceIds[ticket & SLOT_MASK]!] as ReceivedFrom;
  }

  /** Where responses go, of a kept record: undefined for the source's own address and port. */
  destination(ticket: number): SipEndpoint | undefined {
    const id = this.segmentOf(ticket).destinationIds[ticket & SLOT_MASK]!;
    return id === 0 ? undefined : (this.endpoints[id] as SipEndpoint);
  }

  /** Ends the record now (a transport failure, RFC 3261 §17.2.4); nothing happens if it is no longer kept. */
  drop(ticket: number): void {
    if (!this.has(ticket)) return;
    this.end(this.segmentOf(ticket), ticket & SLOT_MASK);
  }

  /** Forgets every record without expiring any (shutdown). */
  clear(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.index.fill(0);
    this.nextIndex = undefined;
    this.endpoints = [undefined];
    this.endpointIds.clear();
    this.endpointUses.fill(0);
    this.freeEndpointIds = [];
    this.lastEndpoint = undefined;
    this.head = this.tail;
    this.live = 0;
    this.segments = [new CompletedRecordSegment()];
    this.firstSegment = this.tail >>> SEGMENT_SHIFT;
    this.spareSegments = [];
    this.firstChunk += this.chunks.length;
    this.chunks = [];
    this.chunkUsed = 0;
    this.spareChunks = [];
  }

  private end(segment: CompletedRecordSegment, slot: number): void {
    this.remove(segment, slot);
    segment.tickets[slot] = NONE;
    this.release(segment.sourceIds[slot]!);
    const destination = segment.destinationIds[slot]!;
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

  private keyMatches(segment: CompletedRecordSegment, slot: number, key: string): boolean {
    const kept = segment.keyLengths[slot]!;
    // UTF-8 takes 1 to 3 bytes per UTF-16 code unit: most other keys are told apart by length.
    if (kept < key.length || kept > 3 * key.length) return false;
    const length = this.encodeKey(key);
    if (length !== kept) return false;
    const chunk = this.chunks[segment.chunkNumbers[slot]! - this.firstChunk]!;
    const at = segment.offsets[slot]!;
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

  /** Takes the record in `slot` of `segment` out of the table that holds it. */
  private remove(segment: CompletedRecordSegment, slot: number): void {
    const entry = segment.tickets[slot]! + 1;
    const hash = segment.hashes[slot]!;
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
    return this.segmentOf(entry - 1).hashes[(entry - 1) & SLOT_MASK]!;
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
      unmapNow(old);
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
    unmapNow(old);
    this.index = index;
    this.indexMask = indexMask;
  }

  /** Wakes up for the oldest position (dropped records are ended when their time comes). */
  private arm(): void {
    if (this.head === this.tail) return;
    const at = this.segmentOf(this.head).deadlines[this.head & SLOT_MASK]!;
    this.timer = this.scheduler.after(Math.max(0, at - this.scheduler.clock.now()), this.fire);
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = this.scheduler.clock.now();
    let budget = BATCH;
    while (this.head !== this.tail && budget-- > 0) {
      const segment = this.segmentOf(this.head);
      const slot = this.head & SLOT_MASK;
      if (segment.deadlines[slot]! > now) break;
      if (segment.tickets[slot] !== NONE) this.end(segment, slot);
      this.head = (this.head + 1) & TICKET_MASK;
    }
    this.releaseChunks();
    this.releaseSegments();
    // Nothing left to wait out: the spares go too, their pages back to the system (a daemon at rest
    // keeps none of a burst's chunks or segments; the next record maps what it needs).
    if (this.head === this.tail) {
      for (const chunk of this.spareChunks) unmapNow(chunk);
      for (const segment of this.spareSegments) segment.unmap();
      this.spareChunks = [];
      this.spareSegments = [];
    }
    // A growing table also moves on while records expire (no record kept may come for a while).
    if (this.nextIndex !== undefined) this.migrateIndex(BATCH);
    this.shrinkIndex();
    this.arm();
  };

  /**
   * Lets go of the segments before the oldest position's, into the spares (up to a few). The last
   * one stays even then (the oldest position is the next record's, at the start of a segment not
   * yet taken): the next records' slots.
   */
  private releaseSegments(): void {
    const headSegment = this.head >>> SEGMENT_SHIFT;
    while (this.firstSegment !== headSegment && this.segments.length > 1) {
      const segment = this.segments.shift()!;
      if (this.spareSegments.length < MAX_SPARE_SEGMENTS) this.spareSegments.push(segment);
      else segment.unmap();
      this.firstSegment = (this.firstSegment + 1) & SEGMENT_NUMBER_MASK;
    }
  }

  /** Lets go of the chunks older than the oldest position's (the current chunk stays for the next records). */
  private releaseChunks(): void {
    const current = this.firstChunk + this.chunks.length - 1;
    const oldest = this.head === this.tail ? current : this.segmentOf(this.head).chunkNumbers[this.head & SLOT_MASK]!;
    const unused = Math.min(oldest, current) - this.firstChunk;
    if (unused <= 0) return;
    const spare = this.spareChunks;
    for (let i = 0; i < unused; i++) {
      const chunk = this.chunks[i]!;
      // Those not kept go back to the system now, not in a mark-compact's pause (unmapNow).
      if (chunk.length === CHUNK_BYTES && spare.length < MAX_SPARE_CHUNKS) spare.push(chunk);
      else unmapNow(chunk);
    }
    this.chunks.splice(0, unused);
    this.firstChunk += unused;
  }
}

function sameBodylessFinal(a: BodylessFinal, b: BodylessFinal): boolean {
  if (a.status !== b.status || a.reason !== b.reason || a.headers.length !== b.headers.length) return false;
  for (let i = 0; i < a.headers.length; i++) {
    const x = a.headers[i]!;
    const y = b.headers[i]!;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
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
