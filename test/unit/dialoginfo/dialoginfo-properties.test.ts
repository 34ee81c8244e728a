import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DIALOG_STATE_EVENTS,
  DIALOG_STATES,
  type DialogInfoDialog,
  type DialogInfoDocument,
  DialogInfoError,
  DialogInfoView,
  type DialogParticipant,
  fuzzDialogInfo,
  parseDialogInfo,
} from '../../../src/dialoginfo/index.js';
import { fixtureFile } from '../../support/fixture-files.js';
import { arbitraryMutation, mutate, xmlSafeText } from '../../support/xml-arbitraries.js';
import { writeDialogInfo } from './dialoginfo-writer.js';

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });

/** Drops keys holding undefined, recursively: the parser leaves optional fields out. */
function pruned<T>(value: T): T {
  if (Array.isArray(value)) return value.map(pruned) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = pruned(v);
  return out as T;
}

const identity = record({ uri: xmlSafeText(), display: optional(xmlSafeText()) });
const participant: fc.Arbitrary<DialogParticipant> = record({
  identity: optional(identity),
  target: optional(record({ uri: xmlSafeText(), params: fc.array(record({ name: xmlSafeText(), value: xmlSafeText() }), { maxLength: 2 }) })),
  cseq: optional(fc.nat()),
});

function dialogArbitrary(id: fc.Arbitrary<string>): fc.Arbitrary<DialogInfoDialog> {
  return record({
    id,
    callId: optional(xmlSafeText()),
    localTag: optional(xmlSafeText()),
    remoteTag: optional(xmlSafeText()),
    direction: optional(fc.constantFrom('initiator' as const, 'recipient' as const)),
    state: fc.constantFrom(...DIALOG_STATES),
    event: optional(fc.constantFrom(...DIALOG_STATE_EVENTS)),
    code: optional(fc.integer({ min: 100, max: 699 })),
    duration: optional(fc.nat()),
    replaces: optional(record({ callId: xmlSafeText(), localTag: xmlSafeText(), remoteTag: xmlSafeText() })),
    referredBy: optional(identity),
    routeSet: fc.array(xmlSafeText(), { maxLength: 2 }),
    local: optional(participant),
    remote: optional(participant),
  }).map(pruned);
}

function documentArbitrary(id: fc.Arbitrary<string>): fc.Arbitrary<DialogInfoDocument> {
  return record({
    version: fc.nat(),
    state: fc.constantFrom('full' as const, 'partial' as const),
    entity: xmlSafeText(),
    dialogs: fc.uniqueArray(dialogArbitrary(id), { maxLength: 3, selector: (d) => d.id }),
    warnings: fc.constant([] as string[]),
  });
}

test('property: a written document reads back the same, whatever the prefix', () => {
  fc.assert(
    fc.property(documentArbitrary(xmlSafeText()), fc.constantFrom('', 'd', 'di'), (document, prefix) => {
      assert.deepEqual(parseDialogInfo(writeDialogInfo(document, prefix)), document);
    }),
    { numRuns: 300, seed: 21 },
  );
});

test('property: mutated Kamailio documents and random input never throw anything but DialogInfoError', () => {
  const fixtures = ['kamailio-1-trying.xml', 'kamailio-2-early.xml', 'kamailio-4-terminated.xml'].map((name) =>
    fixtureFile('dialoginfo', name),
  );
  fc.assert(
    fc.property(fc.constantFrom(...fixtures), arbitraryMutation(), (fixture, mutation) => fuzzDialogInfo(mutate(fixture, mutation))),
    { numRuns: 1000, seed: 22 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => fuzzDialogInfo(bytes)), { numRuns: 300, seed: 23 });
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
      try {
        parseDialogInfo(text);
      } catch (error) {
        assert.ok(error instanceof DialogInfoError);
      }
    }),
    { numRuns: 300, seed: 24 },
  );
});

test('property: the view holds the non-terminated dialogs RFC 4235 §4.1 says, and its changes replay each step', () => {
  const step = record({ document: documentArbitrary(fc.constantFrom('d1', 'd2', 'd3', 'd4')), delta: fc.constantFrom(1, 1, 1, 0, 2, -1) });
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
      const view = new DialogInfoView();
      let model = new Map<string, DialogInfoDialog>();
      let version = 0;
      for (const { document, delta } of steps) {
        version = Math.max(0, version + delta);
        const sent = { ...document, version };
        const before = view.snapshot();
        const result = view.apply(writeDialogInfo(sent));
        if (result.applied) {
          if (sent.state === 'full') model = new Map();
          for (const dialog of sent.dialogs) {
            if (dialog.state === 'terminated') model.delete(dialog.id);
            else model.set(dialog.id, dialog);
          }
        } else {
          assert.deepEqual(result.view, before);
          assert.equal(result.error?.code, 'DIALOGINFO_ERR_VERSION');
        }
        assert.deepEqual(
          result.view.dialogs.map((d) => d.id).sort(),
          [...model.keys()].sort(),
        );
        for (const dialog of result.view.dialogs) assert.deepEqual(dialog, model.get(dialog.id));
        const replay = new Map(before.dialogs.map((d) => [d.id, d]));
        for (const d of result.changes.removed) {
          assert.ok(replay.delete(d.id));
          assert.equal(d.state, 'terminated');
        }
        for (const d of result.changes.updated) {
          assert.ok(replay.has(d.id));
          replay.set(d.id, d);
        }
        for (const d of result.changes.added) {
          assert.ok(!replay.has(d.id));
          replay.set(d.id, d);
        }
        assert.deepEqual([...replay.keys()].sort(), result.view.dialogs.map((d) => d.id).sort());
      }
    }),
    { numRuns: 300, seed: 25 },
  );
});
