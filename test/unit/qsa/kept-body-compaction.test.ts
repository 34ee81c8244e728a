import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseConfig } from '../../../src/config/index.js';
import { statusFromBody } from '../../../src/presence/status-from-body.js';
import { QsaBroker, type QsaNotifier, type QsaSubscription } from '../../../src/qsa/index.js';
import { KeptBody, KeptBodyStore, LARGEST_KEPT_BODY, MIN_SHARED, bytesOf, unkeep } from '../../../src/qsa/kept-body-store.js';
import { REREAD_DOCUMENT } from '../../../src/qsa/status-message.js';
import { ManualClock } from '../../../src/util/clock.js';

// Issue 11: a kept body unchanged for a while is compacted against a frame, off the NOTIFY path (docs/establishment.md §13).

const encoder = new TextEncoder();

/** A presence document of one template, its entity, tuple id, status and note differing (as a server sends them). */
function pidf(i: number): Uint8Array {
  return encoder.encode(
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:user${i}@example.net">\n` +
      `  <tuple id="t${i * 7919}"><status><basic>${i % 2 === 0 ? 'open' : 'closed'}</basic></status>\n` +
      `    <note>note ${i}</note><contact priority="0.8">sip:alice@192.0.2.10:5060;transport=udp</contact></tuple>\n` +
      '  <dm:person id="p1"><dm:note>On the phone</dm:note></dm:person>\n' +
      '</presence>\n',
  );
}

/** The PIDF fixtures of the repository (whatever they hold, read back byte for byte). */
function fixtures(): Uint8Array[] {
  const dir = join(process.cwd(), 'test', 'fixtures', 'pidf');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.xml'))
    .sort()
    .map((name) => new Uint8Array(readFileSync(join(dir, name))));
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

test('a template family: compacted to what differs, read back byte for byte, holds() true for the same bytes only', () => {
  const store = new KeptBodyStore();
  const bodies = Array.from({ length: 200 }, (_, i) => pidf(i));
  const kept = bodies.map((b) => store.keep(b) as KeptBody);
  const whole = store.stats().slotBytesLive;
  store.compactAll();
  const stats = store.stats();
  assert.equal(stats.compacted, 200);
  assert.ok(stats.slotBytesLive < whole / 3, `${stats.slotBytesLive} of ${whole} slot bytes`);
  for (let i = 0; i < bodies.length; i++) {
    assert.ok(kept[i]!.compacted);
    assert.ok(same(kept[i]!.copy(), bodies[i]!), `body ${i}`);
    assert.ok(kept[i]!.holds(bodies[i]!));
    const changed = bodies[i]!.slice();
    changed[changed.length >> 1]! ^= 1;
    assert.equal(kept[i]!.holds(changed), false);
    changed[changed.length >> 1]! ^= 1;
    changed[0]! ^= 1;
    assert.equal(kept[i]!.holds(changed), false, 'a change in the shared start');
    changed[0]! ^= 1;
    changed[changed.length - 1]! ^= 1;
    assert.equal(kept[i]!.holds(changed), false, 'a change in the shared end');
  }
  // A copy read out and kept again is the same kept body (one slot, as before compaction).
  const again = store.keep(kept[5]!.copy());
  assert.equal(again, kept[5]);
});

test('property: random bodies, fixtures, template bodies and bodies that do not compress read back the same after compaction, releases and evacuations', () => {
  const family = fc.integer({ min: 0, max: 10_000 }).map(pidf);
  const random = fc.uint8Array({ minLength: 0, maxLength: 2_000 });
  const large = fc.uint8Array({ minLength: LARGEST_KEPT_BODY - 10, maxLength: LARGEST_KEPT_BODY + 10 });
  const fixture = fc.constantFrom(...fixtures());
  const mutated = fc.tuple(family, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, v]) => {
    const c = b.slice();
    if (c.length > 0) c[at % c.length] = v;
    return c;
  });
  fc.assert(
    fc.property(
      fc.array(fc.oneof(family, random, fixture, mutated, large), { minLength: 1, maxLength: 120 }),
      fc.array(fc.nat(), { maxLength: 120 }),
      (bodies, releases) => {
        const store = new KeptBodyStore();
        const kept = bodies.map((b) => store.keep(b));
        store.compactAll();
        const live = new Set(kept.map((_, i) => i));
        for (const r of releases) {
          const i = r % kept.length;
          const k = kept[i]!;
          if (!live.has(i) || !(k instanceof KeptBody)) continue;
          k.release();
          live.delete(i);
        }
        store.compactAll();
        for (const i of live) {
          const k = kept[i]!;
          const bytes = bytesOf(k);
          if (!same(bytes, bodies[i]!)) return false;
          if (k instanceof KeptBody && !k.holds(bodies[i]!)) return false;
        }
        return true;
      },
    ),
    { numRuns: 60, seed: 11 },
  );
});

