import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalAgentError } from '../../../src/agent/agent-error.js';
import { agentHarness, bodyText, PIDF_CLOSED, PIDF_OPEN, pidf } from './agent-harness.js';

const PUBLISH_HEADERS: Array<readonly [string, string]> = [['Event', 'presence'], ['Expires', '600']];

test('initial PUBLISH: 200 with a SIP-ETag and the granted Expires; the presentity holds the document', () => {
  const { send, agent } = agentHarness();
  const response = send('PUBLISH', { headers: PUBLISH_HEADERS, body: PIDF_OPEN });
  assert.equal(response.status, 200);
  const etag = response.headers.get('sip-etag');
  assert.ok(etag !== undefined && etag.length >= 8);
  assert.equal(response.headers.get('expires'), '600');
  const [summary] = agent.presentities();
  assert.deepEqual(summary, {
    uri: 'sip:alice@example.com',
    publications: 1,
    basic: 'open',
    tuples: [{ id: 't1', basic: 'open', note: 'at my desk' }],
    watchers: 0,
    internalWatchers: 0,
  });
});

test('Expires above maxPublishExpires is capped; no Expires gets the default 3600 capped too', () => {
  const { send } = agentHarness({ maxPublishExpires: 1800 });
  const capped = send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '7200']], body: PIDF_OPEN });
  assert.equal(capped.headers.get('expires'), '1800');
  const defaulted = send('PUBLISH', { uri: 'sip:bob@example.com', headers: [['Event', 'presence']], body: PIDF_OPEN });
  assert.equal(defaulted.headers.get('expires'), '1800');
});

test('lifecycle: modify with SIP-If-Match, refresh without body, remove with Expires 0 (RFC 3903 §4)', () => {
  const { send, agent } = agentHarness();
  const first = send('PUBLISH', { headers: PUBLISH_HEADERS, body: PIDF_OPEN });
  const etag1 = first.headers.get('sip-etag')!;

  const modify = send('PUBLISH', { headers: [...PUBLISH_HEADERS, ['SIP-If-Match', etag1]], body: PIDF_CLOSED });
  assert.equal(modify.status, 200);
  const etag2 = modify.headers.get('sip-etag')!;
  assert.notEqual(etag2, etag1);
  assert.equal(agent.presentities()[0]!.basic, 'closed');
  assert.equal(agent.presentities()[0]!.publications, 1);

  // The old entity-tag is gone.
  assert.equal(send('PUBLISH', { headers: [...PUBLISH_HEADERS, ['SIP-If-Match', etag1]] }).status, 412);

  const refresh = send('PUBLISH', { headers: [...PUBLISH_HEADERS, ['SIP-If-Match', etag2]] });
  assert.equal(refresh.status, 200);
  const etag3 = refresh.headers.get('sip-etag')!;
  assert.notEqual(etag3, etag2);
  assert.equal(agent.presentities()[0]!.basic, 'closed');

  const remove = send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '0'], ['SIP-If-Match', etag3]] });
  assert.equal(remove.status, 200);
  assert.equal(remove.headers.get('expires'), '0');
  assert.deepEqual(agent.presentities(), []);
  assert.equal(send('PUBLISH', { headers: [...PUBLISH_HEADERS, ['SIP-If-Match', etag3]] }).status, 412);
});

test('412 for an unknown entity-tag, also one of another presentity', () => {
  const { send } = agentHarness();
  assert.equal(send('PUBLISH', { headers: [...PUBLISH_HEADERS, ['SIP-If-Match', 'nosuchtag']], body: PIDF_OPEN }).status, 412);
  const etag = send('PUBLISH', { headers: PUBLISH_HEADERS, body: PIDF_OPEN }).headers.get('sip-etag')!;
  const other = send('PUBLISH', { uri: 'sip:bob@example.com', headers: [...PUBLISH_HEADERS, ['SIP-If-Match', etag]] });
  assert.equal(other.status, 412);
  assert.equal(other.reason, 'Conditional Request Failed');
});

