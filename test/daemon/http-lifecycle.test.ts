import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ScriptedSipPeer } from '../support/scripted-peer.js';
import { api, cleanEnv, DaemonProcess, parsePrometheusText, runCli, testConfig } from './support/daemon-process.js';
import { SseStream, until } from './support/sse-stream.js';

interface SubscriptionJson {
  id: string;
  queue: string;
  state: string;
  dialog?: { state: string; expiresIn?: number };
  lastStatus?: { state: string; presence?: { tuples: Array<{ basic?: string }> } };
}

function pidf(entity: string, basic: 'open' | 'closed', note: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}"><tuple id="t1"><status><basic>${basic}</basic></status><note>${note}</note></tuple></presence>\n`;
}

describe('daemon HTTP API against a scripted presence server', () => {
  let peer: ScriptedSipPeer;
  let daemon: DaemonProcess;
  const streams: SseStream[] = [];

  before(async () => {
    peer = await ScriptedSipPeer.start({ transport: 'udp' });
    // default_expiration comes from the environment: the SUBSCRIBE must carry it.
    daemon = await DaemonProcess.start(testConfig({ local_agent: { enabled: true, domains: ['localhost'] }, helper_threads_nice: 19, helper_threads_nice_after_s: 0,
      // The test reads the threads of the pid it started: no relaunch (a one-core machine would make single_threaded_gc: auto relaunch).
      single_threaded_gc: false }), {
      env: cleanEnv({ PRESENCE_B2B_DEFAULT_EXPIRATION: '600' }),
    });
  });
  after(async () => {
    for (const s of streams) s.close();
    daemon?.kill();
    await peer?.close();
  });

  test('POST → SUBSCRIBE → GET shows the dialog → SSE delivers statuses → resume → DELETE unsubscribes', async () => {
    const record = `sip:alice@127.0.0.1:${peer.address.port}`;
    const created = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record, subscriber: 'sip:bob@example.com', queue: 'q1' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const sub = created.json as SubscriptionJson;
    assert.equal(sub.queue, 'q1');

    const subscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 10_000 });
    assert.equal(subscribe.message.headers.get('Expires'), '600', 'PRESENCE_B2B_DEFAULT_EXPIRATION=600 applies');
    await peer.reply(subscribe, 200, { toTag: 'srv1', headers: [['Expires', '600'], ['Contact', `<${peer.uri('alice')}>`]] });

    const active = await until('the dialog to be active', async () => {
      const got = await api(daemon.httpBase, 'GET', `/v1/subscriptions?record=${encodeURIComponent(record)}`);
      const list = (got.json as { subscriptions: SubscriptionJson[] }).subscriptions;
      return list[0]?.dialog?.state === 'active' ? list[0] : undefined;
    });
    assert.equal(active.id, sub.id);
    assert.ok((active.dialog?.expiresIn ?? 0) > 500);

    const stream = new SseStream(`${daemon.httpBase}/v1/queues/q1/events`);
    streams.push(stream);
    const notifyBase = peer.notifyOptionsFor(subscribe, 'srv1');
    await until('the stream to be open', async () => ((await api(daemon.httpBase, 'GET', '/healthz')).status === 200 && (await sseClients(daemon)) > 0 ? true : undefined));
    await peer.sendNotify(subscribe.from, { ...notifyBase, cseq: 1, subscriptionState: 'active;expires=600', body: pidf(record, 'open', 'at work') });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });
    await peer.sendNotify(subscribe.from, { ...notifyBase, cseq: 2, branch: 'z9hG4bK-n2', subscriptionState: 'active;expires=590', body: pidf(record, 'closed', 'gone') });
    await peer.expectResponse({ method: 'NOTIFY', status: 200 });

    const events = await stream.waitFor(2);
    assert.deepEqual(events.map((e) => e.data.presence?.tuples[0]?.basic), ['open', 'closed']);
    assert.equal(events[0]?.data.state, 'active');
    assert.equal(events[0]?.data.subscriptionId, sub.id);
    assert.equal(events[0]?.id, events[0]?.data.sequence, 'event id = queue sequence');
    assert.match(events[0]?.data.body ?? '', /<basic>open<\/basic>/, 'body decoded as UTF-8 text');
    assert.ok((events[1]?.id ?? 0) > (events[0]?.id ?? 0));
    stream.close();

    // Resume after the first event: only the second is replayed.
    const resumed = new SseStream(`${daemon.httpBase}/v1/queues/q1/events`, { 'last-event-id': String(events[0]?.id) });
    streams.push(resumed);
    const replay = await resumed.waitFor(1);
    assert.deepEqual(replay.map((e) => e.id), [events[1]?.id]);
    resumed.close();

    const one = (await api(daemon.httpBase, 'GET', `/v1/subscriptions/${sub.id}`)).json as SubscriptionJson;
    assert.equal(one.state, 'active');
    assert.equal(one.lastStatus?.presence?.tuples[0]?.basic, 'closed');

    const metrics = await fetch(`${daemon.httpBase}/metrics`);
    assert.equal(metrics.status, 200);
    const parsed = parsePrometheusText(await metrics.text());
    assert.ok((parsed.samples.get('presence_b2b_notify_requests_total{result="accepted"}') ?? 0) >= 2);
    assert.equal(parsed.samples.get('presence_b2b_subscribe_responses_total{class="2xx"}'), 1);
    assert.equal(parsed.samples.get('presence_b2b_dialogs{state="active"}'), 1);
    assert.equal(parsed.samples.get('presence_b2b_queued_messages'), 0);
    assert.equal(parsed.samples.get('presence_b2b_queues'), 1);
    assert.ok((parsed.samples.get('presence_b2b_notify_to_queue_seconds_count') ?? 0) >= 2, 'NOTIFY-to-queue latency observed');
    assert.ok(parsed.samples.has('nodejs_eventloop_lag_seconds'));
    assert.equal(parsed.types.get('presence_b2b_notify_to_queue_seconds'), 'histogram');
    for (const name of parsed.types.keys()) assert.ok(parsed.help.has(name), `# HELP for ${name}`);

    assert.equal((await api(daemon.httpBase, 'DELETE', `/v1/subscriptions/${sub.id}`)).status, 204);
    const unsubscribe = await peer.expectRequest({ method: 'SUBSCRIBE', timeoutMs: 10_000 });
    assert.equal(unsubscribe.message.headers.get('Expires'), '0');
    await peer.reply(unsubscribe, 200, { headers: [['Expires', '0']] });
    await peer.sendNotify(subscribe.from, { ...notifyBase, cseq: 3, branch: 'z9hG4bK-n3', subscriptionState: 'terminated;reason=timeout', body: '' });
    assert.equal((await api(daemon.httpBase, 'GET', `/v1/subscriptions/${sub.id}`)).status, 404);
  });

  test('helper_threads_nice: 19, helper_threads_nice_after_s: 0: at the start, every thread of the daemon but the main one runs at nice 19 (Linux)', { skip: process.platform !== 'linux' }, () => {
    const line = daemon.lines.find((l) => l.msg === 'helper threads lowered');
    assert.ok(line !== undefined, 'the start logs what it lowered');
    assert.equal(line.nice, 19);
    assert.equal(line.failed, 0);
    assert.equal(line.afterMs, 0, 'at the start, not once warm');
    const pid = daemon.child.pid ?? 0;
    // Field 19 of /proc/<pid>/task/<tid>/stat is the nice value (proc(5)); the name "node" has no spaces.
    const niceOf = (tid: string): number => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[16]);
    const tasks = readdirSync(`/proc/${pid}/task`);
    assert.equal(niceOf(String(pid)), 0, 'the main thread keeps its priority');
    const lowered = tasks.filter((tid) => tid !== String(pid)).map(niceOf);
    assert.ok(lowered.filter((n) => n === 19).length >= Number(line.lowered), `helper threads at 19: ${lowered.join(',')}`);
  });

  test('the local agent: PUT /v1/presentities makes a status appear in the queue', async () => {
    const created = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record: 'sip:carol@localhost', subscriber: 'sip:dave@localhost', queue: 'local' });
    assert.equal(created.status, 201);
    const sub = created.json as SubscriptionJson & { notifier?: string };
    assert.equal(sub.notifier, 'local-presence-agent');
    const stream = new SseStream(`${daemon.httpBase}/v1/queues/local/events?lastEventId=0`);
    streams.push(stream);
    const put = await api(daemon.httpBase, 'PUT', `/v1/presentities/${encodeURIComponent('sip:carol@localhost')}`, { basic: 'open', note: 'hello' });
    assert.equal(put.status, 204, JSON.stringify(put.json));
    const events = await until('an open status', async () => {
      const found = stream.events.find((e) => e.data.presence?.tuples[0]?.basic === 'open');
      return found;
    });
    assert.equal(events.data.presence?.tuples[0]?.notes[0]?.text, 'hello');
    const bad = await api(daemon.httpBase, 'PUT', `/v1/presentities/${encodeURIComponent('sip:carol@elsewhere.example')}`, { basic: 'open' });
    assert.equal(bad.status, 400);
    assert.equal((await api(daemon.httpBase, 'DELETE', `/v1/subscriptions/${sub.id}`)).status, 204);
  });

  test('CLI list and unsubscribe go through the HTTP API', async () => {
    const created = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record: 'sip:erin@localhost', subscriber: 'sip:bob@localhost' });
    const id = (created.json as { id: string }).id;
    const list = await runCli(['list', '--api', daemon.httpBase, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; record: string });
    assert.ok(rows.some((r) => r.id === id && r.record === 'sip:erin@localhost'), list.stdout);
    const text = await runCli(['list', '--api', daemon.httpBase]);
    assert.match(text.stdout, new RegExp(`^${id}  sip:erin@localhost  as sip:bob@localhost  queue=default  state=`, 'm'));
    assert.equal((await runCli(['unsubscribe', id, '--api', daemon.httpBase])).code, 0);
    const again = await runCli(['unsubscribe', id, '--api', daemon.httpBase]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no subscription/);
  });

  test('bad requests get 400 naming the field', async () => {
    const bad = await api(daemon.httpBase, 'POST', '/v1/subscriptions', { record: 'alice', subscriber: 'sip:bob@example.com' });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys((bad.json as { error: object }).error).sort(), ['code', 'field', 'message']);
    assert.equal((bad.json as { error: { field: string } }).error.field, 'record');
  });
});

async function sseClients(daemon: DaemonProcess): Promise<number> {
  const text = await (await fetch(`${daemon.httpBase}/metrics`)).text();
  return parsePrometheusText(text).samples.get('presence_b2b_sse_clients') ?? 0;
}
