import { Buffer } from 'node:buffer';
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
 * A slab is a resizable ArrayBuffer: V8 reserves and commits its pages
 * itself (mmap), outside malloc, so a slab never lands in the main arena
 * (a plain ArrayBuffer or Buffer.allocUnsafeSlow of the same size is
 * malloc'd, and once anything has freed a larger mmapped block glibc's
 * dynamic threshold puts it in the main heap), a page is resident only once
 * a slot on it has been used, and a slab let go gives its pages back. Each
 * slab holds slots of one size (slotBytesFor: at most ≈ 3 % of a slot
 * unused); a class fills its oldest slab first, so the newest
 * drain, and a slab left nearly empty is evacuated into the others (its
 * bodies moved, their KeptBody handles updated) and let go.
 *
 * Frame (issue 11, docs/establishment.md §9): the bodies a presence server
 * sends are one template filled in (the XML declaration, the namespaces, the
 * device and person parts the same in every document; the entity, a tuple id,
 * a note or a status differ). The store keeps one body as its frame; a body
 * that shares at least MIN_SHARED bytes with it at its start and end keeps
 * only the bytes in between in its slot, and reads the rest from the frame
 * (the bench's 729-byte PIDF: a slot of ≈ 160 bytes instead of 736). When
 * FRAME_AFTER_MISSES bodies in a row share too little with it, the next one
 * becomes the frame; a frame lives as long as a body still uses it.
 *
 * Safety: no view of a slab or a frame ever leaves this file. A reader gets its own
 * copy (KeptBody.copy), so a slot can be reused or moved as soon as the last
 * holder released it, whatever a reader still has.
 */

/** Bytes per slab: 1/4 MB, a few hundred bodies of a usual presence document. */
export const SLAB_BYTES = 256 * 1024;
/** Larger bodies are not packed (rare; a slab would hold a handful): the holder keeps its own Uint8Array. */
export const LARGEST_KEPT_BODY = 16 * 1024;

/** A body is kept against the frame only if they share at least this many bytes at the start and end together (a framed handle costs 16 B more). */
export const MIN_SHARED = 64;
/** Bodies in a row that share less than MIN_SHARED with the frame before the next one becomes the frame. */
export const FRAME_AFTER_MISSES = 16;
/** `cut`: the shared start's length in its low 15 bits, the shared end's above (each ≤ LARGEST_KEPT_BODY < 2^15). */
const CUT_BITS = 15;
const CUT_MASK = (1 << CUT_BITS) - 1;

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

/**
 * How many bytes `frame` and `bytes` share at their start, at most `most`: a
 * loop over two plain Uint8Arrays (one element kind, so the loads stay
 * monomorphic); a native compare per step costs more than the bytes it saves.
 */
function sharedHead(frame: Uint8Array, bytes: Uint8Array, most: number): number {
  let head = 0;
  while (head < most && frame[head] === bytes[head]) head++;
  return head;
}

/** How many bytes `frame` and `bytes` share at their end, at most `most`. */
function sharedTail(frame: Uint8Array, bytes: Uint8Array, most: number): number {
  let f = frame.length - 1;
  let b = bytes.length - 1;
  const stop = b - most;
  while (b > stop && frame[f] === bytes[b]) {
    f--;
    b--;
  }
  return bytes.length - 1 - b;
}

/** ArrayBuffer with the resizable form's options (ES2024; Node 20's V8 has it, the ES2022 lib this builds against does not declare it). */
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ArrayBuffer;

class Slab {
  /** A fixed-length Buffer over the slab's resizable ArrayBuffer (Buffer for copy/compare with offsets, no view per call). */
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

  constructor(
    readonly sizeClass: SizeClass,
    index: number,
  ) {
    this.bytes = Buffer.from(new ResizableArrayBuffer(SLAB_BYTES, { maxByteLength: SLAB_BYTES }), 0, SLAB_BYTES);
    this.index = index;
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
    kept.slab = slab;
    kept.slot = slot;
  }

  /** `slot` of `slab` is free again; a slab left nearly empty may be evacuated. */
  vacate(slab: Slab, slot: number): void {
    slab.owners[slot] = undefined;
    slab.free.push(slot);
    slab.live--;
    this.live--;
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
    this.store.slabCount--;
    for (let slot = 0; slot < slab.next; slot++) {
      const kept = slab.owners[slot];
      if (kept === undefined) continue;
      this.place(kept);
      const to = kept.slab!;
      slab.bytes.copy(to.bytes, to.start(kept.slot), slab.start(slot), slab.start(slot) + kept.stored);
      this.store.moved++;
    }
    slab.owners.length = 0;
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

  constructor(
    readonly length: number,
    /** @internal The frame its shared start and end are read from; undefined: all of it is in its slot. */
    readonly frame: Buffer | undefined = undefined,
    /** @internal Bytes shared with the frame: at the start (low CUT_BITS bits) and at the end (above). */
    readonly cut = 0,
  ) {}

  /** Bytes in its slot: the body less what it shares with its frame. */
  get stored(): number {
    const cut = this.cut;
    return this.length - (cut & CUT_MASK) - (cut >>> CUT_BITS);
  }

  /** The body's bytes, in a Uint8Array of its own (nobody else's, nothing shared with the slab). */
  copy(): Uint8Array {
    const slab = this.slab;
    if (slab === undefined) throw new QsaError('QSA_ERR_RELEASED_BODY', 'a kept body was read after its last holder released it');
    const length = this.length;
    const out = new Uint8Array(length);
    const start = slab.start(this.slot);
    const frame = this.frame;
    if (frame === undefined) {
      slab.bytes.copy(out, 0, start, start + length);
    } else {
      const head = this.cut & CUT_MASK;
      const tail = this.cut >>> CUT_BITS;
      frame.copy(out, 0, 0, head);
      slab.bytes.copy(out, head, start, start + length - head - tail);
      frame.copy(out, length - tail, frame.length - tail, frame.length);
    }
    // A copy that comes back (a joining subscriber's message made from it) is kept as this same body.
    slab.sizeClass.store.remember(out, this);
    return out;
  }

  /** True if it holds exactly `bytes`. */
  holds(bytes: Uint8Array): boolean {
    const slab = this.slab;
    const length = this.length;
    if (slab === undefined || bytes.byteLength !== length) return false;
    const start = slab.start(this.slot);
    const frame = this.frame;
    if (frame === undefined) return slab.bytes.compare(bytes, 0, length, start, start + length) === 0;
    const head = this.cut & CUT_MASK;
    const tail = this.cut >>> CUT_BITS;
    const end = length - tail;
    return (
      frame.compare(bytes, 0, head, 0, head) === 0 &&
      slab.bytes.compare(bytes, head, end, start, start + end - head) === 0 &&
      frame.compare(bytes, end, length, frame.length - tail, frame.length) === 0
    );
  }

  /** Gives back one holder's reference; the last frees its slot. */
  release(): void {
    const slab = this.slab;
    if (slab === undefined) return;
    if (--this.refs > 0) return;
    this.slab = undefined;
    slab.sizeClass.vacate(slab, this.slot);
  }
}

/** What a holder keeps of a body: a slab slot, or (empty, or larger than LARGEST_KEPT_BODY) the bytes themselves. */
export type KeptBytes = KeptBody | Uint8Array;

/** The bytes of what a holder keeps: a copy of its own for a kept body. */
export function bytesOf(kept: KeptBytes): Uint8Array {
  return kept instanceof KeptBody ? kept.copy() : kept;
}

/** A kept body given back (its holder is going, or replaces it): its bytes as a Uint8Array of their own, for a holder that may still be read. */
export function unkeep(kept: KeptBytes): Uint8Array {
  if (!(kept instanceof KeptBody)) return kept;
  const bytes = kept.copy();
  kept.release();
  return bytes;
}

export interface KeptBodyStats {
  /** Bodies in slabs (each counted once however many hold it). */
  bodies: number;
  slabs: number;
  /** Address space of the slabs (their pages are resident once a slot on them was used). */
  slabBytes: number;
  /** Bodies moved by evacuations since the start. */
  moved: number;
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
  /** The body new ones are compared with (a copy of its own, never changed); undefined until the first is kept. */
  private frame: Buffer | undefined = undefined;
  /** The frame's bytes as a plain Uint8Array (the byte loops of framed() read it). */
  private framePlain: Uint8Array | undefined = undefined;
  /** Bodies in a row that shared too little with the frame. */
  private misses = 0;
  /** @internal */
  slabCount = 0;
  /** @internal */
  moved = 0;

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
    const kept = this.framed(bytes);
    const head = kept.cut & CUT_MASK;
    const stored = kept.stored;
    this.classFor(stored).place(kept);
    const slab = kept.slab!;
    slab.bytes.set(head === 0 && stored === length ? bytes : bytes.subarray(head, head + stored), slab.start(kept.slot));
    this.copies.set(bytes, kept);
    return kept;
  }

  /**
   * A new handle for `bytes`: against the frame if they share MIN_SHARED
   * bytes or more at the start and end (at least one byte is left for the
   * slot); else whole, and after FRAME_AFTER_MISSES such bodies in a row
   * (or for the first body) `bytes` become the frame for the next ones.
   */
  private framed(bytes: Uint8Array): KeptBody {
    const length = bytes.byteLength;
    const frame = this.frame;
    if (frame !== undefined && length > MIN_SHARED) {
      const most = Math.min(length - 1, frame.length);
      const plain = this.framePlain!;
      const head = sharedHead(plain, bytes, most);
      const tail = sharedTail(plain, bytes, most - head);
      if (head + tail >= MIN_SHARED) {
        this.misses = 0;
        return new KeptBody(length, frame, head | (tail << CUT_BITS));
      }
    }
    if (length > MIN_SHARED && (frame === undefined || ++this.misses >= FRAME_AFTER_MISSES)) {
      // A copy of its own (not from Buffer's shared pool, which one small frame would keep alive).
      const next = Buffer.allocUnsafeSlow(length);
      next.set(bytes);
      this.frame = next;
      this.framePlain = new Uint8Array(next.buffer, next.byteOffset, length);
      this.misses = 0;
    }
    return new KeptBody(length);
  }

  /** @internal `bytes` hold what `kept` holds (a copy just made of it). */
  remember(bytes: Uint8Array, kept: KeptBody): void {
    this.copies.set(bytes, kept);
  }

  stats(): KeptBodyStats {
    let bodies = 0;
    for (const sizeClass of this.classes.values()) bodies += sizeClass.live;
    return { bodies, slabs: this.slabCount, slabBytes: this.slabCount * SLAB_BYTES, moved: this.moved };
  }

  private classFor(length: number): SizeClass {
    const slotBytes = slotBytesFor(length);
    let sizeClass = this.classes.get(slotBytes);
    if (sizeClass === undefined) {
      sizeClass = new SizeClass(this, slotBytes);
      this.classes.set(slotBytes, sizeClass);
    }
    return sizeClass;
  }
}
