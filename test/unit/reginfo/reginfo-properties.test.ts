import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  fuzzReginfo,
  parseReginfo,
  REG_CONTACT_EVENTS,
  type RegInfoContact,
  type RegInfoDocument,
  RegInfoError,
  type RegInfoRegistration,
  type RegInfoSnapshot,
  RegInfoView,
} from '../../../src/reginfo/index.js';
import { fixtureFile } from '../../support/fixture-files.js';
import { arbitraryMutation, mutate, xmlSafeText } from '../../support/xml-arbitraries.js';
import { writeReginfo } from './reginfo-writer.js';

const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

function contactArbitrary(id: fc.Arbitrary<string>): fc.Arbitrary<RegInfoContact> {
  return fc
    .record({
      id,
      uri: xmlSafeText(),
      state: fc.constantFrom('active' as const, 'terminated' as const),
      event: fc.constantFrom(...REG_CONTACT_EVENTS),
      expires: optional(fc.nat()),
      q: optional(fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000)),
      retryAfter: optional(fc.nat()),
      durationRegistered: optional(fc.nat()),
      callId: optional(xmlSafeText()),
      cseq: optional(fc.nat()),
      displayName: optional(fc.record({ text: xmlSafeText(), lang: optional(fc.constantFrom('en', 'fr-CA', 'x-klingon')) }, { noNullPrototype: true })),
      unknownParams: fc.array(fc.record({ name: xmlSafeText(), value: xmlSafeText() }, { noNullPrototype: true }), { maxLength: 2 }),
    })
    .map((contact) => {
      // Optional fields are absent, not undefined, in what the parser returns.
      const out = { ...contact } as Record<string, unknown>;
      for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
      const displayName = out.displayName as { text: string; lang?: string } | undefined;
      if (displayName !== undefined && displayName.lang === undefined) delete displayName.lang;
      return out as unknown as RegInfoContact;
    });
}

/** Documents whose ids come from small pools, so that successive documents talk about the same things. */
function documentArbitrary(textIds: boolean): fc.Arbitrary<RegInfoDocument> {
  const registrationId = textIds ? xmlSafeText() : fc.constantFrom('r1', 'r2', 'r3');
  const contactId = textIds ? xmlSafeText() : fc.constantFrom('c1', 'c2', 'c3', 'c4');
  const registration: fc.Arbitrary<RegInfoRegistration> = fc.record({
    aor: xmlSafeText(),
    id: registrationId,
    state: fc.constantFrom('init' as const, 'active' as const, 'terminated' as const),
    contacts: fc.uniqueArray(contactArbitrary(contactId), { maxLength: 3, selector: (c) => c.id }),
  }, { noNullPrototype: true });
  return fc.record({
    version: fc.nat(),
    state: fc.constantFrom('full' as const, 'partial' as const),
    registrations: fc.uniqueArray(registration, { maxLength: 3, selector: (r) => r.id }),
    warnings: fc.constant([] as string[]),
  }, { noNullPrototype: true });
}

test('property: a written document reads back the same, whatever the prefix', () => {
  fc.assert(
    fc.property(documentArbitrary(true), fc.constantFrom('', 'r', 'reg'), (document, prefix) => {
      assert.deepEqual(parseReginfo(writeReginfo(document, prefix)), document);
      assert.deepEqual(parseReginfo(Buffer.from(writeReginfo(document, prefix))), document);
    }),
    { numRuns: 300, seed: 11 },
  );
});

test('property: mutated Kamailio documents and random bytes never throw anything but RegInfoError', () => {
  const fixtures = [
    'kamailio-1-created.xml',
    'kamailio-3-second-contact.xml',
    'kamailio-4-unregistered.xml',
    'kamailio-5-expired.xml',
  ].map((name) => fixtureFile('reginfo', name));
  fc.assert(
    fc.property(fc.constantFrom(...fixtures), arbitraryMutation(), (fixture, mutation) => {
      fuzzReginfo(mutate(fixture, mutation));
    }),
    { numRuns: 1000, seed: 12 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => fuzzReginfo(bytes)), { numRuns: 300, seed: 13 });
});

test('property: the fuzz entry lets only RegInfoError out of the parser', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
      try {
        parseReginfo(text);
      } catch (error) {
        assert.ok(error instanceof RegInfoError);
      }
    }),
    { numRuns: 300, seed: 14 },
  );
});

