import postgres from 'postgres';
import { STATUS_CHANNEL } from '../store/postgres-schema.js';
import {
  parseStatusNotifyPayload,
  type QueueEventInput,
  type QueueEventRow,
  queueIsStored,
  readQueueEventsAfter,
  readQueueTails,
} from '../store/postgres-queue-events.js';
import { redactedUrl } from '../store/postgres-store.js';
import type { Timer, TimerScheduler } from '../util/timer-scheduler.js';
import { ClusterError } from './cluster-error.js';

/** Where the relay appends: PostgresSubscriptionStore (its group transaction) in the daemon. */
export interface QueueEventAppender {
  appendQueueEvents(events: readonly QueueEventInput[], keep: number): Promise<number[]>;
}

/** One status message read back from the table: its event id and its payload, a JSON object. */
export interface RelayedEvent {
  readonly id: number;
  readonly value: Record<string, unknown>;
}

/** Receives a followed queue's events, in id order, each once. */
export type RelaySink = (events: readonly RelayedEvent[]) => void;

export interface StatusRelayOptions {
  /** The database (the store's URL): the relay reads and LISTENs on connections of its own. */
  url: string;
  appender: QueueEventAppender;
  /** Events kept per queue in the table (the daemon's `http.sse_buffer`), and read when a queue is first followed. */
  keep: number;
  /** Runs the safety poll. */
  scheduler: TimerScheduler;
  /**
   * Every followed queue is read this often whatever NOTIFY says (default
   * 5,000 ms): what a lost notification or a LISTEN that could not be
   * re-established would hide arrives at the latest then.
   */
  pollIntervalMs?: number;
  /** A failed append is tried again after this long (default 1,000 ms). */
  retryDelayMs?: number;
  /** Rows per queue per read (default 1,000; a queue further behind is read again at once). */
  readLimit?: number;
  /** Messages waiting to be appended beyond which the oldest are dropped (default 100,000; counted). */
  maxPending?: number;
  /** Messages per append transaction at most (default 5,000): a burst goes in several. */
  maxBatch?: number;
  /** Told about what the relay survives: a failed append (retried), read (retried), a sink that threw. */
  onError?: (error: unknown, what: 'append' | 'read' | 'sink') => void;
  connectTimeoutSeconds?: number;
}

interface Followed {
  readonly sink: RelaySink;
  /** The id of the last event delivered (or skipped); undefined until the first read places it. */
  last: number | undefined;
  /** The highest id announced (NOTIFY, or this node's own append): worth a read while above `last`. */
  wanted: number;
}

/**
 * The status relay of a cluster (issue 16, docs/cluster.md §5): status
 * messages produced on the node that owns a subscription reach the client's
 * queue on whichever node the client is connected to.
 *
 * Writing: `append` buffers; once per event-loop turn the buffer goes to the
 * store in one transaction, which takes the ids from each queue's high-water
 * mark, stores the rows and NOTIFYs `<last id>:<queue>` per queue. One append
 * is in flight at a time, so a failed one is retried before anything newer
 * and a queue's messages keep their order in the ids.
 *
 * Reading: `follow(queue, sink)` delivers the queue's events above the last
 * one delivered, in id order, each once: its newest `keep` first, then,
 * whenever a NOTIFY names the queue with a newer id, when the LISTEN
 * connection is (re)established (a gap while it was down is read then), at
 * every `pollIntervalMs`, after each of this node's own appends, and on
 * `catchUp()`. Reading "above the last id" never skips a row, because a
 * queue's ids are committed in id order (src/store/postgres-queue-events.ts).
 *
 * Bad rows (an id that is not a whole number, a payload that is not a JSON
 * object) are skipped and counted; nothing here throws at its caller after
 * `start`.
 */
export class StatusRelay {
  readonly stats = {
    /** Messages committed to the table by this node. */
    appended: 0,
    appendFailures: 0,
    /** Messages dropped because appends kept failing (maxPending). */
    dropped: 0,
    /** Events handed to sinks. */
    delivered: 0,
    reads: 0,
    readFailures: 0,
    notifications: 0,
    /** NOTIFY payloads on our channel that are not ours. */
    strangeNotifications: 0,
    /** Rows skipped: id not a whole number, payload not a JSON object. */
    badRows: 0,
    /** Times a queue's next row was not the id after the last delivered (rows trimmed before this node read them, or ids skipped). */
    gaps: 0,
    /** LISTEN established (1 at start, then once per reconnection). */
    listens: 0,
  };

