import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  buildRlmi,
  buildRlmiBody,
  fuzzResourceList,
  fuzzRlmi,
  parseRlmi,
  RLMI_INSTANCE_STATES,
  type RlmiDocument,
  type RlmiInstanceState,
  readResourceListBody,
  ResourceListView,
} from '../../../src/rlmi/index.js';
import { SeededRandom } from '../../../src/util/random.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';
import { arbitraryMutation, mutate, xmlSafeText } from '../../support/xml-arbitraries.js';

const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) => fc.record(model, { noNullPrototype: true });
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

function pruned<T>(value: T): T {
  if (Array.isArray(value)) return value.map(pruned) as T;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = pruned(v);
  return out as T;
}

const name = record({ text: xmlSafeText(), lang: optional(fc.constantFrom('en', 'de-AT')) });
const documentArbitrary: fc.Arbitrary<RlmiDocument> = record({
  uri: xmlSafeText(),
  version: fc.integer({ min: 0, max: 0xffffffff }),
  fullState: fc.boolean(),
  names: fc.array(name, { maxLength: 2 }),
  resources: fc.uniqueArray(
    record({
      uri: xmlSafeText(),
      names: fc.array(name, { maxLength: 2 }),
      instances: fc.array(
        record({
          id: xmlSafeText(),
          state: fc.constantFrom(...RLMI_INSTANCE_STATES),
          reason: optional(xmlSafeText()),
          cid: optional(xmlSafeText()),
        }),
        { maxLength: 3 },
      ),
    }),
    { maxLength: 4, selector: (r) => r.uri },
  ),
  warnings: fc.constant([] as string[]),
}).map(pruned);

test('property: buildRlmi writes what parseRlmi reads', () => {
  fc.assert(
    fc.property(documentArbitrary, (document) => {
      assert.deepEqual(parseRlmi(buildRlmi(document)), document);
    }),
    { numRuns: 300, seed: 41 },
  );
});

/** One step of a generated subscription: which resources, which instance states, which member documents. */
interface Step {
  fullState: boolean;
  delta: number;
  resources: { uri: string; instances: { id: string; state: RlmiInstanceState; reason?: string; document?: string }[] }[];
}

const stepArbitrary: fc.Arbitrary<Step> = record({
  fullState: fc.boolean(),
  delta: fc.constantFrom(1, 1, 1, 1, 0, 2, -1),
  resources: fc.uniqueArray(
    record({
      uri: fc.constantFrom('sip:a@x', 'sip:b@x', 'sip:c@x'),
      instances: fc.uniqueArray(
        record({
          id: fc.constantFrom('i1', 'i2'),
          state: fc.constantFrom(...RLMI_INSTANCE_STATES),
          reason: optional(fc.constantFrom('rejected', 'timeout')),
          document: optional(fc.constantFrom('open', 'closed', 'busy')),
        }).map(pruned),
        { maxLength: 2, selector: (i) => i.id },
      ),
    }),
    { maxLength: 3, selector: (r) => r.uri },
  ),
});

type ModelInstance = { state: string; reason?: string; document?: string };
type Model = Map<string, Map<string, ModelInstance>>;

