/**
 * The crash test of issue 10, against the real Kamailio (PB2B_KAMAILIO,
 * scripts/with-peers.sh): the daemon (SQLite store) holds 2,000
 * subscriptions made through the HTTP API; more are being added and PUBLISH
 * changes flow when it is killed with SIGKILL at a random moment (seeded:
 * PB2B_CRASH_SEED reproduces a run; the seed is printed). It is started again
 * on the same store and SIP address. Then:
 * - every acknowledged subscription (HTTP 201) is there, with the same id, and
 *   becomes active again;
 * - an SSE consumer that reconnects with the Last-Event-ID it had before the
 *   crash gets only ids above it, and ends with every record's state equal
 *   to what was last published (duplicates allowed, gaps not);
 * - the stored dialogs were resumed in-dialog (printed: how many, how many
 *   fell back to a new dialog).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SNAPSHOT_FLUSH_INTERVAL_MS } from '../../src/store/dialog-snapshot-writer.js';
import type { RestartStats } from '../../src/subscription/presence-engine.js';
import { kamailioAddress, kamailioLogPath } from '../support/peers.js';
import { freeUdpTcpPort } from '../support/port-check.js';
import { api, DaemonProcess, testConfig } from './support/daemon-process.js';
import { Publisher } from './support/publisher.js';
import { SseStream, type StatusEvent, until } from './support/sse-stream.js';

const HELD = 2000;
const MORE = 600;
const IN_FLIGHT = 16;
const QUEUE = 'crash';
/** Users far from those of the other Kamailio tests. */
const USER_BASE = 900_000;