  private readonly followed = new Map<string, Followed>();
  /** Queues to read whatever they hold (follow, poll, reconnection, catchUp). */
  private readonly dirty = new Set<string>();
  /** Queues with an id announced: read only when it is still above what was delivered. */
  private readonly announced = new Set<string>();
  private pending: QueueEventInput[] = [];
  private appendScheduled: NodeJS.Immediate | undefined;
  private appending: Promise<void> | undefined;
  private retryTimer: Timer | undefined;
  private pollTimer: Timer | undefined;
  private running: Promise<void> | undefined;
  private kickScheduled: NodeJS.Immediate | undefined;
  private readsStarted = 0;
  private readsDone = 0;
  private waiters: Array<{ target: number; resolve: () => void }> = [];
  private closed = false;
  private closing: Promise<void> | undefined;
  private unlisten: (() => Promise<void>) | undefined;
  private readonly keep: number;
  private readonly pollIntervalMs: number;
  private readonly retryDelayMs: number;
  private readonly readLimit: number;
  private readonly maxPending: number;
  private readonly maxBatch: number;

  private constructor(
    private readonly sql: postgres.Sql,
    private readonly options: StatusRelayOptions,
  ) {
    this.keep = options.keep;
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.readLimit = options.readLimit ?? 1_000;
    this.maxPending = options.maxPending ?? 100_000;
    this.maxBatch = options.maxBatch ?? 5_000;
  }

  /** Connects and LISTENs; a ClusterError (CLUSTER_ERR_IO, naming the database without its password) when it cannot. */
  static async start(options: StatusRelayOptions): Promise<StatusRelay> {
    for (const [key, value] of [
      ['keep', options.keep],
      ['readLimit', options.readLimit ?? 1],
      ['maxPending', options.maxPending ?? 1],
      ['maxBatch', options.maxBatch ?? 1],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) throw new ClusterError('CLUSTER_ERR_IO', `status relay: ${key} must be a whole number ≥ 1, got ${String(value)}`);
    }
    const sql = postgres(options.url, {
      max: 1,
      onnotice: () => {},
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      idle_timeout: 0,
      max_lifetime: null,
      connection: { application_name: 'presence-b2b status relay' },
    });
    const relay = new StatusRelay(sql, options);
    try {
      const handle = await sql.listen(STATUS_CHANNEL, relay.onNotify, relay.onListen);
      relay.unlisten = handle.unlisten;
    } catch (error) {
      await sql.end({ timeout: 1 }).catch(() => {});
      throw new ClusterError('CLUSTER_ERR_IO', `status relay in ${redactedUrl(options.url)}: cannot LISTEN (${error instanceof Error ? error.message : String(error)})`, {
        cause: error,
      });
    }
    relay.armPoll();
    return relay;
  }

  /** Appends a status message (payload: a JSON object's text) to `queue`, with the others of this turn. */
  append(queue: string, payload: string): void {
    if (this.closed) return;
    this.pending.push({ queue, payload });
    if (this.pending.length > this.maxPending) {
      const excess = this.pending.length - this.maxPending;
      this.pending.splice(0, excess);
      this.stats.dropped += excess;
    }
    this.scheduleAppend();
  }

  /**
   * Delivers `queue`'s events to `sink` from now on: first its newest `keep`
   * (or, with `afterId`, those above it), then each new one. Following a
   * queue again replaces the sink and starts over.
   */
  follow(queue: string, sink: RelaySink, afterId?: number): void {
    if (this.closed) return;
    this.followed.set(queue, { sink, last: afterId, wanted: 0 });
    this.dirty.add(queue);
    this.kick();
  }

  unfollow(queue: string): void {
    this.followed.delete(queue);
    this.dirty.delete(queue);
    this.announced.delete(queue);
  }

  /** The id of the last event delivered for `queue` (undefined before its first read). */
  lastDelivered(queue: string): number | undefined {
    return this.followed.get(queue)?.last;
  }

  /**
   * Resolves once a read of every followed queue that started after this
   * call has ended: everything committed before the call has been delivered
   * (unless that read failed: then what could be). For a client resuming
   * with an id this node has not delivered yet.
   */
  catchUp(): Promise<void> {
    if (this.closed || this.followed.size === 0) return Promise.resolve();
    for (const name of this.followed.keys()) this.dirty.add(name);
    const target = this.readsStarted + 1;
    const done = new Promise<void>((resolve) => this.waiters.push({ target, resolve }));
    this.kick();
    return done;
  }

