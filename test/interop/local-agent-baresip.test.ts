/**
 * The local agent subscribing to a user agent that never PUBLISHes (the
 * seed's "PA module subscribing to users"): baresip answers SUBSCRIBE for
 * carol. The daemon is configured with local_agent.user_agents, a `watch` of
 * sip:carol@localhost through the daemon sees baresip's state, and when the
 * watch ends the daemon unSUBSCRIBEs from baresip.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import diagnosticsChannel from 'node:diagnostics_channel';
import { after, test } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log/logger.js';
import { CLI_PATH, cleanEnv } from '../daemon/support/daemon-process.js';
import { baresipAddress, baresipCommand } from '../support/peers.js';

interface WatchLine {
  state: string;
  presence?: { tuples: Array<{ basic?: string }> };
}

const cleanups: Array<() => void | Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => setTimeout(resolve, 25));
  }
}

test('a watch of a presentity whose state comes from baresip sees that state; the last watcher leaving unSUBSCRIBEs from baresip', async () => {
  const b = baresipAddress();
  const uaAddress = `sip:carol@${b.host}:${b.port}`;
  const config = parseConfig({
    sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
    http: { enabled: false },
    store: { type: 'memory' },
    log_level: 'silent',
    shutdown: { mode: 'unsubscribe', timeout_ms: 2000 },
    local_agent: { enabled: true, domains: ['localhost'], user_agents: { 'sip:carol@localhost': uaAddress } },
  });
  const daemon: DaemonHandle = await startDaemon(config, { logger: createLogger({ level: 'silent' }) });
  cleanups.push(() => daemon.close());
  const port = daemon.sip.find((l) => l.transport === 'udp')?.port;
  assert.ok(port);
  const agent = daemon.localAgent;
  assert.ok(agent);

  // The engine's dialog states, to see the unSUBSCRIBE.
  const states: Array<{ record: string; to: string }> = [];
  const onState = (payload: unknown): void => {
    const p = payload as { record?: string; to?: string };
    if (typeof p.record === 'string' && typeof p.to === 'string') states.push({ record: p.record, to: p.to });
  };
  diagnosticsChannel.subscribe('presence-b2b:subscription:state', onState);
  cleanups.push(() => {
    diagnosticsChannel.unsubscribe('presence-b2b:subscription:state', onState);
  });

  await baresipCommand('presence_online');
  assert.equal(agent.userAgentSubscription('sip:carol@localhost'), undefined, 'nothing is subscribed while nobody watches');

  const child = spawn(process.execPath, [CLI_PATH, 'watch', 'sip:carol@localhost', '--as', 'sip:bob@localhost', '--proxy', `sip:127.0.0.1:${port}`, '--json'], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: WatchLine[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      lines.push(JSON.parse(buffer.slice(0, nl)) as WatchLine);
      buffer = buffer.slice(nl + 1);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const basics = () => lines.map((l) => l.presence?.tuples[0]?.basic ?? '-');

  await until(() => basics().includes('open'), 10_000, `baresip's open state through the daemon (lines ${JSON.stringify(lines)}, stderr ${stderr})`);
  const upstream = agent.userAgentSubscription('sip:carol@localhost');
  assert.ok(upstream, 'the agent subscribes to carol’s UA while she is watched');
  assert.equal(upstream.record, uaAddress);
  assert.equal(upstream.subscriber, 'sip:carol@localhost', 'as the presentity itself (no local_agent.subscriber)');
  assert.equal(daemon.b2b.engine.size, 1, 'one SIP dialog with baresip');

  await baresipCommand('presence_offline');
  await until(() => basics().at(-1) === 'closed', 10_000, `baresip's closed state (lines ${JSON.stringify(lines)})`);

  // The watch ends (SIGINT: it unsubscribes): the last watcher is gone, so the daemon unSUBSCRIBEs from baresip.
  const answersBefore = daemon.b2b.engine.stats.responses['2xx'];
  child.kill('SIGINT');
  assert.equal(await exited, 0, stderr);
  await until(() => agent.userAgentSubscription('sip:carol@localhost') === undefined, 5000, 'the end of the subscription to the UA');
  await until(() => daemon.b2b.engine.size === 0, 10_000, 'the unSUBSCRIBE to baresip to complete');
  assert.ok(
    states.some((s) => s.record === uaAddress && s.to === 'unsubscribing'),
    `the dialog with baresip went through unsubscribing: ${JSON.stringify(states)}`,
  );
  assert.ok(daemon.b2b.engine.stats.responses['2xx'] > answersBefore, 'baresip answered the unSUBSCRIBE with 2xx');
  assert.equal(daemon.broker.size, 0);
  assert.deepEqual(agent.watchers(), []);
});
