/**
 * The resource list server against peers nobody here wrote: SIPp's RFC 4662
 * watcher scenario (peers/sipp/rls-watcher.xml) subscribing to the daemon's
 * list sip:friends@example.com whose members publish into the local agent
 * (the in-process publication of the HTTP API's PUT /v1/presentities: one
 * publication per member, modified, so that each member's document has one
 * tuple; the scenario logs the `<basic>` of the last tuple of a document),
 * and a list whose members live on the real Kamailio
 * presence server, reached through the B2BUA.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { parsePidf } from '../../src/presence/pidf-parser.js';
import { ResourceListView } from '../../src/rlmi/index.js';
import { kamailioAddress, runSipp, type SippRunResult, sippPublish } from '../support/peers.js';
import { type ReceivedRequest, ScriptedSipPeer } from '../support/scripted-peer.js';
import { buildMessage } from '../support/sip-fixtures.js';

const daemons: DaemonHandle[] = [];
after(async () => {
  for (const d of daemons) await d.close();
});

async function daemon(config: Record<string, unknown>): Promise<{ handle: DaemonHandle; port: number }> {
  const parsed = parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { enabled: false },
    store: { type: 'memory' },
    log_level: 'silent',
    shutdown: { mode: 'unsubscribe', timeout_ms: 2000 },
    ...config,
  });
  const handle = await startDaemon(parsed, { logger: createLogger({ level: 'silent' }) });
  daemons.push(handle);
  const udp = handle.sip.find((l) => l.transport === 'udp');
  assert.ok(udp);
  return { handle, port: udp.port };
}

/** Polls `condition` (real time: the peers are real processes) until it holds or `timeoutMs` passed. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => setTimeout(resolve, 25));
  }
}

interface NotifyLine {
  state: string;
  type: string;
  version: string;
  full: string;
  alice: string;
  carol: string;
}

/** The scenario's NOTIFY log lines: `… Subscription-State s … type=t rlmi version=v fullState=f alice: rlmi=R instance=I basic=B; carol: …`. */
function notifyLines(log: string): NotifyLine[] {
  const out: NotifyLine[] = [];
  const re =
    /NOTIFY CSeq \d+ Subscription-State\s+(\S+) Content-Type \S+ type=(\S+) rlmi version=(\S+) fullState=(\S+) alice: rlmi=(\S+) instance=(\S+) basic=([^;\s]+); carol: rlmi=(\S+) instance=(\S+) basic=(\S+)/g;
  for (const m of log.matchAll(re)) {
    out.push({ state: m[1]!, type: m[2]!, version: m[3]!, full: m[4]!, alice: `${m[5]} ${m[6]} ${m[7]}`, carol: `${m[8]} ${m[9]} ${m[10]}` });
  }
  return out;
}

describe('resource list server against SIPp’s RFC 4662 watcher', () => {
  it('full state first, a partial NOTIFY per member change, then a clean unsubscribe', async () => {
    const { handle, port } = await daemon({
      local_agent: { enabled: true, domains: ['example.com'] },
      resource_lists: {
        'sip:friends@example.com': { owner: 'sip:bob@example.com', members: ['sip:alice@example.com', 'sip:carol@example.com'] },
      },
    });
    const target = { host: '127.0.0.1', port };
    const rls = handle.resourceLists;
    assert.ok(rls);
    const agent = handle.localAgent;
    assert.ok(agent);
    agent.publish('sip:alice@example.com', { basic: 'open', note: 'at her desk' });
    agent.publish('sip:carol@example.com', { basic: 'closed', note: 'away' });
    const brokerBefore = handle.broker.size;

    const watcher: Promise<SippRunResult> = runSipp({
      scenario: 'rls-watcher.xml',
      target,
      service: 'friends',
      keys: { watcher: 'bob', expires: '300' },
      timeoutMs: 40_000,
    });
    await until(() => rls.stats.notifiesSent >= 1, 10_000, 'the first NOTIFY');
    assert.equal(handle.broker.size, brokerBefore + 2, 'one internal subscription per member');
    // Each change once the previous NOTIFY went: two partial NOTIFYs, each ≥ 1 s (rls_min_notify_interval) apart.
    agent.publish('sip:alice@example.com', { basic: 'closed', note: 'gone' });
    await until(() => rls.stats.notifiesSent >= 2, 5000, 'the NOTIFY of alice’s change');
    agent.publish('sip:carol@example.com', { basic: 'open', note: 'back' });
    await until(() => rls.stats.notifiesSent >= 3, 5000, 'the NOTIFY of carol’s change');
    // 5 s without a NOTIFY: the scenario unsubscribes and waits for the terminated NOTIFY.
    const result = await watcher;
    assert.ok(result.ok, `SIPp failed (exit ${result.exitCode})\n${result.errors}\n${result.log}`);

    assert.match(result.log, /SUBSCRIBE friends Event: presence \(eventlist\) -> 200, Expires \[?300\]?, Require \[?eventlist\]?/);
    const lines = notifyLines(result.log);
    assert.deepEqual(
      lines.map((l) => `${l.state.split(';')[0]} ${l.type} v${l.version} full=${l.full} | alice ${l.alice} | carol ${l.carol}`),
      [
        'active application/rlmi+xml v0 full=true | alice resource active open | carol resource active closed',
        'active application/rlmi+xml v1 full=false | alice resource active closed | carol - - -',
        'active application/rlmi+xml v2 full=false | alice - - - | carol resource active open',
        'terminated - v- full=- | alice - - - | carol - - -',
      ],
      result.log,
    );
    assert.match(result.log, /unSUBSCRIBE -> 200/);
    assert.equal(lines[3]!.state, 'terminated;reason=timeout');
    // Nothing leaks: the list's internal subscriptions are gone.
    assert.equal(rls.size, 0);
    assert.equal(rls.stats.memberSubscriptions, 0);
    assert.equal(handle.broker.size, brokerBefore);
  });
});

