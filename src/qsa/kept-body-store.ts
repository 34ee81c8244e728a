import { Buffer } from 'node:buffer';
import type { Clock } from '../util/clock.js';
import { mappedBuffer, unmapNow } from '../util/mapped-memory.js';
import { type FrameDeltaSize, decodeFrameDelta, encodeFrameDelta, frameDeltaHolds } from './frame-delta.js';
import { QsaError } from './qsa-error.js';

/**
 * Where the bodies of last statuses are kept once nobody outside QSA holds
 * them (issue 11; docs/establishment.md §5.1 and §5.5): packed into shared
 * slabs, each body copied in once and copied out to whoever reads it.
 *
 * Why: a held subscription's last status body (a PIDF of ≈ 0.7 KB) was its
 * own Uint8Array, its bytes a malloc'd block in glibc's main arena among the
 * packets and responses of the same burst. glibc keeps what is freed in the
 * middle of its heap, so the main arena at rest stayed at the burst's
 * high-water mark whatever was still live, and each body also cost 184 B of
 * V8 heap (its Uint8Array and ArrayBuffer objects).
 *
 * A slab is memory V8 maps itself, outside malloc (util/mapped-memory.ts
 * says why): a slab never lands in the main arena, a page is resident only
 * once a slot on it has been used, and a slab let go gives its pages back. Each slab holds slots of one size
 * (slotBytesFor: at most ≈ 3 % of a slot unused); a class fills its oldest
 * slab first, so the newest drain, and a slab left nearly empty is evacuated
 * into the others (its bodies moved, their KeptBody handles updated) and let
 * go.
 *
 * Compaction (docs/establishment.md §13): a body that stayed the last status
 * for a while (KeptBodyStoreOptions.compactAfterMs) is moved, by a sweep on
 * the store's own timer and never on the NOTIFY path, into a slot that holds
 * only what it does not share with a frame: one kept body of the store,
 * copied once and never changed (the documents of one presence server are one
 * template filled in, so most of their bytes are the frame's). The slot then
 * holds the body's differences from the frame (frame-delta.ts: the runs that
 * differ, and where); a read assembles the same bytes as before.
 *
 * Safety: no view of a slab ever leaves this file. A reader gets its own
 * copy (KeptBody.copy), so a slot can be reused or moved as soon as the last
 * holder released it, whatever a reader still has.
 */

/** Bytes per slab: 1/4 MB, a few hundred bodies of a usual presence document. */
export const SLAB_BYTES = 256 * 1024;
/** Released handles kept for reuse (recycle): a burst of releases beyond it leaves the rest to the GC. */
const MAX_SPARE_BODIES = 1024;
/** Larger bodies are not packed (rare; a slab would hold a handful): the holder keeps its own Uint8Array. */
export const LARGEST_KEPT_BODY = 16 * 1024;

/**
 * ms a body stays unchanged before it is compacted, for the B2B's own broker
 * and the daemon's `kept_body_compaction_ms` (docs/establishment.md §13–14).
 * Tens of seconds: a presence status that changes every few seconds is never
 * compacted (W2's bodies: none), one held for minutes is, ≈ 0.4 KB less RSS per
 * held subscription at 100,000; and short enough that W0's 33 s at rest sees
 * it. The sweep is thin (SWEEP_BUDGET_US per tick): the old one, 512 bodies
 * per turn at 1,000 ms, had lifted W2's UDP p99 (§13.5).
 */
export const DEFAULT_KEPT_BODY_COMPACTION_MS = 20_000;
/** A body is compacted only if its delta takes at least this many of its bytes from the frame. */
export const MIN_SHARED = 64;
/** After this many bodies in a row that share too little, the next such body becomes the frame. */
const MISSES_BEFORE_NEW_FRAME = 16;
/** Slab.keptIn of a body the sweep left whole (it shares too little with the frame): not looked at again. */
const NEVER_COMPACT = -1;
/**
 * µs of the event loop one tick of the sweep may take (measured with the
 * store's clock, checked after each body compacted and every SCAN_CHECK slots
 * looked at): a NOTIFY read while the sweep runs waits at most about this long
 * for it (docs/establishment.md §14).
 */
