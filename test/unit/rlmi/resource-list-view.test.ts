import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildMultipartRelated } from '../../../src/multipart/index.js';
import { parsePidf } from '../../../src/presence/index.js';
import {
  buildRlmi,
  buildRlmiBody,
  type RlmiListInput,
  readResourceListBody,
  type ResourceListApplyResult,
  ResourceListView,
} from '../../../src/rlmi/index.js';
import { SeededRandom } from '../../../src/util/random.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';

function kamailio(n: number): [string, Buffer] {
  return [
    fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim(),
    fixtureFile('rlmi', `kamailio-notify-${n}.multipart`),
  ];
}

function summary(result: ResourceListApplyResult): string[] {
  return result.updates.map(
    (u) =>
      `${u.change} ${u.list} ${u.uri} [${u.instances
        .map((i) => `${i.id}:${i.state}${i.reason ? `/${i.reason}` : ''}${i.nestedList ? ` list=${i.nestedList}` : ''}${i.body ? ` ${Buffer.from(i.body).toString()}` : ''}`)
        .join(', ')}]`,
  );
}

function basicOf(body: Uint8Array | undefined): string | undefined {
  return body === undefined ? undefined : parsePidf(body).tuples[0]?.basic;
}

test('the Kamailio 5.6 RLS flow: resources first, their states in partial NOTIFYs, a refresh that changes nothing', () => {
  const view = new ResourceListView();
  const first = view.apply(...kamailio(1));
  assert.equal(first.applied, true);
  assert.equal(first.resync, false);
  assert.deepEqual(
    first.updates.map((u) => [u.change, u.list, u.uri, u.instances.length]),
    [
      ['added', 'sip:friends@example.com', 'sip:alice@example.com', 0],
      ['added', 'sip:friends@example.com', 'sip:carol@example.com', 0],
    ],
  );

  const second = view.apply(...kamailio(2));
  assert.equal(second.applied, true);
  assert.deepEqual(
    second.updates.map((u) => [u.change, u.uri, u.instances[0]!.state, u.instances[0]!.contentType, basicOf(u.instances[0]!.body)]),
    [
      ['updated', 'sip:alice@example.com', 'active', 'application/pidf+xml', 'open'],
      ['updated', 'sip:carol@example.com', 'active', 'application/pidf+xml', 'closed'],
    ],
  );
  const aliceBody = second.updates[0]!.instances[0]!.body!;
  assert.equal(aliceBody.buffer.byteLength, aliceBody.length, 'the member bytes are copied out of the packet');

  const third = view.apply(...kamailio(3));
  assert.deepEqual(third.updates.map((u) => [u.uri, basicOf(u.instances[0]!.body)]), [['sip:alice@example.com', 'closed']]);

  // The publication refresh: the same PIDF under a new Content-ID and boundary is no change.
  const fourth = view.apply(...kamailio(4));
  assert.equal(fourth.applied, true);
  assert.deepEqual(fourth.updates, []);

  const fifth = view.apply(...kamailio(5));
  assert.deepEqual(fifth.updates.map((u) => [u.uri, basicOf(u.instances[0]!.body)]), [['sip:alice@example.com', 'closed']]);
  assert.equal(parsePidf(fifth.updates[0]!.instances[0]!.body!).tuples[0]!.notes.length, 0, 'closed without note');

  const snapshot = view.snapshot();
  assert.equal(snapshot.uri, 'sip:friends@example.com');
  assert.equal(snapshot.version, 5);
  assert.deepEqual(
    snapshot.resources.map((r) => [r.list, r.uri, r.instances.map((i) => basicOf(i.body))]),
    [
      ['sip:friends@example.com', 'sip:alice@example.com', ['closed']],
      ['sip:friends@example.com', 'sip:carol@example.com', ['closed']],
    ],
  );
});

