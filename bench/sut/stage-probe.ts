/**
 * Where a NOTIFY's latency goes, for `--stages`: the SUT registers this as
 * the transport's message observer (the product's public `observer` option,
 * called synchronously when a datagram or a framed stream message is read
 * from its socket, before parsing) and notes, per benchmark sequence number,
 * when the NOTIFY left the kernel for the SUT. The consumer then splits the
 * end-to-end latency into
 *
 * - send → socket read: the kernel's loopback delivery plus the time the
 *   datagram waited in the SUT's receive buffer because the SUT's thread was
 *   not reading (busy, in a GC pause, or not on the CPU at all);
 * - socket read → dequeue: everything the product does (parse, transaction,
 *   dialog checks, PIDF, QSA queue, the consumer's wake-up).
 *
 * and counts, per NOTIFY, the messages read from the socket after it and
 * before its dequeue ("read ahead"): how many it waited for, a count that
 * does not depend on how loaded the machine is (over TCP one read holds many
 * messages; a message waits for those after it when the consumer runs only
 * once the whole read has been handled).
 *
 * Off by default: the observer costs an object and a scan per message, which
 * would count in CPU per NOTIFY.
 */
import type { ObservedSipMessage, SipMessageObserver } from '../../src/sip/transport/message-observer.js';
import type { FineTimeline } from './fine-timeline.js';

/** `tuple id="s` — the start of the stamp pidf-body.ts writes. */
const STAMP = Buffer.from('tuple id="s', 'latin1');

/** The sequence number of a stamped NOTIFY's bytes, or -1. */
export function stampSeqOfBytes(bytes: Uint8Array): number {
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = view.indexOf(STAMP);
  if (at < 0) return -1;
  let n = 0;
  let digits = 0;
  for (let i = at + STAMP.length; i < view.length; i++) {
    const c = view[i] ?? 0;
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    digits++;
  }
  return digits === 0 ? -1 : n;
}

export class StageProbe implements SipMessageObserver {
  /** Monotonic ns when sequence number g was first read from the socket (0 = not seen). */
  private readAt: Float64Array;
  /** Per sequence number: the ordinal of its first read among all messages read. */
  private readOrdinal: Float64Array;
  private reads = 0;
  /** Told of every message read (its time), for the 10 ms buckets. */
  fine: FineTimeline | undefined;

  constructor(seqCapacity: number) {
    this.readAt = new Float64Array(seqCapacity);
    this.readOrdinal = new Float64Array(seqCapacity);
  }

  observe(m: ObservedSipMessage): void {
    if (m.direction !== 'received') return;
    this.reads++;
    this.fine?.read(performance.now());
    const seq = stampSeqOfBytes(m.bytes);
    if (seq < 0) return;
    if (seq >= this.readAt.length) {
      let size = this.readAt.length * 2;
      while (size <= seq) size *= 2;
      const bigger = new Float64Array(size);
      bigger.set(this.readAt);
      this.readAt = bigger;
      const ordinals = new Float64Array(size);
      ordinals.set(this.readOrdinal);
      this.readOrdinal = ordinals;
    }
    // A retransmission is read again; the first read is when the SUT got it.
    if (this.readAt[seq] === 0) {
      this.readAt[seq] = Number(process.hrtime.bigint());
      this.readOrdinal[seq] = this.reads;
    }
  }

  /** Messages read after `seq` so far (-1: `seq` not read). */
  readsAfter(seq: number): number {
    const ordinal = this.readOrdinal[seq] ?? 0;
    return ordinal === 0 ? -1 : this.reads - ordinal;
  }

  /** When `seq` was read, in monotonic ns, or 0. */
  readTime(seq: number): number {
    return this.readAt[seq] ?? 0;
  }
}