export const SWEEP_BUDGET_US = 250;
/** ms between two ticks of a sweep that has work left: with SWEEP_BUDGET_US, at most ≈ 5 % of the core. */
export const SWEEP_TICK_MS = 5;
/**
 * The age of a body is counted in epochs of compactAfterMs / EPOCHS_PER_DELAY
 * (one store per keep, no clock read): a body is compacted between
 * compactAfterMs and (1 + 1/EPOCHS_PER_DELAY) × compactAfterMs after it was kept.
 */
const EPOCHS_PER_DELAY = 4;
/** Slots looked at between two reads of the clock when nothing is compacted. */
const SCAN_CHECK = 256;
/** Upper bounds (µs) of the sweep's tick-duration histogram; the last bucket is everything above. */
export const SWEEP_TICK_BUCKETS_US: readonly number[] = [100, 200, 300, 400, 500, 750, 1000, 2000, 5000];

/** A slab is evacuated once no more than this share of its slots is live… */
const EVACUATE_AT = 1 / 8;
/** …if the other slabs of its class can take its bodies and still have this share of a slab free (no slab made and let go in turn). */
const HEADROOM_AFTER = 1 / 4;

/**
 * The slot size for a body of `length` bytes (1 ≤ length ≤ LARGEST_KEPT_BODY):
 * multiples of 16 up to 1 KB, then 32 sizes per doubling (at most ≈ 3 % of a
 * slot unused). Fine classes cost little: a class's newest slab is resident
 * only as far as it was filled.
 */
export function slotBytesFor(length: number): number {
  const step = length <= 1024 ? 16 : 2 ** (Math.floor(Math.log2(length - 1)) - 5);
  return Math.ceil(length / step) * step;
}

/** The body the compacted bodies of its classes were cut against: a copy of its own, never changed. */
class Frame {
  /** Its bytes, a plain Uint8Array (monomorphic loads in the delta's byte loops). */
  readonly plain: Uint8Array;
  /** Slot size → its class of bodies compacted against this frame. */
  readonly classes = new Map<number, SizeClass>();

  constructor(body: Uint8Array, length: number) {
    this.plain = new Uint8Array(length);
    this.plain.set(body.subarray(0, length));
  }
}

class Slab {
  /** The slab's bytes, mapped outside malloc (Buffer for copy/compare with offsets, no view per call). */
  readonly bytes: Buffer;
  /** The handle of each slot handed out (undefined: free); grows with `next`. */
  readonly owners: (KeptBody | undefined)[] = [];
  /** Slots freed, reused last in first out. */
  readonly free: number[] = [];
  /** Slots below `next` were handed out at least once; those above never touched (their pages not resident). */
  next = 0;
  live = 0;
  /** Position in its class's list (oldest first). */
  index: number;
  /**
   * A slab of whole bodies (no frame) of a store that compacts: the sweep's
   * epoch each slot's body was kept in (NEVER_COMPACT: the sweep looked and
   * left it), so that the sweep finds the bodies that stayed, without a list
   * of them on the NOTIFY path. Not made (nor written) when compaction is off.
   */
  readonly keptIn: Int32Array | undefined;

  constructor(
    readonly sizeClass: SizeClass,
    index: number,
  ) {
    this.bytes = mappedBuffer(SLAB_BYTES);
    this.index = index;
    this.keptIn = sizeClass.frame === undefined && sizeClass.store.compacting ? new Int32Array(sizeClass.slotsPerSlab) : undefined;
  }

  /** The byte offset of `slot`. */
  start(slot: number): number {
    return slot * this.sizeClass.slotBytes;
  }
}

class SizeClass {
  readonly slabs: Slab[] = [];
  readonly slotsPerSlab: number;
  /** No slab below this index has a free slot. */
  private open = 0;
  live = 0;

  constructor(
    readonly store: KeptBodyStore,
    readonly slotBytes: number,
    /** Set for a class of compacted bodies: what they were cut against. */
    readonly frame: Frame | undefined,
  ) {
    this.slotsPerSlab = Math.floor(SLAB_BYTES / slotBytes);
  }

