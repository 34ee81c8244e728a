/**
 * The statements of the status relay's table, `queue_events` (cluster
 * schema version 2, postgres-schema.ts): the recent status messages of each
 * named queue, with their event ids. Writers append through the store's
 * group transaction (PostgresSubscriptionStore.appendQueueEvents); readers
 * (src/cluster/status-relay.ts) read on a connection of their own.
 *
 * Why the ids of one queue are committed in id order, which is what lets a
 * reader take "every row above the last id I delivered" without ever
 * skipping one: the ids are taken by raising `queues.event_id_high_water`
 * (an INSERT … ON CONFLICT DO UPDATE of the queue's row), which locks that
 * row until the transaction ends. A second writer of the same queue, on any
 * node, waits at its own raise for the first to commit, and then (READ
 * COMMITTED re-reads the row it waited for) numbers from the committed
 * mark. So for one queue id order is commit order, and a commit is visible
 * before its row locks are released: a reader's snapshot that holds id 12
 * holds id 11 too.
 */
import { STATUS_CHANNEL } from './postgres-schema.js';
import { StoreError } from './store-error.js';
import type postgres from 'postgres';

type Sql = postgres.Sql | postgres.TransactionSql;
type Row = Record<string, unknown>;

/** One status message to append: its queue and its payload (JSON text, the view without its id). */
export interface QueueEventInput {
  readonly queue: string;
  readonly payload: string;
}

/** One row read back; `id` and `payload` unchecked (a row may be damaged: the reader judges). */
export interface QueueEventRow {
  readonly queue: string;
  readonly id: unknown;
  readonly payload: unknown;
}

/** NOTIFY payloads are limited to 8,000 bytes; ours stay far below, or say `*` (read every queue). */
const NOTIFY_PAYLOAD_MAX = 7_900;

/** The NOTIFY payload announcing a queue's rows up to `lastId`. */
export function statusNotifyPayload(queue: string, lastId: number): string {
  const payload = `${lastId}:${queue}`;
  return Buffer.byteLength(payload, 'utf8') <= NOTIFY_PAYLOAD_MAX ? payload : '*';
}

/** The queue and id a NOTIFY payload announces; `all` for `*`; undefined when it is not one of ours. */
export function parseStatusNotifyPayload(payload: string): { queue: string; lastId: number } | 'all' | undefined {
  if (payload === '*') return 'all';
  const colon = payload.indexOf(':');
  if (colon <= 0) return undefined;
  const digits = payload.slice(0, colon);
  if (!/^[0-9]{1,16}$/.test(digits)) return undefined;
  const lastId = Number(digits);
  if (!Number.isSafeInteger(lastId)) return undefined;
  return { queue: payload.slice(colon + 1), lastId };
}

function whole(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : Number.NaN;
}

/**
 * Appends `events` inside transaction `tx` and returns their ids (same
 * order as `events`): per queue, consecutive ids above its high-water mark,
 * in the order given. Queue rows are locked in name order (the ids of every
 * queue in one statement), so two writers never wait for each other in a
 * cycle. When a queue's mark crosses a multiple of keep/4 (amortized: one
 * DELETE per keep/4 messages), the rows more than `keep` below the first id
 * of this append are deleted: the `keep` before it stay, and so does all of
 * it, however big (readers get a whole burst; the next append trims it).
 * Then one NOTIFY per queue.
 */
