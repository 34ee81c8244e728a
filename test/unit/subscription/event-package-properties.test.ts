/**
 * Property tests of the engine's body readers (src/subscription), above the
 * parsers' own property tests (test/unit/{reginfo,dialoginfo,rlmi,multipart}):
 * - the reg and dialog readers, fed generated documents mixed with mutated
 *   ones, wrong Content-Types and empty bodies, never throw; a reading with
 *   an error leaves the view as it was and reports no change; a resync is
 *   only asked for with an error;
 * - the resource list reader, fed generated RLMI lists (RFC 4662) of presence
 *   members: every member message names its list; one message per member at
 *   most per NOTIFY; replaying the messages gives what a subscriber joining
 *   now is told (`current()`); a NOTIFY that changes nothing gives nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { DialogInfoDocument, DialogInfoState } from '../../../src/dialoginfo/index.js';
import { DIALOG_STATES } from '../../../src/dialoginfo/index.js';
import type { PresenceDocument } from '../../../src/presence/index.js';
import type { StatusUpdate } from '../../../src/qsa/index.js';
import { REG_CONTACT_EVENTS, type RegInfoDocument, type RegInfoState } from '../../../src/reginfo/index.js';
import { buildRlmiBody, RLMI_INSTANCE_STATES, type RlmiInstanceState } from '../../../src/rlmi/index.js';
import { DIALOG_EVENT_PACKAGE } from '../../../src/subscription/dialog-package.js';
import type { EventPackage } from '../../../src/subscription/event-package.js';
import { PRESENCE_EVENT_PACKAGE } from '../../../src/subscription/presence-package.js';
import { REG_EVENT_PACKAGE } from '../../../src/subscription/reg-package.js';
import { ResourceListReader } from '../../../src/subscription/resource-list-reader.js';
import { SeededRandom } from '../../../src/util/random.js';
import { arbitraryMutation, mutate } from '../../support/xml-arbitraries.js';
import { writeDialogInfo } from '../dialoginfo/dialoginfo-writer.js';
import { writeReginfo } from '../reginfo/reginfo-writer.js';

const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });

/** Small pools of ids and URIs, so that successive documents talk about the same registrations and dialogs. */
const regDocument: fc.Arbitrary<RegInfoDocument> = record({
  version: fc.constant(0),
  state: fc.constantFrom('full' as const, 'partial' as const),
  registrations: fc.uniqueArray(
    record({
      aor: fc.constantFrom('sip:alice@example.com', 'sip:bob@example.com'),
      id: fc.constantFrom('r1', 'r2'),
      state: fc.constantFrom('init' as const, 'active' as const, 'terminated' as const),
      contacts: fc.uniqueArray(
        record({
          id: fc.constantFrom('c1', 'c2', 'c3'),
          uri: fc.constantFrom('sip:alice@192.0.2.1', 'sip:alice@192.0.2.2'),
          state: fc.constantFrom('active' as const, 'terminated' as const),
          event: fc.constantFrom(...REG_CONTACT_EVENTS),
          unknownParams: fc.constant([]),
        }),
        { maxLength: 3, selector: (c) => c.id },
      ),
    }),
    { maxLength: 2, selector: (r) => r.id },
  ),
  warnings: fc.constant([] as string[]),
});

const dialogDocument: fc.Arbitrary<DialogInfoDocument> = record({
  version: fc.constant(0),
  state: fc.constantFrom('full' as const, 'partial' as const),
  entity: fc.constant('sip:alice@example.com'),
  dialogs: fc.uniqueArray(
    record({
      id: fc.constantFrom('d1', 'd2', 'd3'),
      state: fc.constantFrom(...DIALOG_STATES),
      direction: fc.constantFrom('initiator' as const, 'recipient' as const),
      routeSet: fc.constant([] as string[]),
    }),
    { maxLength: 3, selector: (d) => d.id },
  ),
  warnings: fc.constant([] as string[]),
});

/** One NOTIFY of a generated subscription: a good document (its version moved by delta), a mutated one, or a body of the wrong kind. */
type Body<D> =
  | { kind: 'good'; document: D; delta: number }
  | { kind: 'mutated'; document: D; delta: number; mutations: ReturnType<typeof arbitraryMutation> extends fc.Arbitrary<infer M> ? M : never }
  | { kind: 'wrong-type' | 'empty' | 'no-type' };