  /** Gives `kept` a slot (setting its slab and slot): in the oldest slab with room, or a new one. */
  place(kept: KeptBody): void {
    const slabs = this.slabs;
    const perSlab = this.slotsPerSlab;
    let index = this.open;
    while (index < slabs.length && slabs[index]!.live === perSlab) index++;
    this.open = index;
    let slab = slabs[index];
    if (slab === undefined) {
      slab = new Slab(this, index);
      slabs.push(slab);
      this.store.slabCount++;
    }
    let slot: number;
    if (slab.free.length > 0) {
      slot = slab.free.pop()!;
      slab.owners[slot] = kept;
    } else {
      slot = slab.next++;
      slab.owners.push(kept);
    }
    slab.live++;
    this.live++;
    this.store.slotBytesLive += this.slotBytes;
    if (this.frame !== undefined) this.store.compactedLive++;
    kept.slab = slab;
    kept.slot = slot;
  }

  /** `slot` of `slab` is free again; a slab left nearly empty may be evacuated. */
  vacate(slab: Slab, slot: number): void {
    slab.owners[slot] = undefined;
    slab.free.push(slot);
    slab.live--;
    this.live--;
    this.store.slotBytesLive -= this.slotBytes;
    if (this.frame !== undefined) this.store.compactedLive--;
    if (slab.index < this.open) this.open = slab.index;
    const perSlab = this.slotsPerSlab;
    if (slab.live > perSlab * EVACUATE_AT || this.slabs.length < 2) return;
    const freeElsewhere = (this.slabs.length - 1) * perSlab - (this.live - slab.live);
    if (freeElsewhere >= slab.live + perSlab * HEADROOM_AFTER) this.evacuate(slab);
  }

  /** Moves `slab`'s bodies into the other slabs of the class (which have room: see vacate) and lets it go. */
  private evacuate(slab: Slab): void {
    const slabs = this.slabs;
    slabs.splice(slab.index, 1);
    for (let i = slab.index; i < slabs.length; i++) slabs[i]!.index = i;
    this.open = 0;
    this.live -= slab.live;
    this.store.slotBytesLive -= slab.live * this.slotBytes;
    if (this.frame !== undefined) this.store.compactedLive -= slab.live;
    this.store.slabCount--;
    for (let slot = 0; slot < slab.next; slot++) {
      const kept = slab.owners[slot];
      if (kept === undefined) continue;
      this.place(kept);
      const to = kept.slab!;
      if (to.keptIn !== undefined) to.keptIn[kept.slot] = slab.keptIn?.[slot] ?? 0;
      // The whole slot: a compacted body's slot holds its cut, not `length` bytes.
      slab.bytes.copy(to.bytes, to.start(kept.slot), slab.start(slot), slab.start(slot) + this.slotBytes);
      this.store.moved++;
    }
    slab.owners.length = 0;
    // Its pages back to the system now, not in a mark-compact's pause (util/mapped-memory.ts, unmapNow).
    unmapNow(slab.bytes);
    slab.free.length = 0;
    slab.live = 0;
  }
}

/**
 * One body in a slab, shared by whoever holds it (the broker's kept status
 * and the engine's kept update hold the same one): each holder took a
 * reference (KeptBodyStore.keep) and gives it back once (release). Read it
 * with copy(); after the last release it is gone and reading it throws.
 */
export class KeptBody {
  /** @internal Where it is (moved by an evacuation); undefined once released by its last holder. */
  slab: Slab | undefined = undefined;
  /** @internal */
  slot = 0;
  /** @internal Holders. */
  refs = 1;

  /** @internal The body's length (set again when a released handle is reused: KeptBodyStore.keep). */
  constructor(public length: number) {}

  /** The body's bytes, in a Uint8Array of its own (nobody else's, nothing shared with the slab). */
  copy(): Uint8Array {
    const slab = this.liveSlab();
    const out = new Uint8Array(this.length);
    const start = slab.start(this.slot);
    const frame = slab.sizeClass.frame;
    if (frame === undefined) slab.bytes.copy(out, 0, start, start + this.length);
    else decodeFrameDelta(frame.plain, slab.bytes, start, this.length, out);
    // A copy that comes back (a joining subscriber's message made from it) is kept as this same body.
    slab.sizeClass.store.remember(out, this);
    return out;
  }

