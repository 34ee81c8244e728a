import { mappedBuffer, unmapNow } from '../../util/mapped-memory.js';

/** Records per segment: a power of two, so that a ticket's segment and slot are a shift and a mask. */
export const SEGMENT_SHIFT = 12;
export const SEGMENT_SLOTS = 1 << SEGMENT_SHIFT;
export const SLOT_MASK = SEGMENT_SLOTS - 1;
/** A slot that holds no live record. */
export const NONE = -1;

/** Octets per slot over the nine columns: two Float64 and seven Int32. */
const BYTES_PER_SLOT = 2 * 8 + 7 * 4;

/**
 * The records of SEGMENT_SLOTS consecutive tickets of CompletedServerTransactions,
 * column by column (one typed array per field), all in one block of mapped memory
 * (util/mapped-memory.ts: outside malloc, given back to the system when the
 * segment is collected). The store takes segments as its records need them and
 * lets them go as Timer J ends the oldest, so that it never copies a record to
 * grow (docs/latency-tail.md, "Timer J's records in segments").
 */
export class CompletedRecordSegment {
  readonly deadlines: Float64Array;
  /** Number of the chunk holding the key and the response (chunk numbers only grow). */
  readonly chunkNumbers: Float64Array;
  /** The record's ticket while it is kept, NONE otherwise. */
  readonly tickets: Int32Array;
  readonly hashes: Int32Array;
  /** Where the key's UTF-8 bytes start in the chunk; the response follows them. */
  readonly offsets: Int32Array;
  readonly keyLengths: Int32Array;
  readonly responseLengths: Int32Array;
  /** The request's source, numbered (see CompletedServerTransactions' endpoints). */
  readonly sourceIds: Int32Array;
  /** Where responses go when it is not the source's own address and port, numbered, or 0. */
  readonly destinationIds: Int32Array;

  constructor() {
    const buffer = mappedBuffer(SEGMENT_SLOTS * BYTES_PER_SLOT).buffer;
    // The Float64 columns first: every column then starts 8-aligned.
    let at = 0;
    const float64 = (): Float64Array => {
      const column = new Float64Array(buffer, at, SEGMENT_SLOTS);
      at += SEGMENT_SLOTS * 8;
      return column;
    };
    const int32 = (): Int32Array => {
      const column = new Int32Array(buffer, at, SEGMENT_SLOTS);
      at += SEGMENT_SLOTS * 4;
      return column;
    };
    this.deadlines = float64();
    this.chunkNumbers = float64();
    this.tickets = int32().fill(NONE);
    this.hashes = int32();
    this.offsets = int32();
    this.keyLengths = int32();
    this.responseLengths = int32();
    this.sourceIds = int32();
    this.destinationIds = int32();
  }

  /** Gives the segment's memory back to the system now (util/mapped-memory.ts, unmapNow): unusable afterwards. */
  unmap(): void {
    unmapNow(this.tickets);
  }
}