test('rejections: 400 without body or SIP-If-Match, 489 wrong or missing Event, 423 with Min-Expires, 415, bad PIDF, 403 foreign domain', () => {
  const { send, agent } = agentHarness({ minExpires: 120 });
  const noBody = send('PUBLISH', { headers: PUBLISH_HEADERS });
  assert.equal(noBody.status, 400);

  const wrongEvent = send('PUBLISH', { headers: [['Event', 'dialog'], ['Expires', '600']], body: PIDF_OPEN });
  assert.equal(wrongEvent.status, 489);
  assert.equal(wrongEvent.headers.get('allow-events'), 'presence');
  assert.equal(send('PUBLISH', { headers: [['Expires', '600']], body: PIDF_OPEN }).status, 489);

  const brief = send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', '30']], body: PIDF_OPEN });
  assert.equal(brief.status, 423);
  assert.equal(brief.headers.get('min-expires'), '120');

  const media = send('PUBLISH', { headers: PUBLISH_HEADERS, body: 'hello', contentType: 'text/plain' });
  assert.equal(media.status, 415);
  assert.equal(media.headers.get('accept'), 'application/pidf+xml');

  assert.equal(send('PUBLISH', { headers: PUBLISH_HEADERS, body: '<not-pidf/>' }).status, 400);
  assert.equal(send('PUBLISH', { headers: PUBLISH_HEADERS, body: '<presence' }).status, 400);
  assert.equal(send('PUBLISH', { headers: [['Event', 'presence'], ['Expires', 'soon']], body: PIDF_OPEN }).status, 400);

  const foreign = send('PUBLISH', { uri: 'sip:carol@elsewhere.org', headers: PUBLISH_HEADERS, body: PIDF_OPEN });
  assert.equal(foreign.status, 403);
  assert.equal(foreign.reason, 'Forbidden - domain not served');
  assert.deepEqual(agent.presentities(), []);
  assert.equal(agent.stats.publishesRejected, 9);
});

test('the domain check is case-insensitive and sips URIs share the presentity of sip', () => {
  const { send, agent } = agentHarness();
  assert.equal(send('PUBLISH', { uri: 'sip:alice@EXAMPLE.com', headers: PUBLISH_HEADERS, body: PIDF_OPEN }).status, 200);
  assert.equal(send('PUBLISH', { uri: 'sips:alice@example.net', headers: PUBLISH_HEADERS, body: PIDF_OPEN }).status, 200);
  assert.deepEqual(
    agent.presentities().map((p) => p.uri),
    ['sip:alice@example.com', 'sip:alice@example.net'],
  );
  assert.equal(agent.isLocal('sip:x@Example.Com:5070;transport=tcp'), true);
  assert.equal(agent.isLocal('sip:x@example.org'), false);
  assert.equal(agent.isLocal('tel:+123'), false);
  assert.equal(agent.isLocal('not a uri'), false);
});

test('a publication expires on its timer: it is removed and watchers are told (NOTIFY without body)', async () => {
  const { send, agent, clock, subscribe, notifiesSince, answer, transport } = agentHarness();
  send('PUBLISH', { headers: PUBLISH_HEADERS, body: PIDF_OPEN });
  const { notify } = await subscribe({ headers: [['Expires', '3600']] });
  assert.match(bodyText(notify), /<basic>open<\/basic>/);
  await answer(notify);
  const mark = transport.sent.length;
  clock.advance(599_000);
  assert.equal(agent.presentities()[0]!.publications, 1);
  clock.advance(1_000);
  assert.equal(agent.presentities()[0]!.publications, 0);
  assert.equal(agent.stats.publicationsExpired, 1);
  const [expiredNotify] = await notifiesSince(mark);
  assert.ok(expiredNotify);
  assert.equal(expiredNotify.body.length, 0);
  assert.equal(expiredNotify.headers.has('content-type'), false);
  assert.match(expiredNotify.headers.get('subscription-state')!, /^active;expires=\d+$/);
});

test('a refresh moves the expiry: the old timer does not remove the publication', () => {
  const { send, agent, clock } = agentHarness();
  const etag = send('PUBLISH', { headers: PUBLISH_HEADERS, body: PIDF_OPEN }).headers.get('sip-etag')!;
  clock.advance(500_000);
  send('PUBLISH', { headers: [...PUBLISH_HEADERS, ['SIP-If-Match', etag]] });
  clock.advance(200_000);
  assert.equal(agent.presentities().length, 1);
  clock.advance(400_000);
  assert.equal(agent.presentities().length, 0);
});