  /**
   * The body's bytes as a one-byte string (latin1: one character per byte, so
   * any bytes), read straight from the slab: what `unkeep` leaves a holder. A
   * string lives on V8's heap; a Uint8Array would be an ArrayBuffer and a
   * malloc'd block of its own, which every mark-compact goes through one by
   * one once it has outlived the young generation (issue 11: W4's largest
   * pauses, docs/latency-tail.md).
   */
  latin1(): string {
    const slab = this.liveSlab();
    const start = slab.start(this.slot);
    const frame = slab.sizeClass.frame;
    if (frame === undefined) return slab.bytes.toString('latin1', start, start + this.length);
    const assembled = slab.sizeClass.store.scratchBody();
    decodeFrameDelta(frame.plain, slab.bytes, start, this.length, assembled);
    return Buffer.from(assembled.buffer, assembled.byteOffset, this.length).toString('latin1');
  }

  /** Its slab; reading a body whose last holder released it is a bug of the caller's. */
  private liveSlab(): Slab {
    const slab = this.slab;
    if (slab === undefined) throw new QsaError('QSA_ERR_RELEASED_BODY', 'a kept body was read after its last holder released it');
    return slab;
  }

  /** True if it holds exactly `bytes`. */
  holds(bytes: Uint8Array): boolean {
    const slab = this.slab;
    if (slab === undefined || bytes.byteLength !== this.length) return false;
    const start = slab.start(this.slot);
    const frame = slab.sizeClass.frame;
    if (frame === undefined) return slab.bytes.compare(bytes, 0, this.length, start, start + this.length) === 0;
    return frameDeltaHolds(frame.plain, slab.bytes, start, this.length, bytes);
  }

  /** True once it was compacted against a frame. */
  get compacted(): boolean {
    return this.slab?.sizeClass.frame !== undefined;
  }

  /** Gives back one holder's reference; the last frees its slot. */
  release(): void {
    const slab = this.slab;
    if (slab === undefined) return;
    if (--this.refs > 0) return;
    this.slab = undefined;
    slab.sizeClass.vacate(slab, this.slot);
    slab.sizeClass.store.recycle(this);
  }
}

/**
 * What a holder keeps of a body: a slab slot; the bytes themselves (empty, or
 * larger than LARGEST_KEPT_BODY); or, once given back to the store (unkeep),
 * the bytes as a latin1 string.
 */
export type KeptBytes = KeptBody | Uint8Array | string;

/** The bytes of what a holder keeps: a copy of its own for a kept body or a body given back. */
export function bytesOf(kept: KeptBytes): Uint8Array {
  if (typeof kept === 'string') return latin1Bytes(kept);
  return kept instanceof KeptBody ? kept.copy() : kept;
}

/**
 * A kept body given back (its holder is going, or replaces it), for a holder
 * that may still be read: its bytes as a latin1 string (KeptBody.latin1 says
 * why not a Uint8Array); bytesOf reads them back.
 */
export function unkeep(kept: KeptBytes): KeptBytes {
  if (!(kept instanceof KeptBody)) return kept;
  const text = kept.latin1();
  kept.release();
  return text;
}

/** The bytes a latin1 string stands for, in a Uint8Array of their own. */
function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(text, 'latin1');
  return out;
}

export interface KeptBodyStats {
  /** Bodies in slabs (each counted once however many hold it). */
  bodies: number;
  slabs: number;
  /** Address space of the slabs (their pages are resident once a slot on them was used). */
  slabBytes: number;
  /** Bodies moved by evacuations since the start. */
  moved: number;
  /** Of `bodies`, those compacted against a frame. */
  compacted: number;
  /** Bytes of slots in use (live bodies × their slot size): the slabs' occupancy. */
  slotBytesLive: number;
}

