import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeptBody, KeptBodyStore, LARGEST_KEPT_BODY, SLAB_BYTES, bytesOf, slotBytesFor, unkeep } from '../../../src/qsa/kept-body-store.js';
import { QsaError } from '../../../src/qsa/qsa-error.js';

// Issue 11: the bodies of last statuses in shared slabs outside the malloc heap (docs/establishment.md §5.5).

/** `length` bytes that tell bodies apart (`seed` in every byte pattern). */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

function kept(store: KeptBodyStore, body: Uint8Array): KeptBody {
  const k = store.keep(body);
  assert.ok(k instanceof KeptBody, 'kept in a slab');
  return k;
}

test('slot sizes: multiples of 16 up to 1 KB, then 32 per doubling; never smaller than the body, at most ≈ 3 % over', () => {
  assert.equal(slotBytesFor(1), 16);
  assert.equal(slotBytesFor(729), 736);
  assert.equal(slotBytesFor(1024), 1024);
  assert.equal(slotBytesFor(1025), 1056);
  assert.equal(slotBytesFor(LARGEST_KEPT_BODY), LARGEST_KEPT_BODY);
  for (let length = 1; length <= LARGEST_KEPT_BODY; length += 13) {
    const slot = slotBytesFor(length);
    assert.ok(slot >= length && slot <= Math.max(length + 15, length * 1.032), `${length} → ${slot}`);
  }
});

test('keep, then copy: the same bytes, in a Uint8Array of the reader’s own each time', () => {
  const store = new KeptBodyStore();
  const body = bytes(729, 1);
  const k = kept(store, body);
  body.fill(0); // the caller's array: kept is a copy
  const a = k.copy();
  const b = k.copy();
  assert.deepEqual(a, bytes(729, 1));
  assert.notEqual(a, b);
  assert.equal(a.byteLength, a.buffer.byteLength, 'not a view of the slab');
  a.fill(9);
  assert.deepEqual(k.copy(), bytes(729, 1), 'changing a copy changes nothing kept');
  assert.deepEqual(bytesOf(k), bytes(729, 1));
  assert.deepEqual(store.stats(), { bodies: 1, slabs: 1, slabBytes: SLAB_BYTES, moved: 0, compacted: 0, slotBytesLive: 736 });
});

test('the same bytes kept twice (or a copy read out of it) are one body with two holders; the last release frees it', () => {
  const store = new KeptBodyStore();
  const body = bytes(500, 2);
  const k = kept(store, body);
  assert.equal(store.keep(body), k, 'the same array: the same body');
  assert.equal(store.keep(k.copy()), k, 'a copy read out of it: the same body');
  assert.equal(store.stats().bodies, 1);
  k.release();
  k.release();
  assert.deepEqual(k.copy(), bytes(500, 2), 'one holder left');
  k.release();
  assert.equal(store.stats().bodies, 0);
  assert.throws(() => k.copy(), (e: unknown) => e instanceof QsaError && e.code === 'QSA_ERR_RELEASED_BODY');
  k.release(); // a release too many is harmless
  assert.equal(store.stats().bodies, 0);
});

test('bytes changed after they were kept are kept anew, not taken for the old body', () => {
  const store = new KeptBodyStore();
  const body = bytes(300, 3);
  const k = kept(store, body);
  body[10] = (body[10]! + 1) & 0xff;
  const again = kept(store, body);
  assert.notEqual(again, k);
  assert.deepEqual(again.copy(), body);
  assert.deepEqual(k.copy(), bytes(300, 3));
});

test('empty and oversized bodies are not packed: the holder keeps the array itself', () => {
  const store = new KeptBodyStore();
  const empty = new Uint8Array(0);
  const large = bytes(LARGEST_KEPT_BODY + 1, 4);
  assert.equal(store.keep(empty), empty);
  assert.equal(store.keep(large), large);
  assert.equal(unkeep(large), large);
  assert.deepEqual(store.stats(), { bodies: 0, slabs: 0, slabBytes: 0, moved: 0, compacted: 0, slotBytesLive: 0 });
});

test('unkeep: the holder’s reference given back, the bytes still readable (as a string: no ArrayBuffer of their own)', () => {
  const store = new KeptBodyStore();
  const k = kept(store, bytes(800, 5));
  const own = unkeep(k);
  assert.equal(typeof own, 'string');
  assert.equal(store.stats().bodies, 0);
  assert.deepEqual(bytesOf(own), bytes(800, 5));
  // Every byte value survives the round trip, and each read is a copy of its own.
  const all = new Uint8Array(256).map((_, i) => i);
  const again = unkeep(kept(store, all));
  assert.deepEqual(bytesOf(again), all);
  assert.notEqual(bytesOf(again), bytesOf(again));
});

test('a freed slot is reused: keeping and replacing bodies one after another stays in one slab', () => {
  const store = new KeptBodyStore();
  let current = kept(store, bytes(729, 0));
  for (let i = 1; i <= 10_000; i++) {
    const next = kept(store, bytes(729, i));
    current.release();
    current = next;
  }
  assert.deepEqual(current.copy(), bytes(729, 10_000));
  assert.deepEqual(store.stats(), { bodies: 1, slabs: 1, slabBytes: SLAB_BYTES, moved: 0, compacted: 0, slotBytesLive: 736 });
});