test('several publications of one presentity are merged, one tuple each, the latest first', async () => {
  const { send, subscribe, agent } = agentHarness();
  send('PUBLISH', { headers: PUBLISH_HEADERS, body: pidf('sip:alice@example.com', 'pc', 'closed', 'pc') });
  send('PUBLISH', { headers: PUBLISH_HEADERS, body: pidf('sip:alice@example.com', 'phone', 'open', 'phone') });
  send('PUBLISH', { headers: PUBLISH_HEADERS, body: pidf('sip:alice@example.com', 'phone', 'open', 'second phone') });
  const summary = agent.presentities()[0]!;
  assert.equal(summary.publications, 3);
  assert.equal(summary.basic, 'open');
  assert.deepEqual(
    summary.tuples.map((t) => `${t.id}:${t.basic}:${t.note}`),
    ['phone:open:second phone', 'phone-2:open:phone', 'pc:closed:pc'],
  );
  const { notify } = await subscribe();
  const text = bodyText(notify);
  assert.match(text, /entity="sip:alice@example.com"/);
  assert.equal(text.match(/<tuple /g)?.length, 3);
});

test('in-process publish(): same effect as a PUBLISH from one fixed source, merged with SIP publications', async () => {
  const { agent, send, clock, subscribe, notifiesSince, answer, transport } = agentHarness();
  agent.publish('sip:alice@example.com', { basic: 'open', note: 'via API' });
  const { notify } = await subscribe();
  assert.match(bodyText(notify), /<basic>open<\/basic>/);
  assert.match(bodyText(notify), /<note>via API<\/note>/);
  await answer(notify);

  let mark = transport.sent.length;
  agent.publish('sip:alice@example.com', { basic: 'closed', expires: 60 });
  assert.equal(agent.presentities()[0]!.publications, 1);
  let [changed] = await notifiesSince(mark);
  assert.match(bodyText(changed!), /<basic>closed<\/basic>/);
  await answer(changed!);

  send('PUBLISH', { headers: PUBLISH_HEADERS, body: PIDF_OPEN });
  assert.equal(agent.presentities()[0]!.publications, 2);
  [changed] = await notifiesSince(mark + 1);
  await answer(changed!);

  mark = transport.sent.length;
  clock.advance(60_000);
  assert.equal(agent.presentities()[0]!.publications, 1);
  assert.equal((await notifiesSince(mark)).length, 1);

  assert.equal(agent.unpublish('sip:alice@example.com'), false);
  assert.throws(() => agent.publish('sip:alice@elsewhere.org', { basic: 'open' }), (e: unknown) => e instanceof LocalAgentError && e.code === 'AGENT_ERR_NOT_LOCAL');
  assert.throws(
    () => agent.publish('sip:alice@example.com', { basic: 'busy' as 'open' }),
    (e: unknown) => e instanceof LocalAgentError && e.code === 'AGENT_ERR_INVALID_ARGUMENT',
  );
  agent.publish('sip:bob@example.com', { basic: 'open' });
  assert.equal(agent.unpublish('sip:bob@example.com'), true);
  agent.publish('sip:bob@example.com', { basic: 'open' });
  agent.publish('sip:bob@example.com', { basic: 'open', expires: 0 });
  assert.deepEqual(
    agent.presentities().map((p) => p.uri),
    ['sip:alice@example.com'],
  );
});

test('the in-process publication cannot be addressed by SIP-If-Match', () => {
  const { agent, send } = agentHarness();
  agent.publish('sip:alice@example.com', { basic: 'open' });
  // Its entity-tag is not published anywhere, but even a guess must fail: try every SIP one (none).
  const response = send('PUBLISH', { headers: [...PUBLISH_HEADERS, ['SIP-If-Match', 'api']] });
  assert.equal(response.status, 412);
  assert.equal(agent.presentities()[0]!.publications, 1);
});
