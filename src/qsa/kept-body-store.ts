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
 * Safety: no view of a slab ever leaves this file. A reader gets its own
 * copy (KeptBody.copy), so a slot can be reused or moved as soon as the last
 * holder released it, whatever a reader still has.
 */

/** Bytes per slab: 1/4 MB, a few hundred bodies of a usual presence document. */
export const SLAB_BYTES = 256 * 1024;
/** Larger bodies are not packed (rare; a slab would hold a handful): the holder keeps its own Uint8Array. */
export const LARGEST_KEPT_BODY = 16 * 1024;

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
      slab.bytes.copy(to.bytes, to.start(kept.slot), slab.start(slot), slab.start(slot) + kept.length);
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

  constructor(readonly length: number) {}

  /** The body's bytes, in a Uint8Array of its own (nobody else's, nothing shared with the slab). */
  copy(): Uint8Array {
    const slab = this.slab;
    if (slab === undefined) throw new QsaError('QSA_ERR_RELEASED_BODY', 'a kept body was read after its last holder released it');
    const out = new Uint8Array(this.length);
    const start = slab.start(this.slot);
    slab.bytes.copy(out, 0, start, start + this.length);
    // A copy that comes back (a joining subscriber's message made from it) is kept as this same body.
    slab.sizeClass.store.remember(out, this);
    return out;
  }

  /** True if it holds exactly `bytes`. */
  holds(bytes: Uint8Array): boolean {
    const slab = this.slab;
    if (slab === undefined || bytes.byteLength !== this.length) return false;
    const start = slab.start(this.slot);
    return slab.bytes.compare(bytes, 0, this.length, start, start + this.length) === 0;
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
    const kept = new KeptBody(length);
    this.classFor(length).place(kept);
    const slab = kept.slab!;
    slab.bytes.set(bytes, slab.start(kept.slot));
    this.copies.set(bytes, kept);
    return kept;
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
