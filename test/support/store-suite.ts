/**
 * The behaviour every SubscriptionStore implementation must have, as one
 * suite: each implementation's test file calls `defineStoreSuite` with a
 * factory (memory, SQLite; a PostgreSQL store will reuse it). A factory that
 * can `reopen` (the same data in a new store object) also runs the
 * durability tests.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { StoreError } from '../../src/store/store-error.js';
import type { StoredApiSubscription } from '../../src/store/stored-api-subscription.js';
import { dialogIdentity, type StoredDialog } from '../../src/store/stored-dialog.js';
import type { SubscriptionStore } from '../../src/store/subscription-store.js';

export interface StoreUnderTest {
  store: SubscriptionStore;
  /** Closes `store` and opens the same data again (absent: the store cannot outlive itself). */
  reopen?: () => Promise<SubscriptionStore>;
  /** Releases whatever the factory made (files, connections). */
  cleanup(): Promise<void>;
}

export function apiSubscription(id: string, overrides: Partial<StoredApiSubscription> = {}): StoredApiSubscription {
  return {
    id,
    record: `sip:${id}@example.com`,
    subscriber: 'sip:bob@example.com',
    package: 'presence',
    queue: 'default',
    createdAt: 1_767_225_600_000,
    ...overrides,
  };
}