function bodyArbitrary<D>(document: fc.Arbitrary<D>): fc.Arbitrary<Body<D>> {
  const delta = fc.constantFrom(1, 1, 1, 0, 2, -1);
  return fc.oneof(
    { weight: 6, arbitrary: record({ kind: fc.constant('good' as const), document, delta }) },
    { weight: 2, arbitrary: record({ kind: fc.constant('mutated' as const), document, delta, mutations: arbitraryMutation() }) },
    { weight: 1, arbitrary: record({ kind: fc.constantFrom('wrong-type' as const, 'empty' as const, 'no-type' as const) }) },
  );
}

interface ViewOf {
  items(document: unknown): unknown;
  changed(document: unknown): number;
}

function readerProperty<D extends { version: number }>(
  pkg: EventPackage,
  mediaType: string,
  document: fc.Arbitrary<D>,
  write: (d: D) => string,
  view: ViewOf,
  seed: number,
): void {
  fc.assert(
    fc.property(fc.array(bodyArbitrary(document), { minLength: 1, maxLength: 12 }), (bodies) => {
      const reader = pkg.newReader();
      let version = 0;
      let before = view.items(reader.read(mediaType, undefined).document);
      for (const body of bodies) {
        let reading: ReturnType<typeof reader.read>;
        if (body.kind === 'good' || body.kind === 'mutated') {
          version = Math.max(0, version + body.delta);
          const text = Buffer.from(write({ ...body.document, version }));
          reading = reader.read(mediaType, body.kind === 'good' ? text : mutate(text, body.mutations));
          if (body.kind === 'good' && reading.error !== undefined) assert.match(reading.error.code, /_ERR_VERSION$/, 'a document we wrote is refused for its version only');
        } else if (body.kind === 'wrong-type') {
          reading = reader.read('text/plain', Buffer.from(write({ ...(fc.sample(document, { numRuns: 1, seed })[0] as D), version: version + 1 })));
          assert.match(reading.error?.code ?? '', /_ERR_CONTENT_TYPE$/);
        } else if (body.kind === 'empty') {
          reading = reader.read(mediaType, new Uint8Array(0));
          assert.equal(reading.error, undefined);
        } else {
          reading = reader.read(undefined, undefined);
          assert.equal(reading.error, undefined);
        }
        assert.ok(reading.document !== undefined, 'reg and dialog readings always carry the view');
        const after = view.items(reading.document);
        if (reading.error !== undefined || body.kind === 'empty' || body.kind === 'no-type') {
          assert.deepEqual(after, before, 'the view as it was');
          assert.equal(view.changed(reading.document), 0, 'no change reported');
        }
        if (reading.resync === true) {
          assert.ok(reading.error !== undefined, 'a resync comes with an error');
        }
        before = after;
      }
    }),
    { numRuns: 200, seed },
  );
}

test('property: the reg reader never throws; an error keeps the view and reports no change; a resync only with an error', () => {
  readerProperty(
    REG_EVENT_PACKAGE,
    'application/reginfo+xml',
    regDocument,
    (d) => writeReginfo(d),
    {
      items: (d) => (d as RegInfoState).registrations,
      changed: (d) => {
        const { registrations, contacts } = (d as RegInfoState).changes;
        return [registrations, contacts].reduce((n, c) => n + c.added.length + c.updated.length + c.removed.length, 0);
      },
    },
    31,
  );
});

test('property: the dialog reader never throws; an error keeps the view and reports no change; a resync only with an error', () => {
  readerProperty(
    DIALOG_EVENT_PACKAGE,
    'application/dialog-info+xml',
    dialogDocument,
    (d) => writeDialogInfo(d),
    {
      items: (d) => (d as DialogInfoState).dialogs,
      changed: (d) => {
        const { added, updated, removed } = (d as DialogInfoState).changes;
        return added.length + updated.length + removed.length;
      },
    },
    32,
  );
});

// ------------------------------------------------------------------ resource lists

const LIST = 'sip:friends@example.com';
const MEMBERS = ['sip:alice@example.com', 'sip:bob@example.com', 'sip:carol@example.com'];

interface ListStep {
  fullState: boolean;
  delta: number;
  resources: { uri: string; instances: { id: string; state: RlmiInstanceState; reason?: string; basic?: 'open' | 'closed' }[] }[];
}

