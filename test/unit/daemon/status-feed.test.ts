import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STATUS_FEED_VIEW_INTERVAL_MS, StatusFeed } from '../../../src/daemon/status-feed.js';
import type { StatusView, SubscriptionApi, SubscriptionView } from '../../../src/http/api-types.js';
import type { StatusFeedEvent } from '../../../src/http/status-stream.js';
import { QsaBroker, type QsaNotifier, type QsaSubscription, type QsaSubscriptionHandle } from '../../../src/qsa/index.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';

/** The views the feed reads, straight from the broker (what SubscriptionService shows, less the dialog). */
function subscriptionsOf(broker: QsaBroker): SubscriptionApi & { lists: number } {
  const view = (h: QsaSubscriptionHandle): SubscriptionView => ({
    id: h.id,
    record: h.record,
    subscriber: h.subscriber,
    package: h.package,
    queue: '',
    createdAt: new Date(h.createdAt).toISOString(),
    state: h.lastStatus?.state ?? 'none',
  });
  return {
    lists: 0,
    async create() {
      throw new Error('not used');
    },
    list() {
      this.lists++;
      return [...broker.subscriptions()].map(view);
    },
    get(id) {
      const h = broker.get(id);
      return h === undefined ? undefined : view(h);
    },
    servedPackages() {
      return broker.servedPackages();
    },
    async remove() {
      return false;
    },
    events() {
      return undefined;
    },
  };
}

class HoldingNotifier implements QsaNotifier {
  readonly held = new Map<string, QsaSubscription>();
  subscribe(sub: QsaSubscription): void {
    this.held.set(sub.id, sub);
  }
  unsubscribe(sub: QsaSubscription): void {
    this.held.delete(sub.id);
  }
}

test('StatusFeed: status messages at once, subscription views coalesced per interval from one listing, removals, nothing after the last listener', () => {
  const clock = new ManualClock(0, Date.UTC(2026, 0, 1));
  const scheduler = new TimerScheduler(clock);
  const broker = new QsaBroker({ clock });
  const notifier = new HoldingNotifier();
  broker.registerNotifier('presence', notifier, { name: 'test' });
  const api = subscriptionsOf(broker);
  const feed = new StatusFeed(api, scheduler);
  const queue = broker.createQueue({ name: 'q' });
  const events: StatusFeedEvent[] = [];
  const stop = feed.subscribe((e) => events.push(e));
  try {
    const a = broker.subscribe({ record: 'sip:alice@x', subscriber: 'sip:bob@x', queue });
    const held = notifier.held.get(a.id)!;
    assert.equal(events.length, 0, 'views wait for the interval');
    broker.notify(held, { state: 'pending' });
    broker.notify(held, { state: 'active' });
    assert.deepEqual(
      events.map((e) => (e.type === 'status' ? `status ${e.status.state}` : e.type)),
      ['status pending', 'status active'],
    );
    const listsBefore = api.lists;
    clock.advance(STATUS_FEED_VIEW_INTERVAL_MS);
    assert.equal(api.lists, listsBefore + 1, 'one listing for the whole burst');
    const views = events.filter((e): e is Extract<StatusFeedEvent, { type: 'subscription' }> => e.type === 'subscription');
    assert.deepEqual(views.map((e) => [e.subscription.id, e.subscription.state]), [[a.id, 'active']], 'one view, the newest state');

    events.length = 0;
    broker.unsubscribe(a);
    assert.deepEqual(events, [{ type: 'removed', id: a.id }]);
    clock.advance(STATUS_FEED_VIEW_INTERVAL_MS);
    assert.deepEqual(events, [{ type: 'removed', id: a.id }], 'nothing more for it');
    assert.deepEqual(feed.snapshot(), { subscriptions: [] });
  } finally {
    stop();
  }
  events.length = 0;
  const b = broker.subscribe({ record: 'sip:carol@x', subscriber: 'sip:bob@x', queue });
  broker.notify(notifier.held.get(b.id)!, { state: 'active' });
  clock.advance(STATUS_FEED_VIEW_INTERVAL_MS);
  assert.equal(events.length, 0, 'no listener: nothing observed');
  assert.equal(scheduler.size, 0, 'no timer left');
  feed.close();
  scheduler.close();
});

test('StatusFeed: a listener that throws does not starve the others', () => {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const broker = new QsaBroker({ clock });
  const notifier = new HoldingNotifier();
  broker.registerNotifier('presence', notifier, { name: 'test' });
  const feed = new StatusFeed(subscriptionsOf(broker), scheduler);
  const seen: StatusView[] = [];
  const stops = [
    feed.subscribe(() => {
      throw new Error('broken stream');
    }),
    feed.subscribe((e) => {
      if (e.type === 'status') seen.push(e.status);
    }),
  ];
  const queue = broker.createQueue();
  const a = broker.subscribe({ record: 'sip:alice@x', subscriber: 'sip:bob@x', queue });
  broker.notify(notifier.held.get(a.id)!, { state: 'active' });
  assert.deepEqual(seen.map((s) => s.record), ['sip:alice@x']);
  for (const stop of stops) stop();
  feed.close();
  scheduler.close();
});
