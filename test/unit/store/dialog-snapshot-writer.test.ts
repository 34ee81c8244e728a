import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DialogSnapshotWriter } from '../../../src/store/dialog-snapshot-writer.js';
import { MemorySubscriptionStore } from '../../../src/store/memory-store.js';
import { RESUME_CSEQ_MARGIN, resumedCSeq } from '../../../src/store/resume-cseq.js';
import { StoreError } from '../../../src/store/store-error.js';
import type { DialogWriteBatch } from '../../../src/store/subscription-store.js';
import { ManualClock } from '../../../src/util/clock.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { dialog } from '../../support/store-suite.js';

/** A memory store that records each writeDialogs call (at the time of the call) and can be told to fail. */
class RecordingStore extends MemorySubscriptionStore {
  readonly calls: Array<{ at: number; upserts: string[]; deletes: string[] }> = [];
  failNext = 0;
  constructor(private readonly clock: ManualClock) {
    super();
  }
  override writeDialogs(batch: DialogWriteBatch): Promise<void> {
    this.calls.push({ at: this.clock.now(), upserts: (batch.upserts ?? []).map((d) => d.record), deletes: [...(batch.deletes ?? [])] });
    if (this.failNext > 0) {
      this.failNext--;
      return Promise.reject(new StoreError('STORE_ERR_IO', 'disk full'));
    }
    return super.writeDialogs(batch);
  }
}