/** What the compaction sweep did since the start (docs/establishment.md §14): its own cost, counted. */
export interface KeptBodySweepStats {
  /** The store's compactAfterMs (0: never): what the configuration made of it. */
  compactAfterMs: number;
  /** Walks over the whole bodies begun (at most one per epoch, compactAfterMs / 4). */
  passes: number;
  /** Timer callbacks of the sweep, and the µs they took in all (the store's clock). */
  ticks: number;
  totalUs: number;
  /** The longest single tick, µs of the clock: how long the sweep held the event loop at once (a tick the process spent waiting for its core, or in a GC, counts that too). */
  longestUs: number;
  /** Bodies the longest tick compacted, and the most any tick compacted: the work per tick, whatever the machine's load. */
  longestTickBodies: number;
  mostBodiesInATick: number;
  /** Ticks per duration bucket: counts[i] took ≤ SWEEP_TICK_BUCKETS_US[i] µs (and more than the bound before); the last counts the rest. */
  tickHistogram: number[];
  /** Bodies compacted against a frame by the sweep, and those it looked at and left whole (they share too little). */
  compactedBySweep: number;
  leftWhole: number;
}

export interface KeptBodyStoreOptions {
  /** Drives the compaction sweep and measures its ticks. Without it, bodies are never compacted. */
  clock?: Clock;
  /**
   * A body kept for this long (between once and 1.25 times this, ms, plus the
   * sweep's own time) unchanged is compacted against a frame; 0 (the default
   * without a clock): never.
   */
  compactAfterMs?: number;
  /** µs one tick of the sweep may take (SWEEP_BUDGET_US). */
  sweepBudgetUs?: number;
  /** ms between the ticks of a sweep with work left (SWEEP_TICK_MS). */
  sweepTickMs?: number;
}

/** The kept bodies of one broker (and of the engine that reports to it). */
export class KeptBodyStore {
  /** Slot size → its class. */
  private readonly classes = new Map<number, SizeClass>();
  /**
   * Bytes recently kept or read out → their kept body, while those bytes are
   * alive: the message the engine's kept update was made from comes back to
   * the broker when it leaves its queue, and is then kept as the same body.
   */
  private readonly copies = new WeakMap<Uint8Array, KeptBody>();
  /** Handles released by their last holder, used again by keep() (recycle). */
  private readonly spareBodies: KeptBody[] = [];
  /** @internal */
  slabCount = 0;
  /** @internal */
  moved = 0;
  /** @internal Bytes of the slots in use. */
  slotBytesLive = 0;
  /** @internal Bodies in use compacted against a frame. */
  compactedLive = 0;
  private readonly clock: Clock | undefined;
  private readonly compactAfterMs: number;
  /** @internal Bodies are compacted (compactAfterMs > 0): the slabs of whole bodies have keptIn. */
  readonly compacting: boolean;
  private readonly budgetMs: number;
  private readonly tickMs: number;
  private readonly epochMs: number;
  /** The current epoch: what keep() writes in keptIn; one more every epochMs while the sweep's timer runs. */
  private epoch = 0;
  /** When the next epoch begins (the store's clock). */
  private nextEpochAt = 0;
  /** The epoch the last walk began in, and the walk's state: bodies kept before epoch `walkBelow` are ripe. */
  private walkEpoch = 0;
  private walking = false;
  private walkBelow = 0;
  private walkClass = 0;
  private walkSlab = 0;
  private walkSlot = 0;
  /** Whole bodies the walk found not yet ripe. */
  private walkYoung = 0;
  /** Bodies the walk compacted: an evacuation it caused may have moved ripe bodies behind its cursor, so another walk follows. */
  private walkCompacted = 0;
  /** A body was kept since the walk began (it may be behind the walk's cursor). */
  private keptSinceWalk = false;
  /** The classes of whole bodies, in the order made (the walk's cursor indexes it). */
  private readonly wholeClasses: SizeClass[] = [];
  private armed = false;
  private cancel: (() => void) | undefined = undefined;
  private stopped = false;
  private readonly sweepCounts: KeptBodySweepStats;
  /** What bodies are cut against now (older frames live on while their bodies do). */
  private frame: Frame | undefined = undefined;
  /** Bodies in a row that shared too little with the frame. */
  private misses = 0;
  /** A body's bytes, copied out of its slot for the byte loops (one per store; ≤ LARGEST_KEPT_BODY): scratchBody(). */
  private scratch: Uint8Array | undefined = undefined;
  /** The delta being written, before it has a slot of its size (one per store). */
  private deltaScratch: Uint8Array | undefined = undefined;
  /** What the last delta written came to (one per store: the sweep makes no garbage per body). */
  private readonly deltaSize: FrameDeltaSize = { deltaBytes: 0, copiedBytes: 0 };