  /** Whether a queue of that name is stored (made on any node). */
  async isStored(queue: string): Promise<boolean> {
    if (this.closed) return false;
    return queueIsStored(this.sql, queue);
  }

  /** Resolves once every message appended before the call is committed (or dropped). */
  async flushed(): Promise<void> {
    while (!this.closed && (this.pending.length > 0 || this.appending !== undefined)) {
      if (this.appending === undefined) this.appendNow();
      await this.appending;
      if (this.retryTimer !== undefined) return;
    }
  }

  /** Appends what is pending (one try), stops listening and reading, closes the connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.appendScheduled !== undefined) clearImmediate(this.appendScheduled);
      this.appendScheduled = undefined;
      this.retryTimer?.cancel();
      this.retryTimer = undefined;
      if (this.appending !== undefined) await this.appending;
      if (this.pending.length > 0) {
        this.appendNow();
        await this.appending;
      }
      this.closed = true;
      this.pollTimer?.cancel();
      if (this.kickScheduled !== undefined) clearImmediate(this.kickScheduled);
      this.kickScheduled = undefined;
      this.followed.clear();
      this.dirty.clear();
      await this.running;
      for (const w of this.waiters.splice(0)) w.resolve();
      await this.unlisten?.().catch(() => {});
      await this.sql.end({ timeout: 2 }).catch(() => {});
    })();
    return this.closing;
  }

  // ------------------------------------------------------------------ writing

  private scheduleAppend(): void {
    if (this.appendScheduled !== undefined || this.appending !== undefined || this.retryTimer !== undefined) return;
    // setImmediate: every message of this turn (and of the I/O phase) goes in one transaction.
    this.appendScheduled = setImmediate(() => {
      this.appendScheduled = undefined;
      this.appendNow();
    });
  }

  private appendNow(): void {
    if (this.appending !== undefined || this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.maxBatch);
    this.appending = this.options.appender.appendQueueEvents(batch, this.keep).then(
      (ids) => {
        this.appending = undefined;
        this.stats.appended += batch.length;
        // This node's own clients need not wait for the NOTIFY to come back.
        const newest = new Map<string, number>();
        batch.forEach((e, i) => {
          newest.set(e.queue, Math.max(newest.get(e.queue) ?? 0, ids[i] ?? 0));
        });
        for (const [queue, id] of newest) this.announce(queue, id);
        if (this.pending.length > 0) this.scheduleAppend();
      },
      (error: unknown) => {
        this.appending = undefined;
        this.stats.appendFailures++;
        this.report(error, 'append');
        if (this.closed || this.closing !== undefined) {
          this.stats.dropped += batch.length;
          return;
        }
        // Before anything newer: a queue's messages keep their order.
        this.pending = batch.concat(this.pending);
        if (this.pending.length > this.maxPending) {
          const excess = this.pending.length - this.maxPending;
          this.pending.splice(0, excess);
          this.stats.dropped += excess;
        }
        this.retryTimer = this.after(this.retryDelayMs, () => {
          this.retryTimer = undefined;
          this.appendNow();
        });
      },
    );
  }

  // ------------------------------------------------------------------ reading

  private readonly onNotify = (payload: string): void => {
    this.stats.notifications++;
    const notice = parseStatusNotifyPayload(payload);
    if (notice === undefined) {
      this.stats.strangeNotifications++;
      return;
    }
    if (notice === 'all') {
      for (const name of this.followed.keys()) this.dirty.add(name);
      this.kick();
    } else {
      this.announce(notice.queue, notice.lastId);
    }
  };

  /** Id `id` of `queue` is committed: read it unless delivered already (or about to be). */
  private announce(queue: string, id: number): void {
    const f = this.followed.get(queue);
    if (f === undefined || (f.last !== undefined && id <= f.last) || id <= f.wanted) return;
    f.wanted = id;
    this.announced.add(queue);
    this.kick();
  }

  /** LISTEN (re)established: whatever was notified while it was down is in the table. */
  private readonly onListen = (): void => {
    this.stats.listens++;
    for (const name of this.followed.keys()) this.dirty.add(name);
    this.kick();
  };

  private armPoll(): void {
    this.pollTimer = this.after(this.pollIntervalMs, () => {
      for (const name of this.followed.keys()) this.dirty.add(name);
      this.kick();
      this.armPoll();
    });
  }

