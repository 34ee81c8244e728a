import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventIdLeases } from '../../../src/daemon/event-id-lease.js';
import { QueueHub } from '../../../src/daemon/queue-hub.js';
import { QsaBroker, type QsaSubscription } from '../../../src/qsa/index.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { StoreError } from '../../../src/store/store-error.js';
import type { QueueHighWater } from '../../../src/store/stored-queue.js';
import { ManualClock } from '../../../src/util/clock.js';

/** A memory store counting high-water writes, able to fail them. */
class CountingStore extends MemorySubscriptionStore {
  raises: QueueHighWater[][] = [];
  fail = false;
  override raiseQueueHighWater(marks: readonly QueueHighWater[]): Promise<void> {
    this.raises.push([...marks]);
    if (this.fail) return Promise.reject(new StoreError('STORE_ERR_IO', 'disk full'));
    return super.raiseQueueHighWater(marks);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

async function highWater(store: MemorySubscriptionStore, name: string): Promise<number | undefined> {
  return (await store.load()).queues.find((q) => q.name === name)?.eventIdHighWater;
}

test('a queue reserves its ids ahead in the store, and more when half is used', async () => {
  const store = new CountingStore();
  const leases = new EventIdLeases({ store, leaseSize: 10 });
  await leases.open([{ name: 'q', firstId: 1 }]);
  assert.equal(await highWater(store, 'q'), 10);
  for (let id = 1; id <= 5; id++) leases.issued('q', id);
  assert.equal(store.raises.length, 1, 'half of the reservation left: nothing written');
  leases.issued('q', 6);
  leases.issued('q', 7); // while the raise is in flight: no second write
  assert.equal(store.raises.length, 2);
  await settle();
  assert.equal(await highWater(store, 'q'), 16);
  assert.equal(leases.ceiling('q'), 16);
  assert.equal(leases.overruns, 0);
  leases.issued('q', 17); // beyond the durable reservation: counted
  assert.equal(leases.overruns, 1);
});

test('a failed reservation is reported and tried again at the next id', async () => {
  const store = new CountingStore();
  const errors: unknown[] = [];
  const leases = new EventIdLeases({ store, leaseSize: 10, onError: (e) => errors.push(e) });
  await leases.open([{ name: 'q', firstId: 1 }]);
  store.fail = true;
  leases.issued('q', 6);
  await settle();
  assert.equal(errors.length, 1);
  store.fail = false;
  leases.issued('q', 7);
  await settle();
  assert.equal(await highWater(store, 'q'), 17);
});

test('QueueHub: a restored queue numbers its events above its stored high-water mark', async () => {
  const store = new CountingStore();
  const broker = new QsaBroker({ clock: new ManualClock() });
  const views = new Map<string, QsaSubscription>();
  broker.registerNotifier('presence', { subscribe: (s) => views.set(s.id, s), unsubscribe: () => undefined });
  const hub = new QueueHub({ broker, store, ringSize: 10, leaseSize: 1000 });
  await hub.restore([
    { name: 'q1', eventIdHighWater: 5000 },
    { name: 'q2', eventIdHighWater: 0 },
  ]);
  assert.equal(store.raises.length, 1, 'one transaction for all restored queues');
  assert.equal(await highWater(store, 'q1'), 6000);
  const served = await hub.ensure('q1');
  assert.equal(store.raises.length, 1, 'a restored queue is not stored again');
  const handle = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:b@x', queue: served.queue });
  broker.notify(views.get(handle.id)!, { state: 'active' });
  await settle();
  assert.deepEqual(
    served.ring.since(undefined).map((e) => e.id),
    [5001],
  );
  await hub.close();
});

test('QueueHub: a new queue is stored once, however many ask at once; a failed start can be retried', async () => {
  const store = new CountingStore();
  const broker = new QsaBroker({ clock: new ManualClock() });
  const hub = new QueueHub({ broker, store, ringSize: 10, leaseSize: 1000 });
  const [a, b] = await Promise.all([hub.ensure('new'), hub.ensure('new')]);
  assert.equal(a, b);
  assert.equal(store.raises.length, 1);
  assert.equal(await highWater(store, 'new'), 1000);
  store.fail = true;
  await assert.rejects(hub.ensure('other'), (e: unknown) => e instanceof StoreError);
  assert.equal(hub.get('other'), undefined);
  store.fail = false;
  assert.equal((await hub.ensure('other')).name, 'other');
  await hub.close();
});

test('QueueHub: after a restart, a Last-Event-ID from before it is an old id of ours; one above every id issued is not (gap)', async () => {
  const store = new CountingStore();
  const broker = new QsaBroker({ clock: new ManualClock() });
  const views = new Map<string, QsaSubscription>();
  broker.registerNotifier('presence', { subscribe: (s) => views.set(s.id, s), unsubscribe: () => undefined });
  // The previous run reserved up to 5000 and issued ids somewhere below it.
  const hub = new QueueHub({ broker, store, ringSize: 10, leaseSize: 1000 });
  await hub.restore([{ name: 'q1', eventIdHighWater: 5000 }]);
  const served = await hub.ensure('q1');
  assert.equal(served.ring.isAhead(3), false, 'an id from before the restart');
  assert.equal(served.ring.isAhead(5000), false, 'the highest id the last run could have issued');
  assert.equal(served.ring.isAhead(5001), true, 'nothing issued yet in this run');
  const handle = broker.subscribe({ record: 'sip:a@x', subscriber: 'sip:b@x', queue: served.queue });
  broker.notify(views.get(handle.id)!, { state: 'active' });
  await settle();
  assert.equal(served.ring.isAhead(5001), false, 'issued now');
  assert.equal(served.ring.isAhead(5002), true);
  await hub.close();
});