/** JSON with sorted keys: the parser and the generator do not build objects in the same key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

type ModelState = Map<string, { aor: string; state: string; contacts: Map<string, RegInfoContact> }>;

/** RFC 3680 §5.2, written as plainly as possible. */
function applyToModel(model: ModelState, document: RegInfoDocument): ModelState {
  const next: ModelState = document.state === 'full' ? new Map() : new Map([...model].map(([id, r]) => [id, { ...r, contacts: new Map(r.contacts) }]));
  for (const registration of document.registrations) {
    const entry = next.get(registration.id) ?? { aor: registration.aor, state: registration.state, contacts: new Map() };
    entry.aor = registration.aor;
    entry.state = registration.state;
    for (const contact of registration.contacts) {
      if (contact.state === 'terminated') entry.contacts.delete(contact.id);
      else entry.contacts.set(contact.id, contact);
    }
    next.set(registration.id, entry);
  }
  return next;
}

function modelView(model: ModelState): string[] {
  return [...model].map(([id, r]) => `${id}|${r.aor}|${r.state}|${[...r.contacts.values()].map((c) => canonical(c)).join(';')}`);
}

function snapshotView(snapshot: RegInfoSnapshot): string[] {
  return snapshot.registrations.map(
    (r) => `${r.id}|${r.aor}|${r.state}|${r.contacts.map((c) => canonical(c)).join(';')}`,
  );
}

function contactKeys(snapshot: RegInfoSnapshot): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of snapshot.registrations) for (const c of r.contacts) out.set(`${r.id}/${c.id}`, canonical(c));
  return out;
}

test('property: the view follows RFC 3680 §5.2 and its changes replay the step from one view to the next', () => {
  // Versions mostly in sequence, sometimes repeated, skipped or going back.
  const step = fc.record({ document: documentArbitrary(false), delta: fc.constantFrom(1, 1, 1, 1, 0, 2, -1) }, { noNullPrototype: true });
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), (steps) => {
      const view = new RegInfoView();
      let model: ModelState = new Map();
      let version = 0;
      // The expected ordering (see VersionOrder), restated.
      let held: number | undefined;
      let awaitingFull = true;
      for (const { document, delta } of steps) {
        version = Math.max(0, version + delta);
        const sent = { ...document, version };
        const before = view.snapshot();
        const result = view.apply(writeReginfo(sent));
        const full = sent.state === 'full';
        const expectApplied: boolean = full ? awaitingFull || held === undefined || version >= held : !awaitingFull && version === held! + 1;
        assert.equal(result.applied, expectApplied);
        assert.equal(result.resync, !full && !expectApplied);
        if (result.applied) {
          model = applyToModel(model, sent);
          held = version;
          if (full) awaitingFull = false;
        } else {
          if (result.resync) awaitingFull = true;
          assert.equal(result.error?.code, 'REGINFO_ERR_VERSION');
          assert.deepEqual(result.view, before);
        }
        assert.deepEqual(snapshotView(result.view), modelView(model));

        // Replay the reported contact changes on the previous view.
        const replay = contactKeys(before);
        for (const change of result.changes.contacts.removed) {
          assert.ok(replay.delete(`${change.registrationId}/${change.contact.id}`), 'removed contacts were there');
          assert.equal(change.contact.state, 'terminated');
        }
        for (const change of result.changes.contacts.updated) {
          const key = `${change.registrationId}/${change.contact.id}`;
          assert.ok(replay.has(key), 'updated contacts were there');
          replay.set(key, canonical(change.contact));
        }
        for (const change of result.changes.contacts.added) {
          const key = `${change.registrationId}/${change.contact.id}`;
          assert.ok(!replay.has(key), 'added contacts were not there');
          replay.set(key, canonical(change.contact));
        }
        assert.deepEqual(new Map([...replay].sort()), new Map([...contactKeys(result.view)].sort()));
        const ids = (s: RegInfoSnapshot) => s.registrations.map((r) => r.id).sort();
        const replayIds = new Set(ids(before));
        for (const r of result.changes.registrations.removed) replayIds.delete(r.id);
        for (const r of result.changes.registrations.added) replayIds.add(r.id);
        assert.deepEqual([...replayIds].sort(), ids(result.view));
      }
    }),
    { numRuns: 300, seed: 15 },
  );
});