test('versions out of order: a gap asks for full state and nothing is applied', () => {
  const view = new ResourceListView();
  view.apply(...kamailio(1));
  const gap = view.apply(...kamailio(3));
  assert.equal(gap.applied, false);
  assert.equal(gap.resync, true);
  assert.equal(gap.error?.code, 'RLMI_ERR_VERSION');
  assert.equal(view.apply(...kamailio(2)).resync, true, 'waiting for full state, even in sequence');
  assert.deepEqual(view.snapshot().resources.map((r) => r.instances.length), [0, 0]);
  const fresh = new ResourceListView();
  const partialFirst = fresh.apply(...kamailio(2));
  assert.deepEqual([partialFirst.applied, partialFirst.resync, partialFirst.error?.code], [false, true, 'RLMI_ERR_VERSION']);
});

test('an empty body changes nothing and is no error', () => {
  for (const empty of [new Uint8Array(0), Buffer.from(' \r\n'), '', '\n']) {
    const result = new ResourceListView().apply('multipart/related;boundary=x', empty);
    assert.deepEqual(result, { applied: false, resync: false, warnings: [], updates: [] });
  }
});

test('bad bodies give coded errors, never a throw, and change nothing', () => {
  const [contentType, body] = kamailio(2);
  const text = body.toString('latin1');
  const cases: [string | undefined, string | Uint8Array, string][] = [
    [contentType.replace('boundary="mrZbhmDOy2iBZRIrGZYEI6WP"', 'boundary="other"'), body, 'MULTIPART_ERR_BOUNDARY'],
    [contentType.replace(/;boundary=.*/, ''), body, 'MULTIPART_ERR_BOUNDARY'],
    [contentType, body.subarray(0, body.length - 40), 'MULTIPART_ERR_BOUNDARY'],
    // carol's part is gone: the cid the RLMI names has no part
    [contentType, Buffer.from(text.slice(0, text.indexOf('--mrZbhmDOy2iBZRIrGZYEI6WP\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <1795755195.sip:carol')) + '--mrZbhmDOy2iBZRIrGZYEI6WP--\r\n', 'latin1'), 'RLMI_ERR_MISSING_PART'],
    [contentType, Buffer.from(text.replace('<?xml version="1.0"?>\n<list', '<?xml version="1.0"?>\n<!DOCTYPE list [<!ENTITY e "x">]><list'), 'latin1'), 'RLMI_ERR_DOCTYPE'],
    [contentType.replace('start="<1795755195.sip:friends@example.com.820205017>"', 'start="<nothing>"'), body, 'MULTIPART_ERR_START'],
    [contentType.replace('start="<1795755195.sip:friends@example.com.820205017>"', 'start="<1795755195.sip:alice@example.com.2125710023>"'), body, 'RLMI_ERR_NOT_RLMI'],
    ['application/pidf+xml', body, 'RLMI_ERR_CONTENT_TYPE'],
    [undefined, body, 'RLMI_ERR_CONTENT_TYPE'],
    ['multipart/related;;', body, 'RLMI_ERR_CONTENT_TYPE'],
    [contentType, Buffer.from(text.replace('version="2"', 'version="two"'), 'latin1'), 'RLMI_ERR_INVALID'],
    [contentType, Buffer.from(text.replace('Content-Transfer-Encoding: binary', 'Content-Transfer-Encoding: base64'), 'latin1'), 'MULTIPART_ERR_ENCODING'],
  ];
  const view = new ResourceListView();
  view.apply(...kamailio(1));
  for (const [type, bad, code] of cases) {
    const result = view.apply(type, bad);
    assert.equal(result.error?.code, code, `${code}: ${result.error?.message}`);
    assert.deepEqual([result.applied, result.resync, result.updates], [false, false, []]);
  }
  assert.equal(view.version, 1);
  assert.equal(view.apply(...kamailio(2)).applied, true, 'the view still works');
});

const random = () => new SeededRandom(9);

function pidf(entity: string, basic: 'open' | 'closed'): string {
  return `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}"><tuple id="t"><status><basic>${basic}</basic></status></tuple></presence>`;
}

/** A nested list part: its own multipart/related with an RLMI root. */
function nestedPart(contentId: string, list: RlmiListInput, members: Record<string, string>) {
  const built = buildRlmiBody({
    list,
    parts: Object.entries(members).map(([cid, body]) => ({ contentType: 'application/pidf+xml', contentId: cid, body })),
    random: random(),
  });
  return { contentType: built.contentType, contentId, body: built.body };
}