test('empty, short and unpacked bodies are left as they are; bodies that share too little stay whole until one becomes the frame', () => {
  const store = new KeptBodyStore();
  const empty = new Uint8Array(0);
  assert.equal(store.keep(empty), empty);
  const short = store.keep(encoder.encode('x'.repeat(MIN_SHARED))) as KeptBody;
  store.compactAll();
  assert.equal(short.compacted, false, 'too short to share enough with any frame');
  assert.equal(new TextDecoder().decode(short.copy()), 'x'.repeat(MIN_SHARED));
  // The first long body becomes the frame; 16 unlike ones in a row, then the next unlike one is the new frame.
  const first = store.keep(pidf(1)) as KeptBody;
  store.compactAll();
  assert.ok(first.compacted);
  const unlike = Array.from({ length: 17 }, (_, i) => {
    const b = new Uint8Array(300).map((_, j) => (i * 131 + j * 17 + ((j * j) >> 3)) & 0xff);
    return { bytes: b, kept: store.keep(b) as KeptBody };
  });
  store.compactAll();
  assert.equal(unlike.filter((u) => u.kept.compacted).length, 1, 'the 17th became the frame');
  for (const u of unlike) assert.ok(same(u.kept.copy(), u.bytes));
  assert.ok(same(first.copy(), pidf(1)), 'a body of the old frame reads the same');
});

test('a compacted body given back (unkeep) reads back the same bytes, assembled from the frame and its delta', () => {
  const store = new KeptBodyStore({ clock: new ManualClock(0, 0), compactAfterMs: 1000 });
  const frame = store.keep(pidf(1)) as KeptBody;
  const held = [2, 3, 4].map((i) => store.keep(pidf(i)) as KeptBody);
  store.compactAll();
  assert.ok(held.every((k) => k.compacted));
  for (const [n, k] of held.entries()) {
    const own = unkeep(k);
    assert.equal(typeof own, 'string');
    assert.ok(same(bytesOf(own), pidf(n + 2)));
  }
  assert.ok(same(frame.copy(), pidf(1)));
});

test('compaction is driven by the clock: a body unchanged for compactAfterMs (at most 1.25 times that), never one replaced meanwhile; stops when idle', () => {
  const clock = new ManualClock(0, 0);
  const store = new KeptBodyStore({ clock, compactAfterMs: 1000 });
  const a = store.keep(pidf(1)) as KeptBody; // t = 0
  clock.advance(999);
  assert.equal(a.compacted, false);
  const b = store.keep(pidf(2)) as KeptBody; // t = 999
  clock.advance(1); // t = 1000
  assert.equal(a.compacted, false, 'a walk at t = 1000 finds a ripe only after 4 epochs of 250 ms and one more');
  clock.advance(249); // t = 1249
  assert.equal(a.compacted, false);
  clock.advance(1); // t = 1250: a kept 1250 ms ago, b 251 ms ago
  assert.ok(a.compacted, 'unchanged for 1 to 1.25 periods');
  assert.equal(b.compacted, false);
  b.release(); // replaced: never compacted
  const c = store.keep(pidf(3)) as KeptBody; // t = 1250
  clock.advance(999);
  assert.equal(c.compacted, false, 'kept 999 ms ago');
  clock.advance(251); // t = 2500
  assert.ok(c.compacted);
  assert.ok(same(a.copy(), pidf(1)) && same(c.copy(), pidf(3)));
  clock.advance(2000);
  assert.equal(clock.pendingTimers(), 0, 'idle: no timer left');
  const sweep = store.sweepStats();
  assert.equal(sweep.compactAfterMs, 1000);
  assert.equal(sweep.compactedBySweep, 2);
  assert.ok(sweep.passes >= 5 && sweep.ticks >= sweep.passes);

  // A body kept after the sweep went idle wakes it; not compacted before compactAfterMs.
  const d = store.keep(pidf(4)) as KeptBody;
  clock.advance(999);
  assert.equal(d.compacted, false);
  clock.advance(251);
  assert.ok(d.compacted);
  store.stopCompaction();
  const late = store.keep(pidf(7)) as KeptBody;
  clock.advance(10_000);
  assert.equal(late.compacted, false, 'stopped');
  assert.equal(clock.pendingTimers(), 0);
});