  constructor(options: KeptBodyStoreOptions = {}) {
    this.clock = options.clock;
    this.compactAfterMs = options.clock === undefined ? 0 : (options.compactAfterMs ?? 0);
    this.compacting = this.compactAfterMs > 0;
    this.budgetMs = (options.sweepBudgetUs ?? SWEEP_BUDGET_US) / 1000;
    this.tickMs = options.sweepTickMs ?? SWEEP_TICK_MS;
    this.epochMs = this.compactAfterMs / EPOCHS_PER_DELAY;
    this.sweepCounts = {
      compactAfterMs: this.compactAfterMs,
      passes: 0,
      ticks: 0,
      totalUs: 0,
      longestUs: 0,
      longestTickBodies: 0,
      mostBodiesInATick: 0,
      tickHistogram: new Array<number>(SWEEP_TICK_BUCKETS_US.length + 1).fill(0),
      compactedBySweep: 0,
      leftWhole: 0,
    };
  }

  /**
   * One more holder of `bytes`: the kept body already made of these same
   * bytes if they were kept or read out of one (and nobody changed them
   * since), else a new one with a copy of them. Empty or larger bodies are
   * returned as they are.
   */
  keep(bytes: Uint8Array): KeptBytes {
    const length = bytes.byteLength;
    if (length === 0 || length > LARGEST_KEPT_BODY) return bytes;
    const known = this.copies.get(bytes);
    if (known?.holds(bytes)) {
      known.refs++;
      return known;
    }
    // A handle its last holder released, if any: at each NOTIFY a subscription's last status
    // lets its previous body go as it keeps the new one, so a steady stream of NOTIFYs makes
    // no handle (issue 11: a new one per NOTIFY lived until the subscription's next NOTIFY,
    // seconds, and was promoted: most of what the scavenges promoted, and what started the
    // mark-compacts under a steady NOTIFY load; docs/latency-tail.md).
    const spare = this.spareBodies.pop();
    let kept: KeptBody;
    if (spare === undefined) kept = new KeptBody(length);
    else {
      kept = spare;
      kept.length = length;
      kept.refs = 1;
    }
    this.classFor(length).place(kept);
    const slab = kept.slab!;
    slab.bytes.set(bytes, slab.start(kept.slot));
    this.copies.set(bytes, kept);
    if (this.compacting) {
      if (!this.armed && !this.stopped) this.wake();
      this.keptSinceWalk = true;
      slab.keptIn![kept.slot] = this.epoch;
    }
    return kept;
  }

  /** The first body kept after the sweep went idle: a new epoch begins now (older bodies are all compacted or left whole). */
  private wake(): void {
    this.epoch++;
    this.nextEpochAt = this.clock!.now() + this.epochMs;
    this.arm(this.epochMs);
  }

  private arm(delayMs: number): void {
    this.armed = true;
    this.cancel = this.clock!.setTimer(() => this.tick(), delayMs);
  }

  /** No more compaction: the timer cancelled (bodies already compacted stay so, and readable). */
  stopCompaction(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = undefined;
    this.armed = false;
    this.walking = false;
  }