/** mulberry32: a small seeded generator for the kill moment and the changes. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const dir = mkdtempSync(join(tmpdir(), 'pb2b-crash-'));
const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** UDP datagrams the kernel dropped for a full receive buffer, machine-wide (/proc/net/snmp), for the diagnosis. */
async function udpReceiveBufferErrors(): Promise<number> {
  try {
    const lines = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]?.split(/\s+/) ?? [];
    const values = lines[1]?.split(/\s+/) ?? [];
    return Number(values[names.indexOf('RcvbufErrors')] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** Datagrams dropped for a full receive buffer on the UDP sockets bound to each port (/proc/net/udp, last column). */
async function udpSocketDrops(ports: number[]): Promise<Record<number, number>> {
  const out: Record<number, number> = {};
  try {
    for (const line of (await readFile('/proc/net/udp', 'utf8')).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const port = Number.parseInt(fields[1]?.split(':')[1] ?? '', 16);
      if (ports.includes(port)) out[port] = (out[port] ?? 0) + Number(fields[fields.length - 1]);
    }
  } catch {
    // Not Linux: nothing to say.
  }
  return out;
}

/** The state an event says, as published: basic and first note of the first tuple. */
function stateOf(e: StatusEvent): string | undefined {
  const tuple = e.data.presence?.tuples[0];
  if (tuple === undefined) return undefined;
  return `${tuple.basic}/${tuple.notes[0]?.text ?? ''}`;
}

test('SIGKILL while subscriptions are added and PUBLISH changes flow: every acknowledged subscription comes back, resumed; SSE ends at the last published state', async (t) => {
  const seed = Number(process.env.PB2B_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seeded(seed);
  const kamailio = kamailioAddress();
  const proxy = `sip:${kamailio.host}:${kamailio.port}`;
  const sipPort = await freeUdpTcpPort();
  const config = testConfig({
    presence_outbound_proxy: proxy,
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: sipPort }] },
    store: { type: 'sqlite', path: join(dir, 'state.db') },
    local_agent: { enabled: false },
    // What a loaded 2-core machine takes with Kamailio, the test and other work beside: the resume wave of
    // 2,000 takes 8 s. At 1000/s the daemon fell behind its UDP socket here (thousands of datagrams dropped),
    // and the subscriptions whose NOTIFY was lost waited for on_error_retry_time.
    max_subscribe_rate: 250,
    // No API rate limit (http.rate_limit, 100/s by default): this test creates 2,000 as fast as the daemon takes them.
    http: { host: '127.0.0.1', port: 0, sse_buffer: 50_000, rate_limit: { requests_per_second: 0, burst: 1 } },
    log_level: 'info',
  });
  const started = performance.now();
  const dropsBefore = await udpReceiveBufferErrors();
  const publisher = await Publisher.start(proxy, USER_BASE, 'crash');
  cleanups.push(() => publisher.close());

  // Every record has a state before anyone subscribes.
  const total = HELD + MORE;
  for (let i = 0; i < total; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, total - i) }, (_, k) => publisher.publish(i + k, 'closed')));
  }
  assert.equal(publisher.failures, 0, 'every initial PUBLISH answered 200');

  const first = await DaemonProcess.start(config);
  cleanups.push(() => first.kill());

  // The changes: about 150 PUBLISHes a second on random records, until told to stop.
  let publishing = true;
  const changes = (async () => {
    while (publishing) {
      const batch = Array.from({ length: 15 }, () => publisher.publish(Math.floor(random() * total), random() < 0.5 ? 'open' : 'closed'));
      await Promise.all([...batch, new Promise((r) => setTimeout(r, 100))]);
    }
  })();
  // A failed assertion must not leave the PUBLISH loop or the SSE stream holding the test process open.
  cleanups.push(async () => {
    publishing = false;
    c1?.close();
    await changes.catch(() => undefined);
  });

  // Subscriptions through the API, IN_FLIGHT at a time; an id counts once its 201 is in.
  const acknowledged = new Map<string, number>();
  let stopCreating = false;
  let next = 0;
  let c1: SseStream | undefined;
  const createUpTo = async (limit: number, base: string): Promise<void> => {
    const worker = async (): Promise<void> => {
      while (!stopCreating && next < limit) {
        const i = next++;
        try {
          const created = await api(base, 'POST', '/v1/subscriptions', { record: publisher.record(i), subscriber: `sip:watcher${i}@example.com`, queue: QUEUE });
          if (created.status === 201) acknowledged.set((created.json as { id: string }).id, i);
        } catch {
          // The daemon died under this request: not acknowledged.
        }
        // The consumer, from the first event on, once the queue exists.
        if (c1 === undefined) c1 = new SseStream(`${base}/v1/queues/${QUEUE}/events`, { 'last-event-id': '0' });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  };
  await createUpTo(HELD, first.httpBase);
  assert.equal(acknowledged.size, HELD, 'the first 2,000 acknowledged');
  cleanups.push(() => c1?.close());
  // Held means active, not only acknowledged: the API answers at once while the SUBSCRIBEs go out at
  // max_subscribe_rate, so without this wait a kill right after the 2,000th 201 finds hundreds of them
  // not yet established (hence not yet stored), and the test no longer checks what it says.
  // Polled every 500 ms: the list is 2,000 entries, and the daemon is busy establishing them.
  for (const deadline = performance.now() + 60_000; ; ) {
    const got = (await api(first.httpBase, 'GET', '/v1/subscriptions')).json as { subscriptions: Array<{ state: string }> };
    const active = got.subscriptions.filter((s) => s.state === 'active').length;
    if (active >= HELD) break;
    assert.ok(performance.now() < deadline, `the first 2,000 active within 60 s (${active} active)`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const heldAt = performance.now();
  // Stored means flushed: the snapshot writer writes at most once per SNAPSHOT_FLUSH_INTERVAL_MS, so the
  // store lags an interval plus one write behind (src/store/dialog-snapshot-writer.ts). Without this wait a
  // kill 341 ms after the poll saw the 2,000th active found the last 205 established but not yet flushed,
  // and 'most dialogs stored' failed in CI (seed 1700180528) although the store did what it promises.
  await new Promise((r) => setTimeout(r, 2 * SNAPSHOT_FLUSH_INTERVAL_MS));

  // More are added; the kill comes at a random moment of that.
  const killAfterMs = Math.floor(random() * 1500);
  const adding = createUpTo(total, first.httpBase);
  await new Promise((r) => setTimeout(r, killAfterMs));
  const killed = await first.stop('SIGKILL');
  stopCreating = true;
  await adding;
  assert.equal(killed.signal, 'SIGKILL');
  const ackedAtKill = acknowledged.size;
  const lastBefore = Math.max(0, ...(c1?.events.map((e) => e.id) ?? []));
  c1?.close();
  t.diagnostic(
    `seed ${seed} (PB2B_CRASH_SEED): SIGKILL ${killAfterMs} ms after the additions began (2 flush intervals after the 2,000th was active), ${ackedAtKill} acknowledged, ` +
      `${c1?.events.length ?? 0} SSE events seen before (last id ${lastBefore}), ${publisher.sent} PUBLISHes so far`,
  );

  // ---- restart on the same store and SIP address
  const second = await DaemonProcess.start(config, { timeoutMs: 30_000 });
  cleanups.push(() => second.kill());
  const restored = await second.waitForLog((l) => l.msg === 'subscriptions restored');
  const c2 = new SseStream(`${second.httpBase}/v1/queues/${QUEUE}/events`, { 'last-event-id': String(lastBefore) });
  cleanups.push(() => c2.close());
  // The changes go on for a while after the restart, then stop.
  await new Promise((r) => setTimeout(r, 2000));
  publishing = false;
  await changes;
  assert.equal(publisher.failures, 0, 'every PUBLISH answered 200');

  // Every acknowledged subscription is there with its id, and active again.
  interface Listed {
    id: string;
    record: string;
    state: string;
    dialog?: { state: string; callId?: string };
    lastStatus?: unknown;
  }
  const listed = new Map<string, Listed>();
  const notActive = (): string[] => [...acknowledged.keys()].filter((id) => listed.get(id)?.state !== 'active');
  try {
    await until(
      'every acknowledged subscription active again',
      async () => {
        const got = (await api(second.httpBase, 'GET', '/v1/subscriptions')).json as { subscriptions: Listed[] };
        listed.clear();
        for (const s of got.subscriptions) listed.set(s.id, s);
        return notActive().length === 0 ? true : undefined;
      },
      60_000,
    );
  } catch {
    const health = (await api(second.httpBase, 'GET', '/healthz')).json;
    const missing = notActive();
    const example = listed.get(missing[0] ?? '');
    if (example !== undefined) {
      // What Kamailio and the daemon said about the first one, for the diagnosis.
      const user = example.record.replace(/^sip:|@.*$/g, '');
      const kamailioLog = (await readFile(kamailioLogPath(), 'utf8')).split('\n').filter((l) => l.includes(`${user}@`));
      t.diagnostic(`Kamailio on ${user}:\n${kamailioLog.slice(-60).join('\n')}`);
      t.diagnostic(`daemon on ${example.id}:\n${second.lines.filter((l) => l.subscription === example.id || JSON.stringify(l).includes(user)).slice(-30).map((l) => JSON.stringify(l)).join('\n')}`);
    }
    assert.fail(
      `${missing.length} acknowledged subscriptions not active again; restart ${JSON.stringify(health)}; ` +
        `${(await udpReceiveBufferErrors()) - dropsBefore} UDP datagrams dropped by the kernel (all processes; per port ${JSON.stringify(await udpSocketDrops([sipPort, kamailio.port]))}); e.g.\n` +
        missing
          .slice(0, 5)
          .map((id) => `${id}: ${JSON.stringify(listed.get(id) ?? 'missing')}`)
          .join('\n'),
    );
  }
  for (const [id, i] of acknowledged) assert.equal(listed.get(id)?.record, publisher.record(i), `${id} keeps its record`);

  // The consumer ends with every record's last published state: nothing missing after the restart.
  const byId = new Map<string, number>(acknowledged);
  const expected = (i: number) => {
    const p = publisher.last.get(i);
    return p === undefined ? undefined : `${p.basic}/${p.note}`;
  };
  const mismatches = (): string[] => {
    const latest = new Map<string, StatusEvent>();
    for (const e of c2.events) latest.set(e.data.subscriptionId, e);
    const wrong: string[] = [];
    for (const [id, i] of byId) {
      const e = latest.get(id);
      const seen = e === undefined ? 'nothing' : stateOf(e);
      if (seen !== expected(i)) wrong.push(`${id} (${publisher.record(i)}): ${seen}, published ${expected(i)}`);
    }
    return wrong;
  };
  try {
    await until('every record at its last published state in the reconnected stream', async () => (mismatches().length === 0 ? true : undefined), 60_000);
  } catch {
    assert.fail(`${mismatches().length} records not at their last published state, e.g.\n${mismatches().slice(0, 5).join('\n')}`);
  }
  // No gap: the id from before the crash is known to the restarted queue, and nothing issued since is missing.
  assert.deepEqual(c2.gaps, [], 'no gap event for a Last-Event-ID from before the crash');
  for (let k = 0; k < c2.events.length; k++) {
    assert.ok(c2.events[k]!.id > lastBefore, 'ids above the Last-Event-ID');
    if (k > 0) assert.equal(c2.events[k]!.id, c2.events[k - 1]!.id + 1, 'ids consecutive after the restart: nothing skipped');
  }
  const health = (await api(second.httpBase, 'GET', '/healthz')).json as { restart: RestartStats };
  const r = health.restart;
  t.diagnostic(
    `restart: ${restored.subscriptions} subscriptions restored, ${r.stored} dialogs stored, ${r.claimed} claimed, ${r.resumed} resumed in-dialog, ` +
      `${r.fallbacks} fell back to a new dialog (481 or timeout), ${r.expired} expired, ${r.resumeFailed} failed otherwise; ${c2.events.length} SSE events after the reconnect; ` +
      `${publisher.sent} PUBLISHes in all; ${(await udpReceiveBufferErrors()) - dropsBefore} UDP datagrams dropped by the kernel (all processes); ${((performance.now() - started) / 1000).toFixed(1)} s in all (2,000 held after ${((heldAt - started) / 1000).toFixed(1)} s)`,
  );
  assert.ok(r.stored >= HELD * 0.9, `most dialogs were stored at the crash (${r.stored})`);
  assert.ok(r.resumed > 0, 'dialogs resumed in-dialog');
  assert.equal(r.resumed + r.fallbacks + r.expired + r.resumeFailed, r.claimed, 'every claimed dialog resumed, or renewed');
  assert.equal((await second.stop('SIGTERM', 20_000)).code, 0);
});
