/**
 * A NOTIFY flood at ten times the measured capacity, while the B2BUA holds
 * real Kamailio presence subscriptions (docs/hostile-input.md, "Floods"; issue 12).
 *
 * Set-up: a B2BUA in this process with the daemon's shedding settings
 * (sip.overload.backlog_limit `auto`, retry_after 5) holds SUBSCRIPTIONS
 * subscriptions to Kamailio's presence profile (PRESENTITIES presentities,
 * each watched by ten subscribers), all into one QSA queue of capacity
 * SUBSCRIPTIONS whose consumer stops taking messages just before the flood
 * until the recovery is over; a change per presentity then fills it (one
 * message per subscription), so that everything arriving meanwhile must
 * coalesce in it.
 *
 * The flood: one generator process (bench/load/notify-blaster.ts, pinned to
 * one core when taskset exists) sends NOTIFYs at FLOOD_RATE (ten times the
 * 5,000/s capacity measured in docs/hostile-input.md) for FLOOD_MS at the
 * B2BUA's UDP port, while the presentities publish new states to Kamailio
 * three times, so that Kamailio's own NOTIFYs arrive in the middle of it.
 *
 * What the flood NOTIFYs are, and why: spoofed copies of the real dialogs.
 * Each carries the Call-ID, tags and URIs of one of our Kamailio dialogs and
 * a CSeq above a billion, from 127.0.0.2 (still loopback; Kamailio sends from
 * 127.0.0.1). This is the worst case a flood can be: a NOTIFY for a dialog
 * that does not exist costs a lookup and a 481, but one that matches a real
 * dialog goes through every check, and were it accepted its CSeq would make
 * every later NOTIFY of Kamailio "out of order" (500), its body would replace
 * the real state, and its Contact the dialog's target: every subscription
 * would be lost without a sound. notify_source_check is therefore `reject`
 * here: a NOTIFY not shed is refused with 403 before it changes anything, and
 * the test checks that no spoofed state ever reached the queue.
 *
 * Asserted (outcomes, never speed: figures are printed as diagnostics):
 * - RSS sampled every second during the flood stays under RSS before + RSS_GROWTH_BOUND;
 * - the transport answered 503 with Retry-After (requestsShed, the counter
 *   behind presence_b2b_sip_requests_shed_total; Retry-After read by the generator);
 * - shedding ends within SHEDDING_END_BOUND_MS of the flood's end;
 * - the queue stayed within its capacity and coalesced, dropping nothing;
 * - no subscription is lost: after the flood every subscription is active,
 *   and a PUBLISH of a new state per presentity reaches all SUBSCRIPTIONS queue
 *   statuses (through Kamailio: a subscription Kamailio dropped would miss it).
 *
 * Kamailio 5.6 (presence notify.c, p_tm_callback) deletes a subscription when
 * its NOTIFY is answered 481, or times out (408) with timeout_rm_subs (on by
 * default); a 503 leaves it. A NOTIFY all of whose retransmissions the kernel
 * dropped at our full receive buffer times out, so Kamailio does drop
 * subscriptions under such a flood (counted from its log). The engine gets
 * them back: after an overload period it refreshes its dialogs (see
 * docs/hostile-input.md); the time it took is printed.
 *
 * Bounded: the flood FLOOD_MS, every wait bounded, about 45 s in all; the
 * generator and the B2BUA are stopped in `finally`.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { test } from 'node:test';
import { memoryAfterGc } from '../../bench/flood.js';
import { ChildRpc, canPin } from '../../bench/harness/child-rpc.js';
import type { BlastDialog } from '../../bench/load/presence-server-sim.js';
import type { BlastResult } from '../../bench/load/notify-blaster.js';
import { decodeStampId } from '../../bench/load/pidf-body.js';
import { createPresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import { presenceOf } from '../../src/presence/index.js';
import type { StatusMessage } from '../../src/qsa/index.js';
import { kamailioAddress, kamailioLogPath, sippPublish } from '../support/peers.js';

const SUBSCRIPTIONS = 200;
const PRESENTITIES = 20;
const FIRST_USER = 9400;
/** Ten times the capacity measured in docs/hostile-input.md ("Floods": 5,000/s fully handled). */
const FLOOD_RATE = 50_000;
const FLOOD_MS = 30_000;
/** The flood's source: loopback, but not the address Kamailio sends from. */
const FLOOD_HOST = '127.0.0.2';
/** RSS during the flood stays under RSS before + this (held NOTIFYs at 50,000/s would pass it in a second). */
const RSS_GROWTH_BOUND = 128 * 2 ** 20;
const SHEDDING_END_BOUND_MS = 5000;
const RECOVERY_BOUND_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

