/**
 * `presence-b2b publish` twice for the same record replaces the first
 * publication (RFC 3903 §4.4, the entity-tag kept in the CLI's state file)
 * instead of leaving two beside each other at the daemon's local agent; a tag
 * the server forgot (412) gives a new publication; --no-state keeps the old
 * behaviour. What the agent holds is read through an API subscription to the
 * presentity: one tuple per publication in its composed document.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { publicationKey } from '../../src/cli/publication-state.js';
import { api, DaemonProcess, runCli, testConfig } from './support/daemon-process.js';
import { until } from './support/sse-stream.js';

interface Tuple {
  basic?: string;
  notes: Array<{ text: string }>;
}
interface SubscriptionJson {
  id: string;
  lastStatus?: { sequence: number; presence?: { tuples: Tuple[] } };
}

let daemon: DaemonProcess;
let proxy: string;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pb2b-publish-'));
  daemon = await DaemonProcess.start(testConfig({ store: { type: 'memory' }, local_agent: { enabled: true, domains: ['localhost'] } }));
  const sip = daemon.sipAddress('udp');
  proxy = `sip:${sip.host}:${sip.port}`;
});
after(() => {
  daemon?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function publish(record: string, basic: 'open' | 'closed', extra: string[]): Promise<{ etag: string; stdout: string }> {
  const result = await runCli(['publish', record, basic, '--proxy', proxy, ...extra], { timeoutMs: 10_000 });
  assert.equal(result.code, 0, `publish ${basic}: ${result.stdout}${result.stderr}`);
  const etag = /etag=(\S+)/.exec(result.stdout)?.[1];
  assert.ok(etag !== undefined, result.stdout);
  return { etag, stdout: result.stdout };
}

/** The tuples of `record` at the agent, once the subscription has seen `expected` of them. */
async function tuplesOf(record: string, expected: (tuples: Tuple[]) => boolean): Promise<Tuple[]> {
  const created = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record, subscriber: 'sip:watcher@localhost' });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const id = (created.json as SubscriptionJson).id;
  try {
    return await until(`the composed document of ${record}`, async () => {
      const tuples = ((await api(daemon.httpBase, 'GET', `/v1/subscriptions/${id}`)).json as SubscriptionJson).lastStatus?.presence?.tuples;
      return tuples !== undefined && expected(tuples) ? tuples : undefined;
    });
  } finally {
    await api(daemon.httpBase, 'DELETE', `/v1/subscriptions/${id}`);
  }
}

test('the second publish of a record replaces the first: one publication, the newer state, the old tag named', async () => {
  const state = join(dir, 'replace.json');
  const first = await publish('sip:alice@localhost', 'open', ['--note', 'at my desk', '--state-file', state]);
  const second = await publish('sip:alice@localhost', 'closed', ['--state-file', state]);
  assert.match(second.stdout, new RegExp(`replaced=${first.etag}\\b`), 'the second run modified the first publication (SIP-If-Match)');
  const tuples = await tuplesOf('sip:alice@localhost', (t) => t.length >= 1 && t[0]?.basic === 'closed');
  assert.deepEqual(
    tuples.map((t) => [t.basic, t.notes.map((n) => n.text)]),
    [['closed', []]],
    'alice is closed, and nothing else: not open and closed at once',
  );
  // The file holds the newest tag, under record, publisher and target.
  const stored = JSON.parse(readFileSync(state, 'utf8')) as { publications: Record<string, { etag: string; expiresAt: number }> };
  assert.equal(stored.publications[publicationKey('sip:alice@localhost', 'sip:alice@localhost', proxy)]?.etag, second.etag);
});

test('a tag the server no longer knows (412) gives a new publication, remembered in its place', async () => {
  const state = join(dir, 'stale.json');
  const key = publicationKey('sip:carol@localhost', 'sip:carol@localhost', proxy);
  writeFileSync(state, JSON.stringify({ publications: { [key]: { etag: 'forgotten-by-the-server', expiresAt: Date.now() + 3_600_000 } } }));
  const run = await publish('sip:carol@localhost', 'open', ['--state-file', state]);
  assert.doesNotMatch(run.stdout, /replaced=/);
  const stored = JSON.parse(readFileSync(state, 'utf8')) as { publications: Record<string, { etag: string }> };
  assert.equal(stored.publications[key]?.etag, run.etag);
  const tuples = await tuplesOf('sip:carol@localhost', (t) => t.length >= 1);
  assert.deepEqual(tuples.map((t) => t.basic), ['open']);
});

test('--no-state: each publish is a publication of its own, and no file is written', async () => {
  const state = join(dir, 'unused.json');
  await publish('sip:dave@localhost', 'open', ['--no-state', '--state-file', state]);
  await publish('sip:dave@localhost', 'closed', ['--no-state', '--state-file', state]);
  const tuples = await tuplesOf('sip:dave@localhost', (t) => t.length >= 2);
  assert.deepEqual(tuples.map((t) => t.basic).sort(), ['closed', 'open']);
  assert.equal(existsSync(state), false);
});

test('an unreadable state file does not stop a publish', async () => {
  const state = join(dir, 'garbage.json');
  writeFileSync(state, '{not json');
  const run = await publish('sip:erin@localhost', 'open', ['--state-file', state]);
  assert.doesNotMatch(run.stdout, /replaced=/);
  assert.ok(readFileSync(state, 'utf8').includes(run.etag), 'rewritten with the new tag');
});
