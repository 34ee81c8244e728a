import postgres from 'postgres';
import type { SubscriptionAnnouncement } from '../store/postgres-store.js';
import { redactedUrl } from '../store/postgres-store.js';
import { SUBSCRIPTION_CHANNEL } from '../store/postgres-schema.js';
import { ClusterError } from './cluster-error.js';

/** A subscription change heard from the database, or a payload that is not one (counted, ignored). */
export interface AnnouncementHandlers {
  change(announcement: SubscriptionAnnouncement): void;
  /** A payload on the channel that is not an announcement of ours: ignored (told for logs and counts). */
  malformed?(payload: string): void;
}

/** The announcement in `payload`, or undefined when it is not one (never throws: anyone may NOTIFY). */
export function parseAnnouncement(payload: string): SubscriptionAnnouncement | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { op, id, shard } = value as Record<string, unknown>;
  if (op !== 'create' && op !== 'delete') return undefined;
  if (typeof id !== 'string' || id === '') return undefined;
  if (typeof shard !== 'number' || !Number.isSafeInteger(shard) || shard < 0) return undefined;
  return { op, id, shard };
}

export interface AnnouncementListener {
  /** Stops listening and closes the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * LISTENs on the channel on which PostgreSQL stores opened with `announce`
 * tell every node about API subscriptions created and deleted (issue 16):
 * the node holding the shard makes or ends the dialog. A connection of its
 * own (LISTEN holds it); postgres.js listens again after a reconnect.
 * Announcements are a hint, not a log: a node that takes a shard over reads
 * the shard's rows (loadShards), so one missed while disconnected is found
 * there.
 */
export async function listenForAnnouncements(url: string, handlers: AnnouncementHandlers, options: { connectTimeoutSeconds?: number } = {}): Promise<AnnouncementListener> {
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    connection: { application_name: 'presence-b2b announcements' },
  });
  try {
    await sql.listen(SUBSCRIPTION_CHANNEL, (payload) => {
      const announcement = parseAnnouncement(payload);
      if (announcement === undefined) handlers.malformed?.(payload);
      else handlers.change(announcement);
    });
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw new ClusterError('CLUSTER_ERR_IO', `announcements in ${redactedUrl(url)}: cannot LISTEN (${error instanceof Error ? error.message : String(error)})`, {
      cause: error,
    });
  }
  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= sql.end({ timeout: 5 }).catch(() => {});
      return closed;
    },
  };
}