function notesOf(m: StatusMessage): string[] {
  const notes: string[] = [];
  for (const tuple of presenceOf(m)?.tuples ?? []) for (const note of tuple.notes) notes.push(note.text);
  return notes;
}

/** Whether a status carries a generator's document (its tuple ids are bench stamps). */
function isSpoofed(m: StatusMessage): boolean {
  const tuples = (m.document as { tuples?: ReadonlyArray<{ id: string }> } | undefined)?.tuples ?? [];
  return tuples.some((t) => decodeStampId(t.id) !== undefined);
}

/** Kamailio's answers to its NOTIFYs since `offset` of its log, by status (`NOTIFY reply <code>` lines). */
async function kamailioNotifyReplies(offset: number): Promise<Record<string, number>> {
  const text = (await readFile(kamailioLogPath())).subarray(offset).toString('utf8');
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/NOTIFY reply (\d{3})/g)) counts[match[1]!] = (counts[match[1]!] ?? 0) + 1;
  return counts;
}

/** Publishes `note` for every presentity, a few SIPp processes at a time. */
async function publishAll(users: readonly string[], basic: 'open' | 'closed', note: string): Promise<void> {
  for (let i = 0; i < users.length; i += 5) {
    await Promise.all(users.slice(i, i + 5).map((user) => sippPublish({ user, basic, note, expires: 300 })));
  }
}