/** A ManualClock whose now() moves on by `stepMs` at each read: a tick of the sweep spends its budget after a counted number of bodies. */
class ReadCostClock extends ManualClock {
  private extra = 0;
  constructor(private readonly stepMs: number) {
    super(0, 0);
  }
  override now(): number {
    this.extra += this.stepMs;
    return super.now() + this.extra;
  }
}

test('the sweep is thin: each tick stops once its budget of the clock is spent and comes back a tick later; every ripe body is compacted', () => {
  // Each read of the clock costs 10 µs here; a tick's budget is 100 µs: about ten bodies per tick.
  const clock = new ReadCostClock(0.01);
  const store = new KeptBodyStore({ clock, compactAfterMs: 1000, sweepBudgetUs: 100, sweepTickMs: 5 });
  const many = Array.from({ length: 1027 }, (_, i) => store.keep(pidf(100 + i)) as KeptBody);
  clock.advance(1250); // the walk that finds them ripe begins
  const compactedFirst = many.filter((k) => k.compacted).length;
  assert.ok(compactedFirst > 0 && compactedFirst < 20, `one tick compacted ${compactedFirst}`);
  clock.advance(5 * 200);
  assert.ok(
    many.every((k) => k.compacted),
    'all compacted within 200 ticks',
  );
  for (const [i, k] of many.entries()) assert.ok(same(k.copy(), pidf(100 + i)));
  const sweep = store.sweepStats();
  assert.equal(sweep.compactedBySweep, 1027);
  assert.ok(sweep.ticks > 50, `${sweep.ticks} ticks`);
  // A tick overshoots its budget by at most one body and one read of the clock.
  assert.ok(sweep.longestUs <= 100 + 2 * 10 + 1e-6, `longest tick ${sweep.longestUs} µs`);
  assert.equal(
    sweep.tickHistogram.reduce((x, y) => x + y, 0),
    sweep.ticks,
  );
});

test('a walk spread over ticks, with bodies released and kept between its ticks (slabs evacuated under its cursor): every body reads back the same, and every one left unchanged is compacted', () => {
  const clock = new ReadCostClock(0.01);
  const store = new KeptBodyStore({ clock, compactAfterMs: 1000, sweepBudgetUs: 100, sweepTickMs: 5 });
  const live = new Map<number, KeptBody>();
  let next = 0;
  const keepOne = (): void => {
    live.set(next, store.keep(pidf(next)) as KeptBody);
    next++;
  };
  for (let i = 0; i < 3000; i++) keepOne();
  clock.advance(1250); // the walk that finds them ripe begins
  // Between ticks: release two of every three of the oldest still held (their slabs empty and are evacuated), keep new ones.
  for (let round = 0; round < 100; round++) {
    let released = 0;
    for (const [i, kept] of live) {
      if (released >= 20) break;
      if (i % 3 !== 0) {
        kept.release();
        live.delete(i);
        released++;
      }
    }
    keepOne();
    clock.advance(5);
  }
  for (const [i, kept] of live) assert.ok(same(kept.copy(), pidf(i)), `body ${i} reads back the same`);
  clock.advance(5000); // later walks find what the first one skipped, and the bodies kept meanwhile ripen
  for (const [i, kept] of live) {
    assert.ok(kept.compacted, `body ${i} compacted`);
    assert.ok(same(kept.copy(), pidf(i)));
  }
  assert.ok(store.stats().moved > 0, 'slabs were evacuated during the walk');
  clock.advance(5000);
  assert.equal(clock.pendingTimers(), 0, 'idle at the end');
});