  private kick(): void {
    if (this.running !== undefined || this.kickScheduled !== undefined || this.closed) return;
    // setImmediate: the NOTIFYs of one commit (one per queue) arrive together and make one read.
    this.kickScheduled = setImmediate(() => {
      this.kickScheduled = undefined;
      if (this.running !== undefined || this.closed || (this.dirty.size === 0 && this.announced.size === 0)) return;
      this.running = this.readLoop().finally(() => {
        this.running = undefined;
      });
    });
  }

  private async readLoop(): Promise<void> {
    while (!this.closed && (this.dirty.size > 0 || this.announced.size > 0)) {
      const names = [...this.dirty];
      for (const name of this.announced) {
        const f = this.followed.get(name);
        // An announced id that an earlier read delivered already (its NOTIFY came late) costs no read.
        if (f !== undefined && !this.dirty.has(name) && (f.last === undefined || f.wanted > f.last)) names.push(name);
      }
      this.dirty.clear();
      this.announced.clear();
      if (names.length === 0) continue;
      const generation = ++this.readsStarted;
      try {
        await this.readOnce(names);
        this.stats.reads++;
      } catch (error) {
        this.stats.readFailures++;
        this.report(error, 'read');
        // Read again at the next poll (or NOTIFY, or reconnection), not in a tight loop.
        this.readsDone = generation;
        this.settleWaiters();
        return;
      }
      this.readsDone = generation;
      this.settleWaiters();
    }
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.target <= this.readsDone);
    this.waiters = this.waiters.filter((w) => w.target > this.readsDone);
    for (const w of ready) w.resolve();
  }

  private async readOnce(names: readonly string[]): Promise<void> {
    const entries = names.map((name) => ({ name, f: this.followed.get(name) })).filter((e): e is { name: string; f: Followed } => e.f !== undefined);
    const tails = entries.filter((e) => e.f.last === undefined);
    const afters = entries.filter((e) => e.f.last !== undefined);
    if (tails.length > 0) {
      const { rows, highWater } = await readQueueTails(
        this.sql,
        tails.map((e) => e.name),
        this.keep,
      );
      const byQueue = groupRows(rows);
      for (const { name, f } of tails) {
        if (this.followed.get(name) !== f || f.last !== undefined) continue;
        f.last = 0;
        this.deliver(f, byQueue.get(name) ?? [], false);
        // Nothing at or below the mark can be committed later (ids are taken in commit order).
        f.last = Math.max(f.last, highWater.get(name) ?? 0);
      }
    }
    if (afters.length > 0) {
      const from = afters.map((e) => ({ queue: e.name, after: e.f.last ?? 0 }));
      const byQueue = groupRows(await readQueueEventsAfter(this.sql, from, this.readLimit));
      for (const { name, f } of afters) {
        const rows = byQueue.get(name) ?? [];
        if (this.followed.get(name) !== f) continue;
        this.deliver(f, rows, true);
        // A full page: more may be waiting.
        if (rows.length >= this.readLimit) this.dirty.add(name);
      }
    }
  }

  /** Hands `rows` (by id) to the sink: those above the last delivered, valid ones only. */
  private deliver(f: Followed, rows: readonly QueueEventRow[], countGaps: boolean): void {
    const events: RelayedEvent[] = [];
    let last = f.last ?? 0;
    for (const row of rows) {
      const id = row.id;
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
        this.stats.badRows++;
        continue;
      }
      if (id <= last) continue;
      if (countGaps && id !== last + 1 && events.length === 0 && last > 0) this.stats.gaps++;
      last = id;
      const value = jsonObject(row.payload);
      if (value === undefined) {
        this.stats.badRows++;
        continue;
      }
      events.push({ id, value });
    }
    f.last = last;
    if (events.length === 0) return;
    this.stats.delivered += events.length;
    try {
      f.sink(events);
    } catch (error) {
      this.report(error, 'sink');
    }
  }

  private after(ms: number, fn: () => void): Timer | undefined {
    try {
      return this.options.scheduler.after(ms, fn);
    } catch {
      // The scheduler is closed: the daemon is stopping.
      return undefined;
    }
  }

  private report(error: unknown, what: 'append' | 'read' | 'sink'): void {
    try {
      this.options.onError?.(error, what);
    } catch {
      // A broken reporter must not stop the relay.
    }
  }
}

function groupRows(rows: readonly QueueEventRow[]): Map<string, QueueEventRow[]> {
  const out = new Map<string, QueueEventRow[]>();
  for (const r of rows) {
    const list = out.get(r.queue);
    if (list === undefined) out.set(r.queue, [r]);
    else list.push(r);
  }
  return out;
}

function jsonObject(payload: unknown): Record<string, unknown> | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