test('property: whole bodies read back; the view follows RFC 4662 and its updates replay each step', () => {
  fc.assert(
    fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 10 }), fc.nat(), (steps, seed) => {
      const random = new SeededRandom(seed);
      const view = new ResourceListView();
      let model: Model = new Map();
      let version = 0;
      let held: number | undefined;
      let awaitingFull = true;
      for (const step of steps) {
        version = Math.max(0, version + step.delta);
        const parts: { contentType: string; contentId: string; body: string }[] = [];
        const built = buildRlmiBody({
          random,
          list: {
            uri: 'sip:list@x',
            version,
            fullState: step.fullState,
            resources: step.resources.map((resource) => ({
              uri: resource.uri,
              instances: resource.instances.map((instance) => {
                if (instance.document === undefined) return { id: instance.id, state: instance.state, ...(instance.reason ? { reason: instance.reason } : {}) };
                const cid = `${resource.uri}.${instance.id}.${parts.length}@x`;
                parts.push({ contentType: 'text/plain', contentId: cid, body: instance.document });
                return { id: instance.id, state: instance.state, cid, ...(instance.reason ? { reason: instance.reason } : {}) };
              }),
            })),
          },
          parts,
        });

        // The body reads back: every instance with a document has it.
        const read = readResourceListBody(built.contentType, built.body);
        for (const [r, resource] of read.document.resources.entries()) {
          for (const [i, instance] of resource.instances.entries()) {
            const document = step.resources[r]!.instances[i]!.document;
            assert.equal(document === undefined ? undefined : Buffer.from(read.contents.get(instance)!.body).toString(), document);
          }
        }

        const before = view.snapshot();
        const result = view.apply(built.contentType, built.body);
        const expectApplied: boolean = step.fullState
          ? awaitingFull || held === undefined || version >= held
          : !awaitingFull && version === held! + 1;
        assert.equal(result.applied, expectApplied);
        assert.equal(result.resync, !step.fullState && !expectApplied);
        if (!expectApplied) {
          if (result.resync) awaitingFull = true;
          assert.deepEqual(view.snapshot(), before);
          assert.deepEqual(result.updates, []);
          continue;
        }
        held = version;
        if (step.fullState) awaitingFull = false;
        // The model: RFC 4662 restated (full state replaces, partial merges instances by id;
        // a document without a part keeps the last one; terminated instances leave).
        const next: Model = step.fullState ? new Map() : new Map([...model].map(([uri, instances]) => [uri, new Map(instances)]));
        for (const resource of step.resources) {
          const old = model.get(resource.uri) ?? new Map<string, ModelInstance>();
          const instances = step.fullState ? new Map<string, ModelInstance>() : new Map(next.get(resource.uri) ?? []);
          for (const instance of resource.instances) {
            const document = instance.document ?? old.get(instance.id)?.document;
            if (instance.state === 'terminated') instances.delete(instance.id);
            else instances.set(instance.id, pruned({ state: instance.state, reason: instance.reason, document }));
          }
          next.set(resource.uri, instances);
        }
        model = next;
        const snapshot = view.snapshot();
        const seen = new Map(
          snapshot.resources.map((r) => [
            r.uri,
            new Map(r.instances.map((i) => [i.id, pruned({ state: i.state, reason: i.reason, document: i.body ? Buffer.from(i.body).toString() : undefined })])),
          ]),
        );
        assert.deepEqual(seen, model);

        // Replaying the updates on the previous view gives the new one (terminated instances dropped).
        const replay = new Map(before.resources.map((r) => [r.uri, r]));
        for (const update of result.updates) {
          if (update.change === 'removed') assert.ok(replay.delete(update.uri));
          else {
            assert.equal(replay.has(update.uri), update.change === 'updated');
            replay.set(update.uri, { ...update, instances: update.instances.filter((i) => i.state !== 'terminated') });
          }
        }
        assert.deepEqual(
          [...replay.values()].map((r) => [r.uri, r.instances]).sort(),
          snapshot.resources.map((r) => [r.uri, r.instances]).sort(),
        );
      }
    }),
    { numRuns: 300, seed: 42 },
  );
});

test('property: mutated Kamailio bodies and random input never throw anything but the coded errors', () => {
  const inputs = [1, 2, 3, 5].map((n) =>
    Buffer.concat([
      Buffer.from(fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim() + '\n', 'latin1'),
      fixtureFile('rlmi', `kamailio-notify-${n}.multipart`),
    ]),
  );
  fc.assert(
    fc.property(fc.constantFrom(...inputs), arbitraryMutation(), (input, mutation) => fuzzResourceList(mutate(input, mutation))),
    { numRuns: 2000, seed: 43 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => fuzzResourceList(bytes)), { numRuns: 300, seed: 44 });
  const roots = inputs.map((input) => {
    const text = input.toString('latin1');
    return Buffer.from(text.slice(text.indexOf('<?xml'), text.indexOf('</list>') + 7), 'latin1');
  });
  fc.assert(fc.property(fc.constantFrom(...roots), arbitraryMutation(), (root, mutation) => fuzzRlmi(mutate(root, mutation))), {
    numRuns: 1000,
    seed: 45,
  });
});