export async function appendQueueEventsTx(tx: postgres.TransactionSql, events: readonly QueueEventInput[], keep: number): Promise<number[]> {
  if (events.length === 0) return [];
  const every = Math.max(1, Math.ceil(keep / 4));
  // One statement, one round trip: ids, rows, trim and NOTIFYs. The payloads travel as one JSON
  // array (serialized natively) rather than a text[] literal that the client escapes string by string.
  const [row] = await tx<Row[]>`
    WITH input AS MATERIALIZED (
      SELECT queue, payload, ord
      FROM ROWS FROM (unnest(${events.map((e) => e.queue)}::text[]), json_array_elements_text(${JSON.stringify(events.map((e) => e.payload))}::text::json))
        WITH ORDINALITY AS t(queue, payload, ord)
    ),
    counts AS MATERIALIZED (SELECT queue, count(*)::bigint AS n FROM input GROUP BY queue),
    marks AS (
      INSERT INTO queues (name, event_id_high_water)
      SELECT queue, n FROM counts ORDER BY queue
      ON CONFLICT (name) DO UPDATE SET event_id_high_water = queues.event_id_high_water + excluded.event_id_high_water
      RETURNING name, event_id_high_water AS last
    ),
    numbered AS MATERIALIZED (
      SELECT i.queue, i.payload, i.ord, m.last - c.n + row_number() OVER (PARTITION BY i.queue ORDER BY i.ord) AS id
      FROM input i JOIN counts c ON c.queue = i.queue JOIN marks m ON m.name = i.queue
    ),
    inserted AS (INSERT INTO queue_events (queue, id, payload) SELECT queue, id, payload FROM numbered RETURNING 1),
    trimmed AS (
      DELETE FROM queue_events e USING marks m JOIN counts c ON c.queue = m.name
      WHERE e.queue = m.name AND m.last / ${every} <> (m.last - c.n) / ${every} AND e.id <= m.last - c.n - ${keep}
      RETURNING 1
    ),
    notified AS (
      SELECT pg_notify(${STATUS_CHANNEL}, CASE WHEN octet_length(m.last::text || ':' || m.name) <= ${NOTIFY_PAYLOAD_MAX} THEN m.last::text || ':' || m.name ELSE '*' END)
      FROM marks m
    )
    SELECT (SELECT count(*) FROM inserted) AS inserted, (SELECT count(*) FROM trimmed) AS trimmed,
           (SELECT count(*) FROM notified) AS notified, (SELECT json_agg(id ORDER BY ord)::text FROM numbered) AS ids`;
  const parsed: unknown = JSON.parse(String(row?.ids ?? '[]'));
  const ids = Array.isArray(parsed) ? parsed.map(whole) : [];
  if (ids.length !== events.length || ids.some((id) => Number.isNaN(id))) {
    // Never seen: the statement returns one id per message. Thrown inside the transaction, it rolls it back.
    throw new StoreError('STORE_ERR_IO', `queue_events: the append returned ${ids.length} ids for ${events.length} messages; nothing of it was stored`);
  }
  return ids;
}

/** Per queue, the rows above `after`, at most `limit` of each, by queue then id. */
export async function readQueueEventsAfter(sql: Sql, from: ReadonlyArray<{ queue: string; after: number }>, limit: number): Promise<QueueEventRow[]> {
  if (from.length === 0) return [];
  const rows = await sql<Row[]>`
    SELECT f.queue, e.id, e.payload
    FROM unnest(${from.map((f) => f.queue)}::text[], ${from.map((f) => f.after)}::bigint[]) AS f(queue, after)
    CROSS JOIN LATERAL (
      SELECT id, payload FROM queue_events WHERE queue = f.queue AND id > f.after ORDER BY id LIMIT ${limit}
    ) AS e
    ORDER BY f.queue, e.id`;
  return rows.map((r) => ({ queue: String(r.queue), id: whole(r.id), payload: r.payload }));
}

/**
 * Per queue, its newest `limit` rows (by queue then id), and its high-water
 * mark (0 for a queue not stored): where a reader that starts now stands.
 */
export async function readQueueTails(
  sql: Sql,
  queues: readonly string[],
  limit: number,
): Promise<{ rows: QueueEventRow[]; highWater: Map<string, number> }> {
  if (queues.length === 0) return { rows: [], highWater: new Map() };
  const list = [...queues];
  // One statement, one snapshot: the rows and the marks agree.
  const rows = await sql<Row[]>`
    SELECT f.queue, e.id, e.payload, q.event_id_high_water AS mark
    FROM unnest(${list}::text[]) AS f(queue)
    LEFT JOIN queues q ON q.name = f.queue
    LEFT JOIN LATERAL (
      SELECT id, payload FROM queue_events WHERE queue = f.queue ORDER BY id DESC LIMIT ${limit}
    ) AS e ON true
    ORDER BY f.queue, e.id`;
  const highWater = new Map<string, number>();
  const out: QueueEventRow[] = [];
  for (const r of rows) {
    const queue = String(r.queue);
    const mark = whole(r.mark);
    highWater.set(queue, Number.isNaN(mark) ? 0 : mark);
    if (r.id !== null) out.push({ queue, id: whole(r.id), payload: r.payload });
  }
  return { rows: out, highWater };
}

/** Whether a queue of that name is stored (created on any node). */
export async function queueIsStored(sql: Sql, name: string): Promise<boolean> {
  const rows = await sql<Row[]>`SELECT 1 FROM queues WHERE name = ${name}`;
  return rows.length > 0;
}