const listStep: fc.Arbitrary<ListStep> = record({
  fullState: fc.boolean(),
  delta: fc.constantFrom(1, 1, 1, 1, 0, 2),
  resources: fc.uniqueArray(
    record({
      uri: fc.constantFrom(...MEMBERS),
      instances: fc.uniqueArray(
        fc
          .record(
            {
              id: fc.constantFrom('i1', 'i2'),
              state: fc.constantFrom(...RLMI_INSTANCE_STATES),
              reason: fc.option(fc.constantFrom('rejected', 'timeout', 'noresource'), { nil: undefined }),
              basic: fc.option(fc.constantFrom('open' as const, 'closed' as const), { nil: undefined }),
            },
            { noNullPrototype: true },
          )
          .map((i) => {
            const out: ListStep['resources'][number]['instances'][number] = { id: i.id, state: i.state };
            if (i.reason !== undefined) out.reason = i.reason;
            if (i.basic !== undefined) out.basic = i.basic;
            return out;
          }),
        { maxLength: 2, selector: (i) => i.id },
      ),
    }),
    { maxLength: 3, selector: (r) => r.uri },
  ),
});

function pidf(uri: string, basic: string): string {
  return `<?xml version="1.0"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${uri}"><tuple id="t"><status><basic>${basic}</basic></status></tuple></presence>`;
}

function listBody(step: ListStep, version: number, random: SeededRandom): { contentType: string; body: Uint8Array } {
  const parts: { contentType: string; contentId: string; body: string }[] = [];
  const built = buildRlmiBody({
    random,
    list: {
      uri: LIST,
      version,
      fullState: step.fullState,
      resources: step.resources.map((resource) => ({
        uri: resource.uri,
        instances: resource.instances.map((instance) => {
          const base = { id: instance.id, state: instance.state, ...(instance.reason !== undefined ? { reason: instance.reason } : {}) };
          if (instance.basic === undefined) return base;
          const cid = `${parts.length}.${instance.id}@example.com`;
          parts.push({ contentType: 'application/pidf+xml', contentId: cid, body: pidf(resource.uri, instance.basic) });
          return { ...base, cid };
        }),
      })),
    },
    parts,
  });
  return { contentType: built.contentType, body: built.body };
}

/** What a subscriber keeps of a member message: its state and the basic status it shows. */
function shown(update: StatusUpdate): string {
  const basic = (update.document as PresenceDocument | undefined)?.tuples[0]?.basic;
  return `${update.state}${update.reason !== undefined ? `/${update.reason}` : ''} ${basic ?? '-'}${update.error !== undefined ? ` ${update.error.code}` : ''}`;
}

test('property: the resource list reader gives one message per member that changed, each naming its list; replaying them gives current()', () => {
  const ACTIVE: StatusUpdate = { state: 'active', expires: 600 };
  fc.assert(
    fc.property(fc.array(listStep, { minLength: 1, maxLength: 10 }), fc.nat(), (steps, seed) => {
      const random = new SeededRandom(seed);
      const reader = new ResourceListReader(PRESENCE_EVENT_PACKAGE);
      const subscriber = new Map<string, string>();
      let version = 0;
      let last: ListStep | undefined;
      for (const step of steps) {
        version += step.delta;
        const { contentType, body } = listBody(step, version, random);
        const { updates } = reader.read({ ...ACTIVE }, contentType, body);
        const records = updates.flatMap((u) => (u.record !== undefined ? [u.record] : []));
        assert.equal(new Set(records).size, records.length, `one message per member: ${records.join(', ')}`);
        for (const update of updates) {
          if (update.record === undefined) {
            // The list itself: an error (a version out of order) or its own state, never a member's.
            assert.equal(update.list, undefined);
            continue;
          }
          assert.equal(update.list, LIST, 'a member message names its list');
          assert.ok(MEMBERS.includes(update.record));
          assert.equal(update.error, undefined, 'the members’ documents are good PIDF');
          if (update.state === 'terminated' || update.state === 'rejected') subscriber.delete(update.record);
          else subscriber.set(update.record, shown(update));
        }
        const current = new Map(reader.current().map((u) => [u.record!, shown(u)]));
        assert.deepEqual(new Map([...subscriber].sort()), new Map([...current].sort()), 'the messages replayed = what a subscriber joining now is told');
        last = step;
      }
      // The last full state again, one version on, without terminated instances: nothing changed, no message.
      if (last !== undefined) {
        const again: ListStep = {
          ...last,
          fullState: true,
          resources: last.resources.map((r) => ({ ...r, instances: r.instances.filter((i) => i.state !== 'terminated') })),
        };
        const send = (): StatusUpdate[] => {
          const { contentType, body } = listBody(again, ++version, random);
          return reader.read({ ...ACTIVE }, contentType, body).updates;
        };
        const first = { updates: send() };
        const second = { updates: send() };
        assert.ok(first.updates.every((u) => u.record === undefined || u.list === LIST));
        assert.deepEqual(second.updates, [], 'the same full state twice: no message the second time');
      }
    }),
    { numRuns: 200, seed: 33 },
  );
});