test('with compaction off, keep() writes no epoch and the slabs have none', () => {
  const off = new KeptBodyStore();
  const kept = off.keep(pidf(1)) as KeptBody;
  assert.equal(kept.slab!.keptIn, undefined);
  const on = new KeptBodyStore({ clock: new ManualClock(0, 0), compactAfterMs: 1000 });
  assert.ok((on.keep(pidf(1)) as KeptBody).slab!.keptIn instanceof Int32Array);
  on.stopCompaction();
  // compactAll works either way.
  off.compactAll();
  assert.ok(same(kept.copy(), pidf(1)));
});

test("compactAll is not the sweep: it leaves the sweep's counts alone", () => {
  const store = new KeptBodyStore({ clock: new ManualClock(0, 0), compactAfterMs: 1000 });
  for (let i = 0; i < 40; i++) store.keep(pidf(i));
  store.compactAll();
  assert.ok(store.stats().compacted > 0, 'compactAll compacted');
  const sweep = store.sweepStats();
  assert.equal(sweep.compactedBySweep, 0);
  assert.equal(sweep.leftWhole, 0);
  store.stopCompaction();
});

class HoldingNotifier implements QsaNotifier {
  readonly held: QsaSubscription[] = [];
  subscribe(sub: QsaSubscription): void {
    this.held.push(sub);
  }
  unsubscribe(): void {}
}

test('through the broker: the last status reads the same body and document after compaction', async () => {
  const clock = new ManualClock(0, Date.UTC(2026, 11, 2));
  const broker = new QsaBroker({ clock, keptBodyCompactionMs: 500 });
  const notifier = new HoldingNotifier();
  broker.registerNotifier('presence', notifier);
  const queue = broker.createQueue();
  const handles = Array.from({ length: 20 }, (_, i) => broker.subscribe({ record: `sip:user${i}@example.net`, subscriber: 'sip:w@x', queue }));
  for (let i = 0; i < 20; i++) {
    const body = pidf(i);
    // A document that can be read again from the body (as the engine's reports): only then does the broker keep the body alone.
    const reread = (type: string | undefined, bytes: Uint8Array) => statusFromBody(type ?? 'application/pidf+xml', bytes).document;
    broker.notify(notifier.held[i]!, {
      state: 'active',
      expires: 3600,
      contentType: 'application/pidf+xml',
      body,
      document: reread(undefined, body),
      [REREAD_DOCUMENT]: reread,
    } as never);
  }
  while (queue.poll() !== undefined);
  // The bodies go to the store at the end of the task that took the messages out.
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(broker.keptBodies.stats().bodies, 20);
  const before = handles.map((h) => JSON.stringify(h.lastStatus));
  clock.advance(1500);
  assert.equal(broker.keptBodies.stats().compacted, 20);
  broker.stopCompaction();
  handles.forEach((h, i) => {
    assert.ok(same(h.lastStatus!.body!, pidf(i)));
    assert.equal(JSON.stringify(h.lastStatus), before[i]);
  });
});

test('config: kept_body_compaction_ms defaults to 20000 (on, docs/establishment.md §14), 0 switches it off, a bad value names the key', () => {
  assert.equal(parseConfig({}, {}).kept_body_compaction_ms, 20_000);
  assert.equal(parseConfig({ kept_body_compaction_ms: 1000 }, {}).kept_body_compaction_ms, 1000);
  assert.equal(parseConfig({ kept_body_compaction_ms: 0 }, {}).kept_body_compaction_ms, 0);
  assert.throws(() => parseConfig({ kept_body_compaction_ms: -1 }, {}), /kept_body_compaction_ms: expected a number from 0 to 86400000, got -1/);
  assert.throws(() => parseConfig({ kept_body_compaction_ms: 'soon' }, {}), /kept_body_compaction_ms/);
});