function setup() {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const store = new RecordingStore(clock);
  const errors: unknown[] = [];
  const writer = new DialogSnapshotWriter({ store, scheduler, onError: (e) => errors.push(e) });
  /** Lets the store's promises settle. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { clock, scheduler, store, writer, errors, settle };
}

const alice = 'sip:alice@example.com';
const carol = 'sip:carol@example.com';

test('changes within a second are written once, at the tick, latest state only', async () => {
  const { clock, store, writer, settle } = setup();
  writer.upsert(dialog(alice, { localCSeq: 1 }));
  clock.advance(400);
  writer.upsert(dialog(alice, { localCSeq: 2 }));
  writer.upsert(dialog(carol));
  clock.advance(599);
  assert.equal(store.calls.length, 0, 'nothing before the second is up');
  assert.equal(writer.pending, 2);
  clock.advance(1);
  assert.deepEqual(store.calls, [{ at: 1000, upserts: [alice, carol], deletes: [] }]);
  await settle();
  const stored = (await store.load()).dialogs;
  assert.deepEqual(
    stored.map((d) => [d.record, d.localCSeq]),
    [
      [alice, 2],
      [carol, 3],
    ],
  );
  assert.equal(writer.pending, 0);
  assert.deepEqual(writer.stats, { flushes: 1, upserts: 2, deletes: 0, failures: 0 });
  clock.advance(10_000);
  assert.equal(store.calls.length, 1, 'no empty transactions when nothing changed');
});

test('an upsert then a delete of the same dialog within the second writes only the delete', async () => {
  const { clock, store, writer, settle } = setup();
  writer.upsert(dialog(alice));
  clock.advance(1000);
  await settle();
  writer.upsert(dialog(alice, { localCSeq: 9 }));
  writer.delete(dialog(alice).key);
  clock.advance(1000);
  assert.deepEqual(store.calls[1], { at: 2000, upserts: [], deletes: [dialog(alice).key] });
  await settle();
  assert.deepEqual((await store.load()).dialogs, []);
});

test('under a steady stream of changes, flushes are a second apart: one transaction per tick', async () => {
  const { clock, store, writer, settle } = setup();
  for (let ms = 0; ms < 5000; ms += 50) {
    writer.upsert(dialog(alice, { localCSeq: ms }));
    clock.advance(50);
    await settle();
  }
  const times = store.calls.map((c) => c.at);
  assert.deepEqual(times, [1000, 2000, 3000, 4000, 5000]);
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! - times[i - 1]! >= 1000);
});

test('a failed flush is retried at the next tick; newer changes replace the failed ones', async () => {
  const { clock, store, writer, errors, settle } = setup();
  store.failNext = 1;
  writer.upsert(dialog(alice, { localCSeq: 1 }));
  writer.upsert(dialog(carol, { localCSeq: 1 }));
  clock.advance(1000);
  await settle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof StoreError);
  assert.equal(writer.pending, 2, 'kept for the retry');
  writer.upsert(dialog(alice, { localCSeq: 5 }));
  clock.advance(1000);
  await settle();
  assert.equal(store.calls.length, 2);
  assert.deepEqual(
    (await store.load()).dialogs.map((d) => [d.record, d.localCSeq]),
    [
      [alice, 5],
      [carol, 1],
    ],
  );
  assert.deepEqual(writer.stats, { flushes: 1, upserts: 2, deletes: 0, failures: 1 });
});

test('flush() writes at once; close() flushes and then takes nothing more', async () => {
  const { clock, store, writer, scheduler } = setup();
  writer.upsert(dialog(alice));
  await writer.flush();
  assert.deepEqual(store.calls, [{ at: 0, upserts: [alice], deletes: [] }]);
  assert.equal(scheduler.size, 0, 'the tick was cancelled');
  writer.upsert(dialog(carol));
  await writer.close();
  assert.equal(store.calls.length, 2);
  writer.upsert(dialog('sip:late@example.com'));
  clock.advance(5000);
  assert.equal(store.calls.length, 2);
  assert.equal(writer.pending, 0);
});

test('a snapshot is copied when handed over: the engine may go on mutating its own object', async () => {
  const { clock, store, writer, settle } = setup();
  const routeSet = ['<sip:p1;lr>'];
  const mine = { ...dialog(alice), routeSet };
  writer.upsert(mine);
  routeSet.push('<sip:p2;lr>');
  clock.advance(1000);
  await settle();
  assert.deepEqual((await store.load()).dialogs[0]!.routeSet, ['<sip:p1;lr>']);
});

test('an invalid snapshot is refused at once, not at the tick', () => {
  const { writer } = setup();
  assert.throws(() => writer.upsert(dialog(alice, { localCSeq: -1 })), (e: unknown) => e instanceof StoreError && e.code === 'STORE_ERR_INVALID');
  assert.equal(writer.pending, 0);
});

test('resumedCSeq: the stored high-water mark plus the margin, undefined when CSeq numbers run out', () => {
  assert.equal(RESUME_CSEQ_MARGIN, 1000);
  assert.equal(resumedCSeq(41), 1041);
  assert.equal(resumedCSeq(2 ** 31 - 1 - RESUME_CSEQ_MARGIN), 2 ** 31 - 1);
  assert.equal(resumedCSeq(2 ** 31 - RESUME_CSEQ_MARGIN), undefined);
});

test('markDirty: the state is read from the source at the tick (latest wins, nothing copied before); undefined deletes', async () => {
  const { clock, store, writer, settle } = setup();
  let current: ReturnType<typeof dialog> | undefined = dialog(alice, { localCSeq: 1 });
  let reads = 0;
  const source = {
    storedDialog: (key: string) => {
      reads++;
      assert.equal(key, dialog(alice).key);
      return current;
    },
  };
  for (let i = 0; i < 100; i++) writer.markDirty(dialog(alice).key, source);
  current = dialog(alice, { localCSeq: 7 });
  assert.equal(reads, 0, 'marking reads nothing');
  assert.equal(writer.pending, 1);
  clock.advance(1000);
  await settle();
  assert.equal(reads, 1);
  assert.deepEqual((await store.load()).dialogs.map((d) => d.localCSeq), [7]);
  current = undefined;
  writer.markDirty(dialog(alice).key, source);
  clock.advance(1000);
  await settle();
  assert.deepEqual(store.calls[1], { at: 2000, upserts: [], deletes: [dialog(alice).key] });
  assert.deepEqual((await store.load()).dialogs, []);
});

test('markDirty: a source giving an invalid snapshot is reported and the key deleted; the other changes are written', async () => {
  const { clock, store, writer, errors, settle } = setup();
  writer.upsert(dialog(carol));
  writer.markDirty(dialog(alice).key, { storedDialog: () => dialog(alice, { localCSeq: -1 }) });
  clock.advance(1000);
  await settle();
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof StoreError);
  assert.deepEqual(store.calls[0], { at: 1000, upserts: [carol], deletes: [dialog(alice).key] });
});

test('markDirty: a failed write retries the state read at that tick unless marked again', async () => {
  const { clock, store, writer, settle } = setup();
  let cseq = 1;
  const source = { storedDialog: () => dialog(alice, { localCSeq: cseq }) };
  store.failNext = 1;
  writer.markDirty(dialog(alice).key, source);
  clock.advance(1000);
  await settle();
  cseq = 2;
  clock.advance(1000);
  await settle();
  assert.deepEqual((await store.load()).dialogs.map((d) => d.localCSeq), [1], 'the failed batch as read, retried');
  writer.markDirty(dialog(alice).key, source);
  clock.advance(1000);
  await settle();
  assert.deepEqual((await store.load()).dialogs.map((d) => d.localCSeq), [2]);
});