test('slabs nearly emptied are evacuated into the others and let go; every body left reads back the same', () => {
  const store = new KeptBodyStore();
  const perSlab = Math.floor(SLAB_BYTES / slotBytesFor(729));
  const count = perSlab * 4;
  const all: KeptBody[] = [];
  for (let i = 0; i < count; i++) all.push(kept(store, bytes(729, i)));
  assert.equal(store.stats().slabs, 4);
  // Free 3 bodies in 4, spread over all slabs: none becomes nearly empty by itself.
  const left = new Map<number, KeptBody>();
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0) left.set(i, all[i]!);
    else all[i]!.release();
  }
  assert.equal(store.stats().slabs, 4, 'a quarter live in each slab: none evacuated');
  // Now empty the last slab but a few: it is evacuated into the free slots of the others.
  for (const [i, k] of left) {
    if (i >= perSlab * 3 && i < count - 8) {
      k.release();
      left.delete(i);
    }
  }
  const stats = store.stats();
  assert.equal(stats.slabs, 3, 'the nearly empty slab was let go');
  assert.ok(stats.moved > 0 && stats.moved <= perSlab / 8, `moved ${stats.moved}`);
  assert.equal(stats.bodies, left.size);
  for (const [i, k] of left) assert.deepEqual(k.copy(), bytes(729, i), `body ${i} after the evacuation`);
  // New bodies fill the free slots of the oldest slabs: no new slab.
  for (let i = 0; i < perSlab; i++) left.set(count + i, kept(store, bytes(729, count + i)));
  assert.equal(store.stats().slabs, 3);
  // Everything released: one slab stays (no slab made and let go in turn), empty.
  for (const k of left.values()) k.release();
  assert.equal(store.stats().bodies, 0);
  assert.equal(store.stats().slabs, 1);
});

test('bodies of many sizes: each in its size class, all read back the same after interleaved releases', () => {
  const store = new KeptBodyStore();
  const live = new Map<number, KeptBody>();
  for (let i = 0; i < 3000; i++) {
    const length = 1 + ((i * 7919) % 6000);
    live.set(i, kept(store, bytes(length, i)));
    if (i % 3 === 2) {
      const victim = i - 1 - (i % 5);
      live.get(victim)?.release();
      live.delete(victim);
    }
  }
  for (const [i, k] of live) assert.deepEqual(k.copy(), bytes(1 + ((i * 7919) % 6000), i));
  assert.equal(store.stats().bodies, live.size);
  for (const k of live.values()) k.release();
  assert.equal(store.stats().bodies, 0);
});

test('through the broker: one body for the subscriptions told the same bytes, the last status byte-identical after many, none kept once unsubscribed', async () => {
  const { QsaBroker } = await import('../../../src/qsa/index.js');
  const { REREAD_DOCUMENT } = await import('../../../src/qsa/status-message.js');
  const { ManualClock } = await import('../../../src/util/clock.js');
  const broker = new QsaBroker({ clock: new ManualClock(0, 0) });
  const held: import('../../../src/qsa/index.js').QsaSubscription[] = [];
  broker.registerNotifier('presence', { subscribe: (s) => void held.push(s), unsubscribe: () => {} });
  const queue = broker.createQueue();
  const handles = [1, 2, 3].map((i) => broker.subscribe({ record: 'sip:alice@example.com', subscriber: `sip:w${i}@example.com`, queue }));
  const reread = (_type: string | undefined, body: Uint8Array) => ({ length: body.length });
  const endOfTask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  let last = bytes(700, 0);
  for (let n = 1; n <= 50; n++) {
    last = bytes(600 + n, n);
    // One array for all three, as a notifier that fans one status out.
    for (const sub of held) broker.notify(sub, { state: 'active', contentType: 'application/pidf+xml', body: last, document: reread(undefined, last), [REREAD_DOCUMENT]: reread } as never);
    while (queue.poll() !== undefined);
    await endOfTask();
    assert.equal(broker.keptBodies.stats().bodies, 1, `after status ${n}`);
  }
  for (const handle of handles) assert.deepEqual(handle.lastStatus!.body, last);
  for (const handle of handles) broker.unsubscribe(handle);
  assert.equal(broker.keptBodies.stats().bodies, 0);
  for (const handle of handles) assert.deepEqual(handle.lastStatus!.body, last, 'still readable once unsubscribed');
});

test('a handle released by its last holder is used again for the next body kept, and holds only it', () => {
  const store = new KeptBodyStore();
  const firstBytes = bytes(600, 3);
  const first = kept(store, firstBytes);
  first.release();
  // The next body kept gets the same handle (no object per NOTIFY: issue 11), with its own length and bytes.
  const second = kept(store, bytes(420, 4));
  assert.equal(second, first);
  assert.equal(second.length, 420);
  assert.deepEqual(second.copy(), bytes(420, 4));
  // The first body's array still names the handle (the store remembers what it kept, weakly), but
  // the handle holds other bytes now: keeping that array again makes a body of its own.
  const again = store.keep(firstBytes);
  assert.notEqual(again, second);
  assert.deepEqual(bytesOf(again), bytes(600, 3));
  assert.equal(store.stats().bodies, 2);
});