  /**
   * One tick of the sweep, on the store's timer. The epoch moves on with the
   * clock; once per epoch a walk begins over the slabs of whole bodies, and
   * each tick walks on (compacting the ripe bodies: kept at least
   * EPOCHS_PER_DELAY epochs ago, so unchanged for compactAfterMs; a replaced
   * or released body is no longer in its slot) until its budget of the clock
   * is spent, then comes back SWEEP_TICK_MS later. A walk that compacted
   * nothing and found no young body, with none kept since it began, leaves
   * the sweep idle until a body is kept.
   */
  private tick(): void {
    this.armed = false;
    this.cancel = undefined;
    const clock = this.clock!;
    const startedAt = clock.now();
    if (startedAt >= this.nextEpochAt) {
      const epochs = Math.floor((startedAt - this.nextEpochAt) / this.epochMs) + 1;
      this.epoch += epochs;
      this.nextEpochAt += epochs * this.epochMs;
    }
    if (!this.walking && this.epoch > this.walkEpoch) {
      this.walking = true;
      this.walkEpoch = this.epoch;
      this.walkBelow = this.epoch - EPOCHS_PER_DELAY;
      this.walkClass = 0;
      this.walkSlab = 0;
      this.walkSlot = 0;
      this.walkYoung = 0;
      this.walkCompacted = 0;
      this.keptSinceWalk = false;
      this.sweepCounts.passes++;
    }
    const compactedBefore = this.sweepCounts.compactedBySweep;
    if (this.walking && this.walk(startedAt + this.budgetMs)) this.walking = false;
    const endedAt = clock.now();
    this.countTick((endedAt - startedAt) * 1000, this.sweepCounts.compactedBySweep - compactedBefore);
    if (this.walking) this.arm(this.tickMs);
    else if (this.walkYoung > 0 || this.walkCompacted > 0 || this.keptSinceWalk) this.arm(Math.max(this.tickMs, this.nextEpochAt - endedAt));
  }

  private countTick(us: number, bodies: number): void {
    const c = this.sweepCounts;
    c.ticks++;
    c.totalUs += us;
    if (us > c.longestUs) {
      c.longestUs = us;
      c.longestTickBodies = bodies;
    }
    if (bodies > c.mostBodiesInATick) c.mostBodiesInATick = bodies;
    let bucket = 0;
    while (bucket < SWEEP_TICK_BUCKETS_US.length && us > SWEEP_TICK_BUCKETS_US[bucket]!) bucket++;
    c.tickHistogram[bucket]!++;
  }

  /**
   * Walks on from the cursor until the clock passes `deadline` or every slab
   * of whole bodies was looked at (true). A slab evacuated or moved under the
   * cursor (by a compaction or a release) only makes this walk skip or see
   * again some bodies: the next walk finds what this one missed.
   */
  private walk(deadline: number): boolean {
    const clock = this.clock!;
    const classes = this.wholeClasses;
    const below = this.walkBelow;
    let scanned = 0;
    while (this.walkClass < classes.length) {
      const slabs = classes[this.walkClass]!.slabs;
      while (this.walkSlab < slabs.length) {
        const slab = slabs[this.walkSlab]!;
        const keptIn = slab.keptIn;
        const owners = slab.owners;
        while (this.walkSlot < slab.next && keptIn !== undefined && slabs[this.walkSlab] === slab) {
          const slot = this.walkSlot++;
          const kept = owners[slot];
          if (kept !== undefined) {
            const epoch = keptIn[slot]!;
            if (epoch >= below) this.walkYoung++;
            else if (epoch !== NEVER_COMPACT) {
              // The sweep's own counts: compactAll (tests, the in-process bench) leaves them alone.
              if (this.compact(kept)) this.sweepCounts.compactedBySweep++;
              else this.sweepCounts.leftWhole++;
              this.walkCompacted++;
              if (clock.now() >= deadline) return false;
              continue;
            }
          }
          if (++scanned === SCAN_CHECK) {
            scanned = 0;
            if (clock.now() >= deadline) return false;
          }
        }
        if (slabs[this.walkSlab] === slab) this.walkSlab++;
        this.walkSlot = 0;
      }
      this.walkClass++;
      this.walkSlab = 0;
      this.walkSlot = 0;
    }
    return true;
  }

  /** Compacts every whole body kept now, whatever its age, at once (tests; the in-process bench). */
  compactAll(): void {
    for (const sizeClass of this.wholeClasses) {
      const all: KeptBody[] = [];
      for (const slab of sizeClass.slabs) {
        for (let slot = 0; slot < slab.next; slot++) {
          const kept = slab.owners[slot];
          if (kept !== undefined && slab.keptIn?.[slot] !== NEVER_COMPACT) all.push(kept);
        }
      }
      for (const kept of all) this.compact(kept);
    }
  }