export function dialog(record: string, overrides: Partial<StoredDialog> = {}): StoredDialog {
  return {
    key: dialogIdentity('presence', record, 'sip:bob@example.com'),
    package: 'presence',
    record,
    subscriber: 'sip:bob@example.com',
    callId: `call-${record}`,
    localTag: 'l1',
    remoteTag: 'r1',
    localUri: 'sip:bob@example.com',
    remoteUri: record,
    localCSeq: 3,
    remoteCSeq: 7,
    routeSet: ['<sip:proxy1.example.com;lr>', '<sip:proxy2.example.com;lr>'],
    remoteTarget: 'sip:pres@192.0.2.10:5060',
    contact: '<sip:b2b@127.0.0.1:5060>',
    expiresAt: 1_767_229_200_000,
    ...overrides,
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected a StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

export function defineStoreSuite(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`SubscriptionStore contract: ${name}`, () => {
    let current: StoreUnderTest | undefined;
    const open = async (): Promise<StoreUnderTest> => {
      current = await make();
      return current;
    };
    afterEach(async () => {
      await current?.cleanup();
      current = undefined;
    });

    test('a new store is empty', async () => {
      const { store } = await open();
      assert.deepEqual(await store.load(), { apiSubscriptions: [], queues: [], dialogs: [] });
    });

    test('API subscriptions: created, loaded by creation time then id, deleted', async () => {
      const { store } = await open();
      await store.createApiSubscription(apiSubscription('b', { createdAt: 2000 }));
      await store.createApiSubscription(apiSubscription('c', { createdAt: 1000 }));
      await store.createApiSubscription(apiSubscription('a', { createdAt: 2000, queue: 'q2', package: 'dialog' }));
      const loaded = await store.load();
      assert.deepEqual(
        loaded.apiSubscriptions.map((s) => s.id),
        ['c', 'a', 'b'],
      );
      assert.deepEqual(loaded.apiSubscriptions[1], apiSubscription('a', { createdAt: 2000, queue: 'q2', package: 'dialog' }));
      assert.equal(await store.deleteApiSubscription('a'), true);
      assert.equal(await store.deleteApiSubscription('a'), false);
      assert.equal(await store.deleteApiSubscription('never'), false);
      assert.deepEqual(
        (await store.load()).apiSubscriptions.map((s) => s.id),
        ['c', 'b'],
      );
    });

    test('a duplicate id is refused alone: the other changes of the same turn are stored', async () => {
      const { store } = await open();
      await store.createApiSubscription(apiSubscription('x'));
      const results = await Promise.allSettled([
        store.createApiSubscription(apiSubscription('y')),
        store.createApiSubscription(apiSubscription('x', { record: 'sip:other@example.com' })),
        store.createApiSubscription(apiSubscription('z')),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      const failure = results[1] as PromiseRejectedResult;
      assert.ok(failure.reason instanceof StoreError && failure.reason.code === 'STORE_ERR_DUPLICATE');
      const loaded = await store.load();
      assert.deepEqual(
        loaded.apiSubscriptions.map((s) => s.id),
        ['x', 'y', 'z'],
      );
      assert.equal(loaded.apiSubscriptions[0]!.record, 'sip:x@example.com', 'the first one is kept as it was');
    });

    test('changes take effect in call order, resolved or not', async () => {
      const { store } = await open();
      const created = store.createApiSubscription(apiSubscription('a'));
      const deleted = store.deleteApiSubscription('a');
      const again = store.createApiSubscription(apiSubscription('a', { queue: 'second' }));
      await created;
      assert.equal(await deleted, true);
      await again;
      const loaded = await store.load();
      assert.deepEqual(
        loaded.apiSubscriptions.map((s) => [s.id, s.queue]),
        [['a', 'second']],
      );
    });

    test('load sees changes not yet resolved', async () => {
      const { store } = await open();
      const pending = store.createApiSubscription(apiSubscription('a'));
      const loaded = await store.load();
      await pending;
      assert.deepEqual(
        loaded.apiSubscriptions.map((s) => s.id),
        ['a'],
      );
    });

    test('records are copied in and out', async () => {
      const { store } = await open();
      const sub = { ...apiSubscription('a') };
      const d = { ...dialog('sip:alice@example.com'), routeSet: ['<sip:p;lr>'] };
      const create = store.createApiSubscription(sub);
      const write = store.writeDialogs({ upserts: [d] });
      sub.record = 'sip:changed@example.com';
      d.routeSet.push('<sip:changed;lr>');
      await create;
      await write;
      const first = await store.load();
      assert.equal(first.apiSubscriptions[0]!.record, 'sip:a@example.com');
      assert.deepEqual(first.dialogs[0]!.routeSet, ['<sip:p;lr>']);
      (first.dialogs[0]!.routeSet as string[]).push('<sip:x;lr>');
      assert.deepEqual((await store.load()).dialogs[0]!.routeSet, ['<sip:p;lr>']);
    });

    test('invalid records are refused with STORE_ERR_INVALID and nothing is written', async () => {
      const { store } = await open();
      await rejectsWith(store.createApiSubscription(apiSubscription('')), 'STORE_ERR_INVALID');
      await rejectsWith(store.createApiSubscription(apiSubscription('a', { createdAt: Number.NaN })), 'STORE_ERR_INVALID');
      await rejectsWith(store.createApiSubscription(apiSubscription('a', { createdAt: -1 })), 'STORE_ERR_INVALID');
      await rejectsWith(store.createApiSubscription(apiSubscription('a', { record: '' })), 'STORE_ERR_INVALID');
      await rejectsWith(store.createQueue({ name: 'q', eventIdHighWater: 1.5 }), 'STORE_ERR_INVALID');
      await rejectsWith(store.raiseQueueHighWater([{ name: 'ok', eventId: 1 }, { name: '', eventId: 2 }]), 'STORE_ERR_INVALID');
      await rejectsWith(store.deleteApiSubscription(''), 'STORE_ERR_INVALID');
      // One bad snapshot refuses the whole batch: one transaction per call.
      await rejectsWith(
        store.writeDialogs({ upserts: [dialog('sip:good@example.com'), dialog('sip:bad@example.com', { localCSeq: 2 ** 31 })] }),
        'STORE_ERR_INVALID',
      );
      await rejectsWith(store.writeDialogs({ upserts: [dialog('sip:bad@example.com', { remoteTag: '' })] }), 'STORE_ERR_INVALID');
      await rejectsWith(store.writeDialogs({ deletes: [''] }), 'STORE_ERR_INVALID');
      // Text that not every engine keeps exactly (PostgreSQL TEXT has no U+0000; a lone surrogate is not UTF-8).
      await rejectsWith(store.createApiSubscription(apiSubscription('nul', { record: 'sip:a\u0000b@example.com' })), 'STORE_ERR_INVALID');
      await rejectsWith(store.createApiSubscription(apiSubscription('surrogate', { subscriber: 'sip:\uD800@example.com' })), 'STORE_ERR_INVALID');
      await rejectsWith(store.writeDialogs({ upserts: [dialog('sip:c@example.com', { routeSet: ['<sip:p\u0000;lr>'] })] }), 'STORE_ERR_INVALID');
      assert.deepEqual(await store.load(), { apiSubscriptions: [], queues: [], dialogs: [] });
    });

    test('queues: created once, high-water mark only raised, deletion takes their subscriptions along', async () => {
      const { store } = await open();
      await store.createQueue({ name: 'b', eventIdHighWater: 0 });
      await store.createQueue({ name: 'a', eventIdHighWater: 100 });
      await store.createQueue({ name: 'a', eventIdHighWater: 5 }); // exists: kept as it is
      await store.raiseQueueHighWater([
        { name: 'a', eventId: 50 }, // lower: ignored
        { name: 'b', eventId: 7 },
        { name: 'c', eventId: 3 }, // unknown: created
      ]);
      assert.deepEqual((await store.load()).queues, [
        { name: 'a', eventIdHighWater: 100 },
        { name: 'b', eventIdHighWater: 7 },
        { name: 'c', eventIdHighWater: 3 },
      ]);
      await store.raiseQueueHighWater([{ name: 'a', eventId: 2 ** 53 - 1 }]);
      await store.createApiSubscription(apiSubscription('in-a', { queue: 'a' }));
      await store.createApiSubscription(apiSubscription('in-b', { queue: 'b' }));
      assert.equal(await store.deleteQueue('a'), true);
      assert.equal(await store.deleteQueue('a'), false);
      const loaded = await store.load();
      assert.deepEqual(
        loaded.queues.map((q) => q.name),
        ['b', 'c'],
      );
      assert.deepEqual(
        loaded.apiSubscriptions.map((s) => s.id),
        ['in-b'],
      );
    });

    test('dialog snapshots: upserted, replaced and deleted in batches', async () => {
      const { store } = await open();
      const alice = dialog('sip:alice@example.com');
      const carol = dialog('sip:carol@example.com', { remoteCSeq: undefined, routeSet: [] });
      await store.writeDialogs({ upserts: [alice, carol] });
      let loaded = await store.load();
      assert.deepEqual(loaded.dialogs, [alice, carol]);
      assert.equal(loaded.dialogs[1]!.remoteCSeq, undefined);
      const aliceLater = { ...alice, localCSeq: 2 ** 31 - 1, remoteCSeq: 8, remoteTarget: 'sip:pres@192.0.2.11:5062;transport=tcp' };
      const dave = dialog('sip:dave@example.com');
      await store.writeDialogs({ upserts: [aliceLater, dave], deletes: [carol.key, 'unknown key'] });
      loaded = await store.load();
      assert.deepEqual(loaded.dialogs, [aliceLater, dave]);
      await store.writeDialogs({ upserts: [dave], deletes: [dave.key] });
      assert.deepEqual((await store.load()).dialogs, [aliceLater], 'a key in both lists: the delete wins');
      await store.writeDialogs({});
      assert.equal((await store.load()).dialogs.length, 1);
    });

    test('text round-trips exactly (non-ASCII, quotes, newlines in keys)', async () => {
      const { store } = await open();
      const sub = apiSubscription("o'brien", { record: 'sip:%C3%A9l%C3%A8ve@example.com', subscriber: 'sip:"quoted"@example.com', queue: 'file d’attente ü' });
      const d = dialog('sip:élève@example.com', { callId: 'a"b\'c;d', contact: '"B2B ü" <sip:b2b@[::1]:5060;transport=tcp>' });
      await store.createApiSubscription(sub);
      await store.writeDialogs({ upserts: [d] });
      const loaded = await store.load();
      assert.deepEqual(loaded.apiSubscriptions, [sub]);
      assert.deepEqual(loaded.dialogs, [d]);
      assert.ok(d.key.includes('\n'));
    });

    test('after close every method rejects with STORE_ERR_CLOSED; close is idempotent', async () => {
      const { store } = await open();
      await store.close();
      await store.close();
      await rejectsWith(store.load(), 'STORE_ERR_CLOSED');
      await rejectsWith(store.createApiSubscription(apiSubscription('a')), 'STORE_ERR_CLOSED');
      await rejectsWith(store.deleteApiSubscription('a'), 'STORE_ERR_CLOSED');
      await rejectsWith(store.createQueue({ name: 'q', eventIdHighWater: 0 }), 'STORE_ERR_CLOSED');
      await rejectsWith(store.deleteQueue('q'), 'STORE_ERR_CLOSED');
      await rejectsWith(store.raiseQueueHighWater([{ name: 'q', eventId: 1 }]), 'STORE_ERR_CLOSED');
      await rejectsWith(store.writeDialogs({ deletes: ['k'] }), 'STORE_ERR_CLOSED');
    });

    test('close writes what is still pending', async (t) => {
      const under = await open();
      if (under.reopen === undefined) {
        t.skip('this store does not outlive itself');
        return;
      }
      const created = under.store.createApiSubscription(apiSubscription('late'));
      await under.store.close();
      await created;
      const again = await under.reopen();
      assert.deepEqual(
        (await again.load()).apiSubscriptions.map((s) => s.id),
        ['late'],
      );
    });

    test('everything survives a reopen', async (t) => {
      const under = await open();
      if (under.reopen === undefined) {
        t.skip('this store does not outlive itself');
        return;
      }
      const { store } = under;
      await store.createQueue({ name: 'default', eventIdHighWater: 100_000 });
      for (let i = 0; i < 50; i++) await store.createApiSubscription(apiSubscription(`s${String(i).padStart(2, '0')}`, { createdAt: 1000 + i }));
      await store.deleteApiSubscription('s10');
      await store.writeDialogs({ upserts: Array.from({ length: 20 }, (_, i) => dialog(`sip:u${String(i).padStart(2, '0')}@example.com`, { localCSeq: i })) });
      await store.raiseQueueHighWater([{ name: 'default', eventId: 200_000 }]);
      const before = await store.load();
      const again = await under.reopen();
      const after = await again.load();
      assert.deepEqual(after, before);
      assert.equal(after.apiSubscriptions.length, 49);
      assert.equal(after.dialogs.length, 20);
      assert.deepEqual(after.queues, [{ name: 'default', eventIdHighWater: 200_000 }]);
    });
  });
}
