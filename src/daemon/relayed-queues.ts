import type { DaemonConfig } from '../config/config-schema.js';
import type { StatusView } from '../http/api-types.js';
import type { EventRing } from '../http/event-ring.js';
import { type RelayedEvent, StatusRelay } from '../cluster/status-relay.js';
import { PostgresSubscriptionStore } from '../store/postgres-store.js';
import type { SubscriptionStore } from '../store/subscription-store.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';

/**
 * What the QueueHub needs to serve its named queues through the cluster's
 * status relay instead of numbering them itself (queue-hub.ts): each status
 * taken from a local queue is appended, and each ring is filled from the
 * table, with the table's ids, whichever node appended.
 */
export interface QueueRelay {
  /** The hub serves `name` with `ring`: fill it with the queue's events (its newest first, then each new one). */
  open(name: string, ring: EventRing<StatusView>): void;
  /** A status this node produced for `name` (its `sequence`, a local number, is replaced by the table's id). */
  append(name: string, view: StatusView): void;
  /** Resolves once the rings hold everything committed before the call (a client resumes with an id we may not have read yet). */
  catchUp(): Promise<void>;
  /** Whether a queue of that name exists on any node. */
  isStored(name: string): Promise<boolean>;
  close(): Promise<void>;
}

/** The status relay seen by the daemon's queue hub: StatusView in, StatusView out. */
export class RelayedQueues implements QueueRelay {
  constructor(readonly relay: StatusRelay) {}

  open(name: string, ring: EventRing<StatusView>): void {
    this.relay.follow(name, (events) => {
      for (const e of events) pushRelayed(ring, e);
    });
  }

  append(name: string, view: StatusView): void {
    const { sequence: _local, ...rest } = view;
    this.relay.append(name, JSON.stringify(rest));
  }

  catchUp(): Promise<void> {
    return this.relay.catchUp();
  }

  isStored(name: string): Promise<boolean> {
    return this.relay.isStored(name).catch(() => false);
  }

  close(): Promise<void> {
    return this.relay.close();
  }
}

/** An event of the table into a ring: its id is the SSE id and the view's `sequence`. */
function pushRelayed(ring: EventRing<StatusView>, event: RelayedEvent): void {
  const newest = ring.newestId;
  // The relay delivers each id once and in order; a ring that is somehow ahead keeps what it has.
  if (newest !== undefined && event.id <= newest) return;
  // The first event: those before it (trimmed, or from before the relay) are not here; a client resuming below gets a gap.
  if (newest === undefined && event.id > 1) ring.startsAfter(event.id - 1);
  ring.push({ id: event.id, value: { ...(event.value as unknown as StatusView), sequence: event.id } });
}

export interface StatusRelayStart {
  config: DaemonConfig;
  store: SubscriptionStore;
  scheduler: TimerScheduler;
  /** Relay even without `cluster:` (a test of two nodes on one database before the cluster mode starts). */
  requested: boolean;
  onError: (error: unknown, what: string) => void;
}

/**
 * The status relay when the daemon shares its PostgreSQL store with other
 * nodes (`cluster:` set, or asked for), else undefined: a single node numbers
 * its queues itself (event-id-lease.ts).
 */
export async function startRelayedQueues(start: StatusRelayStart): Promise<RelayedQueues | undefined> {
  const { config, store } = start;
  if (!(store instanceof PostgresSubscriptionStore) || config.store.type !== 'postgres') return undefined;
  if (config.cluster === undefined && !start.requested) return undefined;
  const relay = await StatusRelay.start({
    url: config.store.url,
    appender: store,
    keep: config.http.sse_buffer,
    scheduler: start.scheduler,
    onError: start.onError,
  });
  return new RelayedQueues(relay);
}