test('nested lists are flattened, each member with its own list, each list judged by its own version', () => {
  const view = new ResourceListView();
  const top = (version: number, fullState: boolean, inner: { version: number; fullState: boolean; c: 'open' | 'closed' }) =>
    buildRlmiBody({
      random: random(),
      list: {
        uri: 'sip:all@example.com',
        version,
        fullState,
        resources: [
          { uri: 'sip:a@example.com', instances: [{ id: 'ia', state: 'active', cid: 'a1' }] },
          { uri: 'sip:team@example.com', names: ['Team'], instances: [{ id: 'it', state: 'active', cid: 't1' }] },
        ],
      },
      parts: [
        { contentType: 'application/pidf+xml', contentId: 'a1', body: pidf('sip:a@example.com', 'open') },
        nestedPart(
          't1',
          {
            uri: 'sip:team@example.com',
            version: inner.version,
            fullState: inner.fullState,
            resources: [
              { uri: 'sip:b@example.com', instances: [{ id: 'ib', state: 'active', cid: 'b1' }] },
              { uri: 'sip:c@example.com', instances: [{ id: 'ic', state: 'pending' }] },
            ],
          },
          { b1: pidf('sip:b@example.com', inner.c) },
        ),
      ],
    });
  const first = top(0, true, { version: 0, fullState: true, c: 'open' });
  const r1 = view.apply(first.contentType, first.body);
  assert.deepEqual(
    r1.updates.map((u) => [u.change, u.list, u.uri, u.instances.map((i) => i.nestedList ?? i.state)]),
    [
      ['added', 'sip:all@example.com', 'sip:a@example.com', ['active']],
      ['added', 'sip:all@example.com', 'sip:team@example.com', ['sip:team@example.com']],
      ['added', 'sip:team@example.com', 'sip:b@example.com', ['active']],
      ['added', 'sip:team@example.com', 'sip:c@example.com', ['pending']],
    ],
  );
  assert.equal(view.snapshot().resources.length, 4);

  // The nested list changes b; the parent's own resources do not change.
  const second = top(1, false, { version: 1, fullState: false, c: 'closed' });
  const r2 = view.apply(second.contentType, second.body);
  assert.deepEqual(r2.updates.map((u) => [u.list, u.uri, basicOf(u.instances[0]!.body)]), [['sip:team@example.com', 'sip:b@example.com', 'closed']]);

  // A nested document with a version gap: the parent applies, the nested list waits for full state.
  const third = top(2, false, { version: 5, fullState: false, c: 'open' });
  const r3 = view.apply(third.contentType, third.body);
  assert.equal(r3.applied, true);
  assert.equal(r3.resync, true);
  assert.match(r3.warnings[0]!, /nested list "sip:team@example.com".*missed/);
  assert.deepEqual(r3.updates, []);
  assert.equal(view.awaitingFullState, true, 'the whole subscription needs full state');

  // Full state with the team list gone: its members go with it.
  const fourth = buildRlmiBody({
    random: random(),
    list: { uri: 'sip:all@example.com', version: 3, fullState: true, resources: [{ uri: 'sip:a@example.com', instances: [{ id: 'ia', state: 'active' }] }] },
    parts: [],
  });
  const r4 = view.apply(fourth.contentType, fourth.body);
  assert.deepEqual(summary(r4), [
    'removed sip:all@example.com sip:team@example.com []',
    'removed sip:team@example.com sip:b@example.com []',
    'removed sip:team@example.com sip:c@example.com []',
  ]);
  assert.deepEqual(view.snapshot().resources.map((r) => [r.uri, basicOf(r.instances[0]!.body)]), [['sip:a@example.com', 'open']], 'an instance without a part keeps its last document');
});