describe('resource list server with members on the real Kamailio (through the B2BUA)', () => {
  it('members’ states come from Kamailio NOTIFYs; a publication there reaches the list as a partial NOTIFY', async () => {
    const kamailio = kamailioAddress();
    // Users nobody else publishes for (Kamailio knows user[0-9]+; its state lasts for the whole run).
    const n = 7000 + Math.floor(Math.random() * 2000);
    const [one, two] = [`user${n}`, `user${n + 1}`];
    await sippPublish({ user: one, basic: 'open', note: 'on kamailio' });
    const { handle, port } = await daemon({
      presence_outbound_proxy: `sip:${kamailio.host}:${kamailio.port}`,
      local_agent: { enabled: true, domains: ['localhost'] },
      resource_lists: { 'sip:buddies@example.com': { members: [`sip:${one}@example.com`, `sip:${two}@example.com`] } },
      rls_min_notify_interval: 0.2,
    });
    const rls = handle.resourceLists;
    assert.ok(rls);
    const peer = await ScriptedSipPeer.start({ transport: 'udp' });
    try {
      const to = { address: '127.0.0.1', port };
      let cseq = 1;
      let toTag: string | undefined;
      const subscribe = (expires: number) =>
        buildMessage(`SUBSCRIBE sip:buddies@example.com SIP/2.0`, [
          ['Via', `SIP/2.0/UDP 127.0.0.1:${peer.address.port};branch=z9hG4bKkam${cseq}`],
          ['Max-Forwards', '70'],
          ['From', '<sip:watcher7@example.com>;tag=kw1'],
          ['To', toTag === undefined ? '<sip:buddies@example.com>' : `<sip:buddies@example.com>;tag=${toTag}`],
          ['Call-ID', `kam-rls-${n}`],
          ['CSeq', `${cseq++} SUBSCRIBE`],
          ['Contact', `<sip:watcher7@127.0.0.1:${peer.address.port}>`],
          ['Event', 'presence'],
          ['Supported', 'eventlist'],
          ['Accept', 'multipart/related, application/rlmi+xml, application/pidf+xml'],
          ['Expires', String(expires)],
        ]);
      const view = new ResourceListView();
      const basics = (): Record<string, string> => {
        const out: Record<string, string> = {};
        for (const r of view.snapshot().resources) {
          const instance = r.instances[0];
          out[r.uri] = instance === undefined ? '-' : `${instance.state}/${instance.body === undefined ? '-' : (parsePidf(instance.body).tuples[0]?.basic ?? '?')}`;
        }
        return out;
      };
      const take = async (): Promise<ReceivedRequest> => {
        const notify = await peer.expectRequest({ method: 'NOTIFY', timeoutMs: 5000 });
        await peer.reply(notify, 200);
        const applied = view.apply(notify.message.headers.get('Content-Type'), notify.message.body);
        assert.equal(applied.error, undefined, JSON.stringify(applied.error));
        return notify;
      };
      /** NOTIFYs until the view shows `expected` (bounded). */
      const untilView = async (expected: Record<string, string>): Promise<void> => {
        for (let i = 0; i < 10 && JSON.stringify(basics()) !== JSON.stringify(expected); i++) await take();
        assert.deepEqual(basics(), expected);
      };

      await peer.sendRaw(subscribe(600), to);
      const ok = await peer.expectResponse({ method: 'SUBSCRIBE', timeoutMs: 5000 });
      assert.equal(ok.message.status, 200);
      assert.equal(ok.message.headers.get('Require'), 'eventlist');
      toTag = /;tag=([^;\s]+)/.exec(ok.message.headers.get('To') ?? '')?.[1];
      const first = await take();
      assert.match(first.message.headers.get('Content-Type') ?? '', /^multipart\/related;/);
      // The first NOTIFY is full state (members pending while the B2BUA's SUBSCRIBEs are answered); then Kamailio's state.
      await untilView({ [`sip:${one}@example.com`]: 'active/open', [`sip:${two}@example.com`]: 'active/-' });
      assert.equal(handle.b2b.engine.size, 2, 'two SIP dialogs with Kamailio, one per member');

      await sippPublish({ user: two, basic: 'closed', note: 'also on kamailio' });
      const partial = await take();
      const body = partial.message.body.toString();
      assert.match(body, /fullState="false"/);
      assert.doesNotMatch(body, new RegExp(`sip:${one}@example.com`), 'only the member that changed');
      assert.deepEqual(basics(), { [`sip:${one}@example.com`]: 'active/open', [`sip:${two}@example.com`]: 'active/closed' });

      await peer.sendRaw(subscribe(0), to);
      await peer.expectResponse({ method: 'SUBSCRIBE', status: 200, timeoutMs: 5000 });
      const last = await peer.expectRequest({ method: 'NOTIFY', timeoutMs: 5000 });
      await peer.reply(last, 200);
      assert.equal(last.message.headers.get('Subscription-State'), 'terminated;reason=timeout');
      assert.equal(rls.stats.memberSubscriptions, 0);
      // The B2BUA unsubscribes from Kamailio: its dialogs go away.
      await until(() => handle.b2b.engine.size === 0, 10_000, 'the B2BUA’s unSUBSCRIBEs to Kamailio');
      assert.equal(handle.broker.size, 0);
    } finally {
      await peer.close();
    }
  });
});
