/** Chunks of 64 KB: about 160 answers to NOTIFYs each (≈400 octets). */
const CHUNK_BYTES = 64 * 1024;
/** A larger response gets memory of its own (it would waste most of a chunk's tail). */
const LARGEST_SHARED = 4 * 1024;

/**
 * Where completed UDP server transactions keep their final response for
 * Timer J (RFC 3261 §17.2.2: 64·T1, 32 s), to send it again to a
 * retransmitted request. The bytes are copied into a shared chunk rather than
 * into a Buffer of their own: a Buffer per response is two JavaScript objects
 * (the view and its ArrayBuffer, ≈184 B) that live 32 s, so that every
 * scavenge copied them and then promoted them (issue 11: what a scavenge
 * finds alive per NOTIFY). Transactions end in the order they completed
 * (Timer J is the same delay for all), so a chunk falls out of use as a whole
 * and is freed by the GC once its last transaction is gone; nothing is
 * counted or freed here.
 */
export class KeptResponses {
  private chunk: Buffer | undefined;
  private used = 0;

  /**
   * Copies `data` into the current chunk (a new one when it is full) and
   * returns that chunk, the bytes being at `offset()`… `offset() + data.length`;
   * a large response is returned as a copy of its own, at offset 0.
   */
  keep(data: Uint8Array): Buffer {
    const length = data.byteLength;
    if (length > LARGEST_SHARED) {
      const own = Buffer.allocUnsafeSlow(length);
      own.set(data);
      this.lastOffset = 0;
      return own;
    }
    let chunk = this.chunk;
    if (chunk === undefined || this.used + length > CHUNK_BYTES) {
      chunk = Buffer.allocUnsafeSlow(CHUNK_BYTES);
      this.chunk = chunk;
      this.used = 0;
    }
    chunk.set(data, this.used);
    this.lastOffset = this.used;
    this.used += length;
    return chunk;
  }

  /** Where the bytes of the last `keep()` start in the Buffer it returned. */
  offset(): number {
    return this.lastOffset;
  }

  private lastOffset = 0;
}
