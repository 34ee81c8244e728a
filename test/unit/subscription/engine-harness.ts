/**
 * The presence engine over a FakeUserAgent (no sockets), wired as in
 * production (attachPresenceEngine: the NOTIFY handler, the QSA notifier),
 * with a ManualClock, a SeededRandom and a scheduler of its own, so that a
 * test can check that no timer is left. Everything is synchronous.
 *
 *   const h = engineHarness({ defaultExpiration: 600 });
 *   const { handle, subscribe } = h.establish();          // subscribing → active, first status taken
 *   h.clock.advance(570_000);                             // refresh timer
 *   h.ua.take().accept();
 *   h.unsubscribe(handle);
 *   h.assertNoLeaks();
 */
import assert from 'node:assert/strict';
import { attachPresenceEngine } from '../../../src/b2b/attach-presence-engine.js';
import { QsaBroker, type QsaSubscriptionHandle, type StatusMessage, type StatusQueue } from '../../../src/qsa/index.js';
import { DialogSnapshotWriter } from '../../../src/store/dialog-snapshot-writer.js';
import type { StoredDialog } from '../../../src/store/stored-dialog.js';
import type { SubscriptionStore } from '../../../src/store/subscription-store.js';
import { DEFAULT_ENGINE_SETTINGS, type EngineSettings } from '../../../src/subscription/engine-options.js';
import type { CredentialLookup, PresenceEngine } from '../../../src/subscription/presence-engine.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { FakeUserAgent, type SentRequest } from '../../support/fake-user-agent.js';

export const RECORD = 'sip:alice@example.com';
export const SUBSCRIBER = 'sip:bob@example.com';
/** RFC 3261 T1 and 64·T1 (Timer N). */
export const T1 = 500;
export const SIXTY_FOUR_T1 = 64 * T1;

/** Seed parameters that keep numbers round: a test overrides what it checks. */
export const TEST_SETTINGS: Partial<EngineSettings> = {
  defaultExpiration: 600,
  onErrorRetryTime: 120,
  waitForTermNotify: 10,
  resubscribeDelta: 30,
  minResubscribeTime: 30,
  refreshJitter: 0,
  t1Ms: T1,
};

export interface EngineHarnessOptions {
  credentials?: CredentialLookup;
  seed?: number;
  /** Records subscribed to as resource lists (createPresenceB2B's resourceListRecords). */
  resourceListRecords?: readonly string[];
  /** Persist dialog snapshots into this store (a DialogSnapshotWriter on the harness scheduler). */
  store?: SubscriptionStore;
  /** The snapshots of a previous run to resume (with `store`). */
  stored?: readonly StoredDialog[];
  /** Wall-clock ms at clock time 0 (ManualClock's default: 2026-01-01). */
  wallStart?: number;
}

export type EngineHarness = ReturnType<typeof engineHarness>;

export function engineHarness(settings: Partial<EngineSettings> = {}, options: EngineHarnessOptions = {}) {
  const clock = options.wallStart === undefined ? new ManualClock() : new ManualClock(0, options.wallStart);
  const scheduler = new TimerScheduler(clock);
  const snapshots = options.store === undefined ? undefined : new DialogSnapshotWriter({ store: options.store, scheduler });
  const random = new SeededRandom(options.seed ?? 1);
  const ua = new FakeUserAgent({ clock });
  const broker = new QsaBroker({ clock, random });
  const attached = attachPresenceEngine({
    ua,
    broker,
    scheduler,
    random,
    settings: { ...DEFAULT_ENGINE_SETTINGS, ...TEST_SETTINGS, ...settings },
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.resourceListRecords !== undefined ? { resourceListRecords: options.resourceListRecords } : {}),
    ...(snapshots !== undefined ? { snapshots, stored: options.stored ?? [] } : {}),
  });
  const engine: PresenceEngine = attached.engine;
  const queue = broker.createQueue();

  const h = {
    clock,
    scheduler,
    random,
    ua,
    broker,
    engine,
    queue,
    snapshots,

    /** QSA subscribe (default: RECORD as SUBSCRIBER into the harness queue). */
    subscribe(record = RECORD, subscriber = SUBSCRIBER, into: StatusQueue = queue): QsaSubscriptionHandle {
      return broker.subscribe({ record, subscriber, queue: into });
    },

    unsubscribe(handle: QsaSubscriptionHandle): void {
      broker.unsubscribe(handle);
    },

    /** Every status message queued so far (taken out of the queue). */
    statuses(from: StatusQueue = queue): StatusMessage[] {
      const out: StatusMessage[] = [];
      for (let m = from.poll(); m !== undefined; m = from.poll()) out.push(m);
      return out;
    },

    /** The one status message queued; fails if there are none or several. */
    status(from: StatusQueue = queue): StatusMessage {
      const all = h.statuses(from);
      assert.equal(all.length, 1, `expected one status message, got ${JSON.stringify(all.map(brief))}`);
      return all[0]!;
    },

    /** The engine state of the dialog serving `handle` (undefined once it is gone). */
    stateOf(handle: QsaSubscriptionHandle): string | undefined {
      return engine.dialogOf(handle.id)?.state;
    },

    /**
     * Advances the clock in `stepMs` steps until a request the test has not
     * taken appears (at most `maxMs`); returns the time advanced, or undefined.
     */
    advanceUntilSent(maxMs: number, stepMs = 10): number | undefined {
      const start = clock.now();
      while (ua.unseen().length === 0) {
        if (clock.now() - start >= maxMs) return undefined;
        clock.advance(stepMs);
      }
      return clock.now() - start;
    },

    /** Subscribes, accepts the SUBSCRIBE, sends a first NOTIFY (open) and takes its status (active). */
    establish(record = RECORD, subscriber = SUBSCRIBER): { handle: QsaSubscriptionHandle; subscribe: SentRequest } {
      const handle = h.subscribe(record, subscriber);
      const subscribe = ua.take('SUBSCRIBE');
      subscribe.accept();
      assert.equal(ua.notify(subscribe, { basic: 'open' })?.status, 200);
      assert.equal(h.status().state, 'active');
      assert.equal(h.stateOf(handle), 'active');
      return { handle, subscribe };
    },

    /**
     * Nothing sent that the test has not taken (ua.take()), nothing queued:
     * exact, as the fake is synchronous; no waiting.
     */
    assertQuiet(): void {
      assert.deepEqual(ua.unseen().map((s) => s.describe()), [], 'no new request');
      assert.deepEqual(h.statuses().map(brief), [], 'no status message');
    },

    /** Writes what the snapshot writer holds now (without waiting for its tick), then returns what the store holds. */
    async flushed(store: SubscriptionStore): Promise<StoredDialog[]> {
      await snapshots?.flush();
      return (await store.load()).dialogs;
    },

    /** No dialog and no live timer left (the fake UA runs no transaction timers). */
    assertNoLeaks(): void {
      assert.equal(engine.size, 0, 'no dialog left');
      assert.equal(scheduler.size, 0, 'no live timer left');
    },
  };
  return h;
}

/** What a status message says, for assertion messages and deepEqual. */
export function brief(m: StatusMessage): { state: string; reason?: string; code?: string } {
  return {
    state: m.state,
    ...(m.reason !== undefined ? { reason: m.reason } : {}),
    ...(m.error?.code !== undefined ? { code: m.error.code } : {}),
  };
}
