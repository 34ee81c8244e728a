import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRAME_AFTER_MISSES, KeptBody, KeptBodyStore, LARGEST_KEPT_BODY, MIN_SHARED, SLAB_BYTES, bytesOf, slotBytesFor, unkeep } from '../../../src/qsa/kept-body-store.js';
import { QsaError } from '../../../src/qsa/qsa-error.js';

// Issue 11: the bodies of last statuses in shared slabs outside the malloc heap (docs/establishment.md §5.5).

/**
 * `length` bytes that tell bodies apart: a hash of `seed` and the position, so that bodies of
 * two seeds share no run of bytes at their start or end worth a frame (those have tests of
 * their own below).
 */
function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let x = Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b);
    x ^= x >>> 15;
    x = Math.imul(x, 0x2c1b3c6d);
    x ^= x >>> 12;
    out[i] = x & 0xff;
  }
  return out;
}

/** A PIDF like the bench's (one template, the entity, tuple id and note filled in). */
function pidf(user: number, seq: number, open = true): Uint8Array {
  return new TextEncoder().encode(
    '<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" ' +
      `xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:user${user}@127.0.0.1:6590">\n  <tuple id="s${seq}t${seq * 7919}">\n` +
      `    <status><basic>${open ? 'open' : 'closed'}</basic></status>\n    <contact priority="0.8">sip:alice@192.0.2.10:5060;transport=udp</contact>\n` +
      `    <note>bench seq ${seq}</note>\n    <timestamp>2026-11-27T04:03:00Z</timestamp>\n  </tuple>\n  <dm:person id="p1a2b3">\n` +
      '    <rpid:activities><rpid:on-the-phone/></rpid:activities>\n    <dm:note>On the phone</dm:note>\n  </dm:person>\n' +
      '  <dm:device id="d9f8e7"><dm:deviceID>urn:uuid:3c8e1f5a-0b7d-4c2e-9a61-5d2f7b8c9e10</dm:deviceID></dm:device>\n</presence>\n',
  );
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
  assert.deepEqual(store.stats(), { bodies: 1, slabs: 1, slabBytes: SLAB_BYTES, moved: 0 });
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
  assert.deepEqual(store.stats(), { bodies: 0, slabs: 0, slabBytes: 0, moved: 0 });
});

test('unkeep: the bytes as an array of their own, the holder’s reference given back', () => {
  const store = new KeptBodyStore();
  const k = kept(store, bytes(800, 5));
  const own = unkeep(k);
  assert.deepEqual(own, bytes(800, 5));
  assert.equal(store.stats().bodies, 0);
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
  assert.deepEqual(store.stats(), { bodies: 1, slabs: 1, slabBytes: SLAB_BYTES, moved: 0 });
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

test('frame: bodies of one template keep only what differs in their slot, read back byte for byte, and match only their own bytes', () => {
  const store = new KeptBodyStore();
  const first = kept(store, pidf(1, 1));
  assert.equal(first.stored, first.length, 'the first body is kept whole (it is the frame)');
  const many: [KeptBody, Uint8Array][] = [];
  for (let i = 2; i < 500; i++) {
    const body = pidf(i * 37, i * 101, i % 2 === 0);
    const k = kept(store, body);
    assert.ok(k.stored < 260 && k.stored < body.length - 400, `body ${i}: ${k.stored} of ${body.length} bytes in its slot`);
    many.push([k, body]);
  }
  for (const [k, body] of many) {
    assert.deepEqual(k.copy(), body);
    assert.equal(k.holds(body), true);
  }
  // One byte changed at the start, in the middle or at the end: not the same body.
  const [k, body] = many[10]!;
  for (const at of [0, 300, body.length - 1]) {
    const changed = new Uint8Array(body);
    changed[at] = changed[at]! ^ 1;
    assert.equal(k.holds(changed), false, `byte ${at} changed`);
    const again = kept(store, changed);
    assert.notEqual(again, k, 'kept anew');
    assert.deepEqual(again.copy(), changed);
    again.release();
  }
  // The same bytes kept again (a copy read out of it comes back) are the same body.
  const copy = k.copy();
  assert.equal(store.keep(copy), k);
  assert.equal(k.refs, 2);
  assert.deepEqual(first.copy(), pidf(1, 1));
});

test('frame: a body equal to the frame keeps one byte; short bodies are never framed', () => {
  const store = new KeptBodyStore();
  kept(store, pidf(5, 5));
  const same = kept(store, new Uint8Array(pidf(5, 5)));
  assert.equal(same.stored, 1);
  assert.deepEqual(same.copy(), pidf(5, 5));
  const short = store.keep(pidf(5, 5).subarray(0, MIN_SHARED));
  assert.ok(short instanceof KeptBody);
  assert.equal(short.stored, MIN_SHARED, 'too short to share enough');
});

test('frame: after FRAME_AFTER_MISSES bodies in a row that share too little, a new frame; bodies kept against the old one still read back', () => {
  const store = new KeptBodyStore();
  const old = [kept(store, pidf(1, 1)), kept(store, pidf(2, 2))];
  assert.ok(old[1]!.stored < old[1]!.length);
  const other: KeptBody[] = [];
  for (let i = 0; i < FRAME_AFTER_MISSES; i++) {
    const k = kept(store, bytes(700, 1000 + i));
    assert.equal(k.stored, 700, 'unrelated bodies are kept whole');
    other.push(k);
  }
  // The last of those became the frame: a body sharing its start and end is framed against it.
  const like = new Uint8Array(bytes(700, 1000 + FRAME_AFTER_MISSES - 1));
  like[350] = like[350]! ^ 0xff;
  const framed = kept(store, like);
  assert.equal(framed.stored, 1);
  assert.deepEqual(framed.copy(), like);
  // The PIDFs are no longer framed (a miss), and the old ones still read back from their frame.
  assert.equal(kept(store, pidf(3, 3)).stored, pidf(3, 3).length);
  assert.deepEqual(old[0]!.copy(), pidf(1, 1));
  assert.deepEqual(old[1]!.copy(), pidf(2, 2));
  for (let i = 0; i < other.length; i++) assert.deepEqual(other[i]!.copy(), bytes(700, 1000 + i));
});

test('frame: framed bodies moved by an evacuation read back the same', () => {
  const store = new KeptBodyStore();
  kept(store, pidf(0, 0));
  // Users of one width starting with 1, sequence numbers of one width never ending in 0: every
  // body shares exactly as much with the frame (pidf(0, 0)), so all are in one size class.
  const body = (i: number) => pidf(100_000 + i, 100_001 + 2 * i);
  const sample = kept(store, body(4_000));
  const perSlab = Math.floor(SLAB_BYTES / slotBytesFor(sample.stored));
  sample.release();
  const all = new Map<number, KeptBody>();
  for (let i = 0; i < perSlab * 3; i++) all.set(i, kept(store, body(i)));
  for (const k of all.values()) assert.equal(k.stored, sample.stored);
  const before = store.stats();
  for (const [i, k] of all) {
    if (i % 2 === 0 || i >= perSlab * 2 + 8) {
      k.release();
      all.delete(i);
    }
  }
  const after = store.stats();
  assert.ok(after.moved > before.moved, 'an evacuation moved framed bodies');
  assert.ok(after.slabs < before.slabs);
  for (const [i, k] of all) assert.deepEqual(k.copy(), body(i), `body ${i}`);
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