  /**
   * Moves `kept` into a slot of a frame's class if it shares enough with the frame (or becomes the
   * frame after too many misses): true; false when it is left whole (and never looked at again) or
   * was compacted already.
   */
  private compact(kept: KeptBody): boolean {
    const from = kept.slab;
    if (from === undefined || from.sizeClass.frame !== undefined) return false;
    const length = kept.length;
    if (this.deltaScratch === undefined) this.deltaScratch = new Uint8Array(LARGEST_KEPT_BODY);
    const scratch = this.scratchBody();
    const delta = this.deltaScratch;
    const fromStart = from.start(kept.slot);
    from.bytes.copy(scratch, 0, fromStart, fromStart + length);
    let frame = this.frame;
    const size = this.deltaSize;
    if (frame === undefined || length <= MIN_SHARED || !encodeFrameDelta(frame.plain, scratch, length, delta, size) || size.copiedBytes < MIN_SHARED) {
      if (length <= MIN_SHARED || (frame !== undefined && ++this.misses < MISSES_BEFORE_NEW_FRAME)) {
        if (from.keptIn !== undefined) from.keptIn[kept.slot] = NEVER_COMPACT;
        return false;
      }
      frame = new Frame(scratch, length);
      this.frame = frame;
      this.misses = 0;
      // Its own delta: one copy of the whole frame (a few bytes).
      encodeFrameDelta(frame.plain, scratch, length, delta, size);
    } else this.misses = 0;
    let sizeClass = frame.classes.get(slotBytesFor(size.deltaBytes));
    if (sizeClass === undefined) {
      sizeClass = new SizeClass(this, slotBytesFor(size.deltaBytes), frame);
      frame.classes.set(sizeClass.slotBytes, sizeClass);
    }
    const fromSlot = kept.slot;
    sizeClass.place(kept);
    const to = kept.slab!;
    const start = to.start(kept.slot);
    const slot = to.bytes;
    // A loop, not set(subarray()): no view object per body compacted (the delta is tens of bytes).
    for (let k = 0; k < size.deltaBytes; k++) slot[start + k] = delta[k]!;
    from.sizeClass.vacate(from, fromSlot);
    return true;
  }

  /**
   * @internal Room for one body's bytes, made once per store: the sweep's compaction and
   * KeptBody.latin1 assemble a body there, each within one synchronous call, so they share it.
   */
  scratchBody(): Uint8Array {
    this.scratch ??= new Uint8Array(LARGEST_KEPT_BODY);
    return this.scratch;
  }

  /** @internal `bytes` hold what `kept` holds (a copy just made of it). */
  remember(bytes: Uint8Array, kept: KeptBody): void {
    this.copies.set(bytes, kept);
  }

  /**
   * @internal A handle released by its last holder, for keep() to use again. Holders drop a
   * handle when they release it (KeptStatus.write, BodyKeptUpdate.hold, unkeep); a copies entry
   * that still names it is checked against the bytes (holds) before it is used.
   */
  recycle(kept: KeptBody): void {
    if (this.spareBodies.length < MAX_SPARE_BODIES) this.spareBodies.push(kept);
  }

  stats(): KeptBodyStats {
    let bodies = this.compactedLive;
    for (const sizeClass of this.classes.values()) bodies += sizeClass.live;
    return {
      bodies,
      slabs: this.slabCount,
      slabBytes: this.slabCount * SLAB_BYTES,
      moved: this.moved,
      compacted: this.compactedLive,
      slotBytesLive: this.slotBytesLive,
    };
  }

  /** The sweep's own figures (a copy). */
  sweepStats(): KeptBodySweepStats {
    return { ...this.sweepCounts, tickHistogram: [...this.sweepCounts.tickHistogram] };
  }

  private classFor(length: number): SizeClass {
    const slotBytes = slotBytesFor(length);
    let sizeClass = this.classes.get(slotBytes);
    if (sizeClass === undefined) {
      sizeClass = new SizeClass(this, slotBytes, undefined);
      this.classes.set(slotBytes, sizeClass);
      this.wholeClasses.push(sizeClass);
    }
    return sizeClass;
  }
}