test('a terminated instance is reported once, with its reason, then leaves the view', () => {
  const view = new ResourceListView();
  const list = (version: number, fullState: boolean, state: 'active' | 'terminated', reason?: string) =>
    buildRlmiBody({
      random: random(),
      list: { uri: 'l', version, fullState, resources: [{ uri: 'r', instances: [{ id: 'i', state, ...(reason ? { reason } : {}) }] }] },
      parts: [],
    });
  const a = list(0, true, 'active');
  view.apply(a.contentType, a.body);
  const b = list(1, false, 'terminated', 'rejected');
  assert.deepEqual(summary(view.apply(b.contentType, b.body)), ['updated l r [i:terminated/rejected]']);
  assert.deepEqual(view.snapshot().resources.map((r) => r.instances.length), [0]);
  const c = list(2, false, 'terminated', 'rejected');
  assert.deepEqual(summary(view.apply(c.contentType, c.body)), ['updated l r [i:terminated/rejected]'], 'reported again only when notified again');
});

test('a bare application/rlmi+xml body, a stale full state, another list, reset()', () => {
  const view = new ResourceListView();
  const bare = (version: number, uri = 'sip:l@x') =>
    buildRlmi({ uri, version, fullState: true, resources: [{ uri: 'sip:r@x', instances: [{ id: 'i', state: 'pending' }] }] });
  assert.deepEqual(summary(view.apply('application/rlmi+xml', bare(4))), ['added sip:l@x sip:r@x [i:pending]']);
  const stale = view.apply('application/rlmi+xml', bare(3));
  assert.deepEqual([stale.applied, stale.resync, stale.error?.code], [false, false, 'RLMI_ERR_VERSION']);
  const missing = view.apply(
    'application/rlmi+xml',
    buildRlmi({ uri: 'sip:l@x', version: 5, fullState: true, resources: [{ uri: 'r', instances: [{ id: 'i', state: 'active', cid: 'c' }] }] }),
  );
  assert.equal(missing.error?.code, 'RLMI_ERR_MISSING_PART');
  const other = view.apply('application/rlmi+xml', bare(5, 'sip:other@x'));
  assert.deepEqual(summary(other), ['removed sip:l@x sip:r@x []', 'added sip:other@x sip:r@x [i:pending]']);
  view.reset();
  assert.deepEqual(view.snapshot(), { uri: undefined, version: undefined, names: [], resources: [] });
});

test('readResourceListBody gives each instance its part; buildRlmiBody refuses a cid without a part', () => {
  const read = readResourceListBody(...kamailio(2));
  const [alice] = read.document.resources;
  const content = read.contents.get(alice!.instances[0]!);
  assert.equal(content?.contentType, 'application/pidf+xml');
  assert.equal(basicOf(content?.body), 'open');
  assert.throws(
    () =>
      buildRlmiBody({
        list: { uri: 'l', version: 0, fullState: true, resources: [{ uri: 'r', instances: [{ id: 'i', state: 'active', cid: 'x' }] }] },
        parts: [],
      }),
    { code: 'RLMI_ERR_ARGUMENT' },
  );
  assert.throws(
    () =>
      buildRlmiBody({
        list: { uri: 'l', version: 0, fullState: true, resources: [] },
        parts: [{ contentType: 'a/b', contentId: 'bad id', body: 'x' }],
      }),
    { code: 'RLMI_ERR_ARGUMENT' },
  );
  // A multipart/related member that is not a list is the member's document, not a nested list.
  const notAList = buildMultipartRelated({ type: 'application/pidf+xml', boundary: 'in', parts: [{ contentType: 'application/pidf+xml', body: pidf('sip:z@x', 'open') }] });
  const body = buildRlmiBody({
    random: random(),
    list: { uri: 'l', version: 0, fullState: true, resources: [{ uri: 'z', instances: [{ id: 'i', state: 'active', cid: 'z1' }] }] },
    parts: [{ contentType: notAList.contentType, contentId: 'z1', body: notAList.body }],
  });
  const result = new ResourceListView().apply(body.contentType, body.body);
  assert.equal(result.updates[0]!.instances[0]!.nestedList, undefined);
  assert.match(result.updates[0]!.instances[0]!.contentType!, /^multipart\/related/);
});
