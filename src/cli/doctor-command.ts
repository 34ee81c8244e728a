import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { createPresenceB2B, type PresenceB2B } from '../b2b/create-presence-b2b.js';
import { b2bOptionsFromConfig } from '../config/b2b-options.js';
import { ConfigError, formatProblem } from '../config/config-error.js';
import type { DaemonConfig } from '../config/config-schema.js';
import { loadConfig } from '../config/load-config.js';
import { SipHeaders } from '../sip/codec/headers.js';
import type { SipRequest, SipResponse, SipTransportName } from '../sip/codec/message.js';
import { NodeDnsClient } from '../sip/resolver/dns-client.js';
import { Rfc3263Resolver } from '../sip/resolver/rfc3263-resolver.js';
import { checkStoreFile } from '../store/sqlite-file-check.js';
import { PostgresSubscriptionStore } from '../store/postgres-store.js';
import { SqliteSubscriptionStore } from '../store/sqlite-store.js';
import { systemClock } from '../util/clock.js';
import { CryptoRandom } from '../util/random.js';

export interface DoctorCommandOptions {
  config?: string;
  /** Seconds to wait for the outbound proxy's answer to OPTIONS. */
  timeout: number;
}

export type CheckStatus = 'ok' | 'FAIL' | 'skip';

export interface CheckResult {
  status: CheckStatus;
  /** What was checked: `config`, `sip udp 127.0.0.1:5060`, `http 127.0.0.1:7080`, `outbound proxy`, `store`, `hep`. */
  name: string;
  detail: string;
}

/**
 * `presence-b2b doctor [-c config]`: what `start` would trip over, checked
 * without starting: the configuration (and the files it names), that every
 * SIP listening socket and the HTTP port are free, that the outbound proxy
 * resolves (RFC 3263) and answers OPTIONS (RFC 3261 §11: any final response
 * from it is an answer; a local 408 or 503 is not), that the store can be
 * opened or created, and that the HEP collector resolves. Prints one line per
 * check to stdout and resolves with the exit status: 0 when none failed, 1
 * otherwise. Nothing is written, but an existing store is opened (and so
 * upgraded, as `start` would).
 */
export async function runDoctor(options: DoctorCommandOptions, print: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Promise<number> {
  let failed = false;
  const report = (result: CheckResult): void => {
    if (result.status === 'FAIL') failed = true;
    print(formatCheck(result));
  };
  const config = checkConfig(options.config, report);
  if (config === undefined) return 1;
  for (const result of await checkPorts(config)) report(result);
  for (const result of await checkOutboundProxy(config, options.timeout)) report(result);
  report(await checkStore(config));
  report(await checkHep(config));
  return failed ? 1 : 0;
}

export function formatCheck(result: CheckResult): string {
  return `${result.status.padEnd(4)}  ${result.name}: ${result.detail}`;
}

/** The file loads, validates, and the TLS files it names can be read. */
function checkConfig(file: string | undefined, report: (result: CheckResult) => void): DaemonConfig | undefined {
  try {
    const config = loadConfig(file !== undefined ? { file } : {});
    b2bOptionsFromConfig(config);
    report({ status: 'ok', name: 'config', detail: file !== undefined ? `${file} is valid` : 'no file: the embedded defaults' });
    return config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) report({ status: 'FAIL', name: 'config', detail: formatProblem(problem).replace(/^config error: /, '') });
    return undefined;
  }
}

async function checkPorts(config: DaemonConfig): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const listen of config.sip.listen) {
    const name = `sip ${listen.transport} ${hostPort(listen.host, listen.port)}`;
    const problem = listen.transport === 'udp' ? await udpBindProblem(listen.host, listen.port) : await tcpBindProblem(listen.host, listen.port);
    out.push(problem === undefined ? { status: 'ok', name, detail: listen.port === 0 ? 'any free port' : 'free' } : { status: 'FAIL', name, detail: problem });
  }
  if (config.http.enabled) {
    const name = `http ${hostPort(config.http.host, config.http.port)}`;
    const problem = await tcpBindProblem(config.http.host, config.http.port);
    out.push(problem === undefined ? { status: 'ok', name, detail: config.http.port === 0 ? 'any free port' : 'free' } : { status: 'FAIL', name, detail: problem });
  } else {
    out.push({ status: 'skip', name: 'http', detail: 'http.enabled is false' });
  }
  return out;
}

function udpBindProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((done) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', (error) => {
      socket.close();
      done(bindProblem(error));
    });
    socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => done(undefined)));
  });
}

function tcpBindProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', (error) => done(bindProblem(error)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => done(undefined)));
  });
}

function bindProblem(error: Error): string {
  const code = 'code' in error ? String(error.code) : '';
  if (code === 'EADDRINUSE') return 'in use (EADDRINUSE): another process listens there (a running daemon?)';
  if (code === 'EADDRNOTAVAIL') return 'no such local address (EADDRNOTAVAIL)';
  if (code === 'EACCES') return 'not allowed (EACCES): a port below 1024 needs privileges';
  return error.message;
}

/**
 * presence_outbound_proxy: resolves (RFC 3263, with the `hosts` table), then
 * an OPTIONS sent to it from a socket of the configured listening address
 * (an ephemeral port) gets a final response within `timeoutSeconds`.
 */
