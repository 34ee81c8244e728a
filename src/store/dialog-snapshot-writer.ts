import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import { copyDialog, type StoredDialog } from './stored-dialog.js';
import type { DialogWriteBatch, SubscriptionStore } from './subscription-store.js';

/** Default and smallest sensible spacing of two flushes. */
export const SNAPSHOT_FLUSH_INTERVAL_MS = 1000;

export interface DialogSnapshotWriterOptions {
  store: SubscriptionStore;
  scheduler: TimerScheduler;
  /** Milliseconds between two flushes at most once per interval (default 1000). */
  intervalMs?: number;
  /** A flush that failed (its changes are kept and retried at the next tick). */
  onError?: (error: unknown) => void;
  /**
   * How a batch is written, instead of `store.writeDialogs`: a cluster node
   * writes through the fenced write of its lease manager (docs/cluster.md §4);
   * rows it is refused are not retried (they are the new owner's).
   */
  write?: (batch: DialogWriteBatch) => Promise<void>;
}

export interface DialogSnapshotWriterStats {
  /** Flushes that committed. */
  flushes: number;
  /** Snapshots upserted and deleted by them. */
  upserts: number;
  deletes: number;
  /** Flushes that failed (retried). */
  failures: number;
}

/**
 * Where the writer reads a dialog's state at flush time (markDirty): the
 * engine itself, so that marking a dialog costs one map write and no copy.
 */
export interface DialogSnapshotSource {
  /** The dialog's current snapshot under `key`, or undefined when it is not to be stored (it is then deleted). */
  storedDialog(key: string): StoredDialog | undefined;
}

/** The latest wish for one key: a snapshot to store, a source to read one from at the flush, or undefined to delete it. */
type DirtyEntry = StoredDialog | DialogSnapshotSource | undefined;

function isSource(entry: DirtyEntry): entry is DialogSnapshotSource {
  return entry !== undefined && typeof (entry as Partial<DialogSnapshotSource>).storedDialog === 'function';
}

/**
 * Collects the engine's dialog snapshot changes and writes them in batches:
 * at most one store transaction (`writeDialogs`) per interval, a second by
 * default, started by the injected TimerScheduler. Only the latest state of
 * each dialog is written (a dialog refreshed three times within the second
 * costs one row write), so the cost does not depend on the NOTIFY rate, and
 * the NOTIFY path itself never writes.
 *
 * The store therefore lags at most an interval (plus one write) behind:
 * resume a dialog with `resumedCSeq()` (RESUME_CSEQ_MARGIN above the stored
 * CSeq). A failed flush keeps its changes (unless newer ones replaced them)
 * and retries at the next tick.
 */
export class DialogSnapshotWriter {
  private dirty = new Map<string, DirtyEntry>();
  private timer: Timer | undefined;
  private inflight: Promise<void> | undefined;
  private closed = false;
  private readonly intervalMs: number;
  readonly stats: DialogSnapshotWriterStats = { flushes: 0, upserts: 0, deletes: 0, failures: 0 };

  constructor(private readonly options: DialogSnapshotWriterOptions) {
    this.intervalMs = options.intervalMs ?? SNAPSHOT_FLUSH_INTERVAL_MS;
  }

  /** Changes waiting for the next flush. */
  get pending(): number {
    return this.dirty.size;
  }

  /** Stores this state of the dialog at the next flush (replacing any earlier unflushed state). */
  upsert(snapshot: StoredDialog): void {
    if (this.closed) return;
    // Copied (and checked) now: the engine keeps mutating its own dialog object.
    const copy = copyDialog(snapshot);
    this.dirty.set(copy.key, copy);
    this.arm();
  }

  /**
   * The dialog under `key` changed: `source.storedDialog(key)` is read at the
   * next flush (latest state, no copy now). What the NOTIFY path calls: one
   * map write, however many NOTIFYs the dialog gets within the second.
   */
  markDirty(key: string, source: DialogSnapshotSource): void {
    if (this.closed) return;
    this.dirty.set(key, source);
    this.arm();
  }

  /** Forgets the dialog at the next flush (it ended, or will never be resumed). */
  delete(key: string): void {
    if (this.closed) return;
    this.dirty.set(key, undefined);
    this.arm();
  }

  /**
   * Forgets what is pending for `key`, neither written nor deleted: the
   * dialog was handed over to another node (cluster), whose row it is now.
   */
  discard(key: string): void {
    this.dirty.delete(key);
  }

  /** Writes what is pending now, without waiting for the tick (also waits for a write in flight). */
  async flush(): Promise<void> {
    this.disarm();
    if (this.inflight !== undefined) await this.inflight;
    // The write just awaited may have re-armed the tick: this flush takes its place.
    this.disarm();
    if (this.dirty.size > 0) await this.write();
  }

  /** Flushes, then takes nothing more. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.disarm();
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer !== undefined || this.inflight !== undefined) return;
    this.timer = this.options.scheduler.after(this.intervalMs, () => {
      this.timer = undefined;
      if (this.dirty.size > 0) void this.write();
    });
  }

  /** One transaction with every pending change; re-arms when more arrived meanwhile. */
  private write(): Promise<void> {
    const batch = this.dirty;
    this.dirty = new Map();
    const upserts: StoredDialog[] = [];
    const deletes: string[] = [];
    for (const [key, wish] of batch) {
      let entry: StoredDialog | undefined;
      if (isSource(wish)) {
        // Read (and checked) now: a source that cannot give a valid snapshot is reported, and the key deleted.
        try {
          const read = wish.storedDialog(key);
          entry = read === undefined ? undefined : copyDialog(read);
        } catch (error) {
          this.options.onError?.(error);
          entry = undefined;
        }
        // What is retried after a failed write is this state (a newer mark replaces it).
        batch.set(key, entry);
      } else {
        entry = wish;
      }
      if (entry === undefined) deletes.push(key);
      else upserts.push(entry);
    }
    const write = this.options.write ?? ((b: DialogWriteBatch) => this.options.store.writeDialogs(b));
    const done = write({ upserts, deletes }).then(
      () => {
        this.stats.flushes++;
        this.stats.upserts += upserts.length;
        this.stats.deletes += deletes.length;
      },
      (error: unknown) => {
        this.stats.failures++;
        // Keep the failed changes, except where a newer one arrived meanwhile.
        for (const [key, entry] of batch) if (!this.dirty.has(key)) this.dirty.set(key, entry);
        this.options.onError?.(error);
      },
    );
    const tracked = done.finally(() => {
      if (this.inflight === tracked) this.inflight = undefined;
      if (this.dirty.size > 0 && !this.closed) this.arm();
    });
    this.inflight = tracked;
    return tracked;
  }
}