test('NOTIFY flood at ten times capacity against a B2BUA holding real Kamailio subscriptions: bounded memory, 503s, coalescing, no subscription lost', { timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const say = (line: string): void => t.diagnostic(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);
  const logOffset = (await stat(kamailioLogPath())).size;
  const users = Array.from({ length: PRESENTITIES }, (_, i) => `user${FIRST_USER + i}`);
  await publishAll(users, 'open', 'before');

  const overloadEvents: string[] = [];
  // The engine's post-overload refreshes counted when the last overload period ended (set once the B2BUA runs).
  let refreshesAtLastEnd = 0;
  let engineStats: (() => { refreshesAfterOverload: number; confirmingRefreshes: number }) | undefined;
  const kamailio = kamailioAddress();
  const b2b = await createPresenceB2B({
    listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }],
    presenceOutboundProxy: `sip:${kamailio.host}:${kamailio.port}`,
    // The daemon's shedding settings (config sip.overload defaults).
    overload: { backlogLimitBytes: 'auto', retryAfterSeconds: 5 },
    notifySourceCheck: 'reject',
    onTransportDiagnostic: (event) => {
      if (event.kind === 'overload-started' || event.kind === 'overload-ended') {
        overloadEvents.push(event.kind);
        // With the confirming refreshes (docs/behaviour.md §3.7): a dialog that sent one since the end is skipped by the overload's refresh.
        if (event.kind === 'overload-ended') refreshesAtLastEnd = (engineStats?.().refreshesAfterOverload ?? 0) + (engineStats?.().confirmingRefreshes ?? 0);
        say(event.detail);
      }
    },
  });
  engineStats = () => b2b.engine.stats;
  let blaster: ChildRpc | undefined;
  try {
    const b2bPort = b2b.transport.listening()[0]!.port;
    const queue = b2b.qsa.createQueue({ capacity: SUBSCRIPTIONS });
    const subscribers: string[] = [];
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const subscriber = `sip:watcher${FIRST_USER * 10 + i}@example.com`;
      subscribers.push(subscriber);
      b2b.qsa.subscribe({ record: `sip:${users[i % PRESENTITIES]}@example.com`, subscriber, queue });
    }
    // The consumer: per subscriber, the notes of its last status; stalled while `stalled`.
    const lastNotes = new Map<string, string[]>();
    const active = new Set<string>();
    let spoofedDelivered = 0;
    let stalled = false;
    let maxDepth = 0;
    const drain = (): void => {
      maxDepth = Math.max(maxDepth, queue.depth);
      if (stalled) return;
      for (let m = queue.poll(); m !== undefined; m = queue.poll()) {
        if (isSpoofed(m)) spoofedDelivered++;
        if (m.state === 'active') active.add(m.subscriber);
        else active.delete(m.subscriber);
        lastNotes.set(m.subscriber, notesOf(m));
      }
    };
    const consumer = setInterval(drain, 20);
    const waitFor = async (done: () => boolean, boundMs: number): Promise<boolean> => {
      const end = Date.now() + boundMs;
      for (;;) {
        drain();
        if (done()) return true;
        if (Date.now() > end) return false;
        await sleep(50);
      }
    };
    try {
      assert.ok(await waitFor(() => active.size === SUBSCRIPTIONS, 20_000), `all ${SUBSCRIPTIONS} active before the flood (${active.size})`);
      say(`${SUBSCRIPTIONS} subscriptions active at Kamailio ${kamailio.host}:${kamailio.port}`);

      // ---- the generator, on copies of the real dialogs
      const dialogs: BlastDialog[] = b2b.engine.list().map((d) => ({
        callId: d.callId!,
        // The generator's "local" side is the notifier's: Kamailio's tag and the presentity.
        localTag: d.remoteTag!,
        remoteTag: d.localTag!,
        localUri: d.record,
        remoteUri: d.subscriber,
        target: `sip:b2b@127.0.0.1:${b2bPort}`,
        host: '127.0.0.1',
        port: b2bPort,
        contact: `<sip:${kamailio.host}:${kamailio.port};transport=udp>`,
      }));
      assert.equal(dialogs.length, SUBSCRIPTIONS);
      const pinned = canPin();
      blaster = new ChildRpc('notify-blaster', new URL('../../bench/load/notify-blaster.js', import.meta.url).pathname, pinned ? { core: 0 } : {});
      await blaster.call('setup', { dialogs, index: 0, count: 1, host: FLOOD_HOST, sockets: 64 }, 20_000);

      // ---- the flood, sampled
      const rssBefore = (await memoryAfterGc()).rssBytes;
      const engine0 = structuredClone(b2b.engine.stats);
      const shed0 = b2b.transport.stats.requestsShed;
      const queue0 = queue.stats;
      let rssMax = rssBefore;
      const rssSamples: number[] = [];
      // The whole of process.memoryUsage() at the RSS maximum: on a failure, whether the growth was JS heap,
      // Buffers (arrayBuffers) or neither (native memory, e.g. the allocator's high-water mark).
      let atRssMax = process.memoryUsage();
      const sampler = setInterval(() => {
        const usage = process.memoryUsage();
        rssSamples.push(usage.rss);
        if (usage.rss > rssMax) atRssMax = usage;
        rssMax = Math.max(rssMax, usage.rss);
      }, 1000);
      // The consumer stops; one more change per presentity fills the queue to its capacity (a message
      // per subscription), so that whatever reaches it from now on must coalesce.
      stalled = true;
      await publishAll(users, 'closed', 'stalled');
      assert.ok(await waitFor(() => queue.depth === SUBSCRIPTIONS, 10_000), `the stalled queue full before the flood (${queue.depth})`);
      const floodStart = Date.now();
      say(`flooding at ${FLOOD_RATE}/s for ${FLOOD_MS / 1000} s from ${FLOOD_HOST} (generator pinned: ${pinned}); RSS before ${mib(rssBefore)}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
      const flood = blaster.call<BlastResult>('blast', { rate: FLOOD_RATE, durationMs: FLOOD_MS }, FLOOD_MS + 30_000);
      // Kamailio's own NOTIFYs in the middle of it: three changes per presentity.
      // A failed PUBLISH must fail the test here, not as an unhandled rejection while the flood runs on
      // (the runner then reports the test failed but the file can outlive its lane's time): the outcome is kept.
      const changes = (async () => {
        for (let round = 1; round <= 3; round++) {
          await sleep(Math.max(0, floodStart + round * 7000 - Date.now()));
          await publishAll(users, round % 2 === 1 ? 'closed' : 'open', `during-${round}`);
          say(`published change ${round} of every presentity`);
        }
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      // The sampler stops whatever happens: a live interval would keep the file running after a failure.
      let blasted: BlastResult;
      let changesFailure: unknown;
      let floodEnd = 0;
      try {
        blasted = await flood;
        floodEnd = Date.now();
      } finally {
        changesFailure = await changes;
        clearInterval(sampler);
      }
      if (changesFailure !== undefined) throw changesFailure;
      const shedDuring = b2b.transport.stats.requestsShed - shed0;
      say(
        `flood over: ${blasted.sent} sent in ${(blasted.elapsedMs / 1000).toFixed(1)} s (${Math.round(blasted.achievedRate)}/s, ${(blasted.cpuUs / 1e6).toFixed(1)} s of CPU); ` +
          `answers ${JSON.stringify(blasted.responses)}; shed by the transport ${shedDuring}; RSS max ${mib(rssMax)} (samples ${rssSamples.map((r) => (r / 2 ** 20).toFixed(0)).join(' ')} MiB)`,
      );

      // ---- recovery: shedding off; then the engine refreshes every dialog (T2 + 1 s after the
      // overload's end) and makes again those Kamailio dropped (481); the queue still stalled.
      const sheddingEnded = await waitFor(() => !b2b.transport.shedding, SHEDDING_END_BOUND_MS);
      const sheddingOffMs = Date.now() - floodEnd;
      say(`shedding ${sheddingEnded ? 'off' : 'STILL ON'} ${sheddingOffMs} ms after the flood`);
      const refreshed0 = engine0.refreshesAfterOverload;
      // Every dialog refreshed since the last overload period ended, and every one active again.
      const recovered = (): boolean =>
        !b2b.transport.shedding &&
        b2b.engine.stats.refreshesAfterOverload + b2b.engine.stats.confirmingRefreshes - refreshesAtLastEnd >= SUBSCRIPTIONS &&
        (b2b.engine.countByState().active ?? 0) === SUBSCRIPTIONS;
      const recoveredInTime = await waitFor(recovered, RECOVERY_BOUND_MS);
      const recoveryMs = Date.now() - floodEnd;
      stalled = false;
      drain();
      const queue1 = queue.stats;
      const engine1 = structuredClone(b2b.engine.stats);
      const memoryAfter = await memoryAfterGc();
      const dropped = await kamailioNotifyReplies(logOffset);
      say(
        `recovery ${recoveredInTime ? 'done' : 'NOT done'} ${(recoveryMs / 1000).toFixed(1)} s after the flood: ${engine1.refreshesAfterOverload - refreshed0} refreshes after the overload, ` +
          `${engine1.responses['4xx'] - engine0.responses['4xx']} answered 4xx (481: Kamailio had dropped the subscription; a new one made), ${engine1.subscribesSent - engine0.subscribesSent} SUBSCRIBEs in all; ` +
          `Kamailio's NOTIFY answers so far ${JSON.stringify(dropped)} (408: timed out, subscription dropped); states ${JSON.stringify(b2b.engine.countByState())}`,
      );
      say(
        `queue while stalled: depth max ${maxDepth} (capacity ${SUBSCRIPTIONS}), enqueued ${queue1.enqueued - queue0.enqueued}, coalesced ${queue1.coalesced - queue0.coalesced}, dropped ${queue1.dropped - queue0.dropped}; ` +
          `engine: ${engine1.notifiesAccepted - engine0.notifiesAccepted} NOTIFYs accepted, ${engine1.notifySourceMismatches - engine0.notifySourceMismatches} refused from an unexpected source (403); ` +
          `memory after the recovery (GC): RSS ${mib(memoryAfter.rssBytes)}, heap ${mib(memoryAfter.heapUsedBytes)}`,
      );

      // ---- no subscription lost: a new state per presentity reaches every queue status
      const publishedAt = Date.now();
      await publishAll(users, 'open', 'after');
      const reached = (): number => subscribers.filter((s) => lastNotes.get(s)?.includes('after') === true && active.has(s)).length;
      const allReached = await waitFor(() => reached() === SUBSCRIPTIONS, RECOVERY_BOUND_MS);
      const replies = await kamailioNotifyReplies(logOffset);
      say(
        `after the flood: the new state reached ${reached()}/${SUBSCRIPTIONS} queue statuses ${((Date.now() - publishedAt) / 1000).toFixed(1)} s after its PUBLISH ` +
          `(${((Date.now() - floodEnd) / 1000).toFixed(1)} s after the flood); Kamailio's NOTIFY answers over the test ${JSON.stringify(replies)}; overload periods ${overloadEvents.filter((e) => e === 'overload-started').length}; ` +
          `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
      );

      assert.ok(
        rssMax < rssBefore + RSS_GROWTH_BOUND,
        `RSS during the flood ${mib(rssMax)} under ${mib(rssBefore + RSS_GROWTH_BOUND)} (at the maximum: heap used ${mib(atRssMax.heapUsed)} of ${mib(atRssMax.heapTotal)}, ` +
          `external ${mib(atRssMax.external)}, arrayBuffers ${mib(atRssMax.arrayBuffers)}; flood NOTIFYs handled, not shed: ${blasted.sent - shedDuring})`,
      );
      assert.ok(shedDuring > 0, 'requests were shed with 503');
      assert.ok((blasted.responses['503'] ?? 0) > 0, 'the generator got 503s');
      assert.equal(blasted.responses['503+retry-after'], blasted.responses['503-checked'], 'every 503 read carries Retry-After');
      assert.ok(sheddingEnded, `shedding ended within ${SHEDDING_END_BOUND_MS} ms of the flood`);
      assert.ok(maxDepth <= SUBSCRIPTIONS, `queue depth ${maxDepth} within its capacity`);
      assert.ok(queue1.coalesced - queue0.coalesced > 0, 'the stalled queue coalesced');
      assert.equal(queue1.dropped - queue0.dropped, 0, 'nothing dropped');
      assert.equal(spoofedDelivered, 0, 'no spoofed state reached the queue');
      assert.ok(engine1.notifySourceMismatches - engine0.notifySourceMismatches > 0, 'spoofed NOTIFYs were refused by the source check');
      assert.ok(recoveredInTime, `every dialog refreshed after the overload and active within ${RECOVERY_BOUND_MS} ms of the flood`);
      assert.ok(allReached, `the state published after the flood reached every subscription (${reached()}/${SUBSCRIPTIONS})`);
      assert.equal(b2b.engine.countByState().active, SUBSCRIPTIONS, 'every subscription active after the flood');
    } finally {
      clearInterval(consumer);
      queue.close();
    }
  } finally {
    await blaster?.stop(5000);
    await b2b.close(3000);
  }
});