async function checkOutboundProxy(config: DaemonConfig, timeoutSeconds: number): Promise<CheckResult[]> {
  const proxy = config.presence_outbound_proxy;
  const name = 'outbound proxy';
  if (proxy === '') return [{ status: 'skip', name, detail: 'presence_outbound_proxy is not set: SUBSCRIBEs go where each record resolves' }];
  const options = b2bOptionsFromConfig(config);
  const transports = [...new Set<SipTransportName>(['udp', 'tcp', ...config.sip.listen.map((l) => l.transport)])];
  const resolver = new Rfc3263Resolver({ dns: new NodeDnsClient(), random: new CryptoRandom(), clock: systemClock, ...(options.hosts !== undefined ? { hosts: options.hosts } : {}) });
  try {
    const targets = await resolver.resolve(proxy, transports);
    const first = targets[0];
    if (first === undefined) return [{ status: 'FAIL', name, detail: `${proxy} does not resolve` }];
    const resolved: CheckResult = { status: 'ok', name, detail: `${proxy} resolves to ${targets.map((t) => `${t.transport} ${hostPort(t.host, t.port)}`).join(', ')}` };
    return [resolved, await optionsCheck(config, proxy, timeoutSeconds)];
  } catch (error) {
    return [{ status: 'FAIL', name, detail: `${proxy} does not resolve: ${error instanceof Error ? error.message : String(error)}` }];
  }
}

async function optionsCheck(config: DaemonConfig, proxy: string, timeoutSeconds: number): Promise<CheckResult> {
  const name = 'outbound proxy';
  const host = config.sip.listen[0]?.host ?? '127.0.0.1';
  const random = new CryptoRandom();
  let stack: PresenceB2B;
  try {
    stack = await createPresenceB2B({
      ...b2bOptionsFromConfig(config),
      // Our own sockets, beside a daemon that may be running: same address, any free port.
      listen: [
        { transport: 'udp', host, port: 0 },
        { transport: 'tcp', host, port: 0 },
      ],
      handlePresenceSubscriptions: false,
      presenceOutboundProxy: '',
      userAgent: `${config.user_agent} doctor`,
    });
  } catch (error) {
    return { status: 'FAIL', name, detail: `cannot open a SIP socket on ${host} to send OPTIONS: ${error instanceof Error ? error.message : String(error)}` };
  }
  const started = systemClock.now();
  let cancel: (() => void) | undefined;
  try {
    const from = `sip:${config.contact_user}@${host.includes(':') ? `[${host}]` : host}`;
    const request: SipRequest = {
      kind: 'request',
      method: 'OPTIONS',
      uri: proxy,
      headers: new SipHeaders([
        ['To', `<${proxy}>`],
        ['From', `<${from}>;tag=${random.token(10)}`],
        ['Call-ID', `${random.token(20)}@presence-b2b-doctor`],
        ['CSeq', '1 OPTIONS'],
        ['Max-Forwards', '70'],
      ]),
      body: new Uint8Array(0),
    };
    const answer = await new Promise<{ response: SipResponse; local: boolean } | 'timeout'>((done) => {
      cancel = systemClock.setTimer(() => done('timeout'), timeoutSeconds * 1000);
      stack.ua.sendRequest(request, { onFinal: (response, local) => done({ response, local }) }, { outboundProxy: proxy });
    });
    const ms = Math.round(systemClock.now() - started);
    if (answer === 'timeout') return { status: 'FAIL', name, detail: `no answer to OPTIONS within ${timeoutSeconds} s` };
    const { response, local } = answer;
    if (local) return { status: 'FAIL', name, detail: `OPTIONS not answered: ${response.status} ${response.reason} (${response.status === 408 ? 'no response' : 'could not be sent'})` };
    return { status: 'ok', name, detail: `answers OPTIONS: ${response.status} ${response.reason} in ${ms} ms` };
  } finally {
    cancel?.();
    await stack.close(0);
  }
}

/** The store can be opened (an existing file) or created (its directory is writable). */
async function checkStore(config: DaemonConfig): Promise<CheckResult> {
  const name = 'store';
  const spec = config.store;
  if (spec.type === 'memory') return { status: 'ok', name, detail: 'memory: nothing to check (nothing survives a restart)' };
  if (spec.type === 'postgres') {
    // Shared with a running daemon or cluster nodes: opened without the one-daemon lock. An empty
    // database gets the schema, as at the daemon's first start.
    try {
      const store = await PostgresSubscriptionStore.open({
        url: spec.url,
        exclusive: false,
        connectTimeoutSeconds: 5,
        ...(config.cluster !== undefined ? { shards: config.cluster.shards } : {}),
      });
      try {
        const contents = await store.load();
        return { status: 'ok', name, detail: `${store.location} opens: ${contents.apiSubscriptions.length} subscriptions, ${contents.queues.length} queues` };
      } finally {
        await store.close();
      }
    } catch (error) {
      return { status: 'FAIL', name, detail: error instanceof Error ? error.message : String(error) };
    }
  }
  const file = resolve(spec.path);
  try {
    if (!checkStoreFile(file).exists) return { status: 'ok', name, detail: `${file} will be created (${dirname(file)} is writable)` };
    const store = SqliteSubscriptionStore.open(file);
    try {
      const contents = await store.load();
      return { status: 'ok', name, detail: `${file} opens for writing: ${contents.apiSubscriptions.length} subscriptions, ${contents.queues.length} queues` };
    } finally {
      await store.close();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const locked = typeof error === 'object' && error !== null && 'code' in error && error.code === 'STORE_ERR_LOCKED';
    return { status: 'FAIL', name, detail: locked ? `${message} (a running daemon?)` : message };
  }
}

async function checkHep(config: DaemonConfig): Promise<CheckResult> {
  const name = 'hep';
  if (config.hep === undefined) return { status: 'skip', name, detail: 'no hep key: capture export is off' };
  try {
    const { address } = await lookup(config.hep.address);
    return { status: 'ok', name, detail: `collector ${config.hep.address} resolves to ${address} (port ${config.hep.port}, capture id ${config.hep.capture_id})` };
  } catch (error) {
    return { status: 'FAIL', name, detail: `collector ${config.hep.address} does not resolve: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
