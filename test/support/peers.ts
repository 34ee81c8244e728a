/**
 * Typed access to the third-party SIP peers of the interop tests (Kamailio,
 * baresip, SIPp; see peers/README.md). The peers are started and stopped by
 * scripts/with-peers.sh, which exports their addresses; these helpers read
 * them and drive the peers. Every call is bounded in time. Loopback only.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeUdpTcpPort } from './port-check.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export const PEERS_NOT_RUNNING_MESSAGE =
  'interop peers are not running: use `npm test` or `bash scripts/with-peers.sh node --test dist/test/interop/` (installs the Debian peers via scripts/install-peers.sh)';

function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${PEERS_NOT_RUNNING_MESSAGE} (${name} is not set)`);
  }
  return value;
}

function addressFromEnv(name: string): PeerAddress {
  const value = requireEnv(name);
  const colon = value.lastIndexOf(':');
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`${name}=${value} is not HOST:PORT`);
  }
  return { host: value.slice(0, colon), port };
}

/** Kamailio presence server (profile `presence`, udp+tcp, domain example.com). */
export function kamailioAddress(): PeerAddress {
  return addressFromEnv('PB2B_KAMAILIO');
}

/** Kamailio presence behind digest auth (bob/secret, alice/alicepw; 423 below 60 s). */
export function kamailioAuthAddress(): PeerAddress {
  return addressFromEnv('PB2B_KAMAILIO_AUTH');
}

/** Kamailio registrar + reg event server (profile `reginfo`, RFC 3680): REGISTER, SUBSCRIBE Event: reg. */
export function kamailioReginfoAddress(): PeerAddress {
  return addressFromEnv('PB2B_KAMAILIO_REGINFO');
}

/** Kamailio proxy + dialog event server (profile `dialoginfo`, RFC 4235): REGISTER, INVITE relayed, SUBSCRIBE Event: dialog. */
export function kamailioDialoginfoAddress(): PeerAddress {
  return addressFromEnv('PB2B_KAMAILIO_DIALOGINFO');
}

/** Kamailio resource list server (profile `rls`, RFC 4662): bob's sip:friends@example.com = alice + carol; presence for users. */
export function kamailioRlsAddress(): PeerAddress {
  return addressFromEnv('PB2B_KAMAILIO_RLS');
}

/** baresip UA-side notifier for sip:carol@127.0.0.1 (udp+tcp). */
export function baresipAddress(): PeerAddress {
  return addressFromEnv('PB2B_BARESIP');
}

/** baresip's ctrl_tcp socket (netstring JSON commands). */
export function baresipControlAddress(): PeerAddress {
  return addressFromEnv('PB2B_BARESIP_CTRL');
}

/** Absolute path of the repository's peers/ directory (scripts, cfgs, SIPp scenarios). */
export function peersDir(): string {
  return requireEnv('PB2B_PEERS_DIR');
}

/** Path of a SIPp scenario in peers/sipp/, e.g. `sippScenario('watcher.xml')`. */
export function sippScenario(file: string): string {
  return join(peersDir(), 'sipp', file);
}

/** The Kamailio log of a profile (every request is logged as `REQ …`). */
export function kamailioLogPath(profile: KamailioProfile = 'presence'): string {
  return join(kamailioRunDir(profile), 'kamailio.log');
}

export type KamailioProfile = 'presence' | 'auth' | 'reginfo' | 'dialoginfo' | 'rls';

/** The environment variable of a profile's address (its run dir: the same + `_RUN_DIR`). */
function kamailioEnvName(profile: KamailioProfile): string {
  return profile === 'presence' ? 'PB2B_KAMAILIO' : `PB2B_KAMAILIO_${profile.toUpperCase()}`;
}

function kamailioRunDir(profile: KamailioProfile): string {
  return requireEnv(`${kamailioEnvName(profile)}_RUN_DIR`);
}

// ------------------------------------------------------------------ processes

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program with a hard deadline; never rejects for a non-zero exit (see `code`). */
function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: options.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 4 * 1024 * 1024,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'number') {
          resolve({ code, stdout, stderr });
          return;
        }
        if ((error as { killed?: unknown }).killed === true) {
          reject(new Error(`${file} ${args.join(' ')}: no exit within ${options.timeoutMs} ms\n${stderr}`));
          return;
        }
        reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stderr}`));
      },
    );
  });
}

async function withScratchDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const base = process.env.PB2B_PEERS_SCRATCH || tmpdir();
  const dir = await mkdtemp(join(base, `${prefix}-`));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

// ------------------------------------------------------------------ SIPp

export interface SippRunOptions {
  /** Scenario file: a name in peers/sipp/ or an absolute path. */
  readonly scenario: string;
  /** Where to send (default: the Kamailio presence server). */
  readonly target?: PeerAddress;
  /** `-s`: the user part of the Request-URI ([service]). */
  readonly service?: string;
  /** `-key NAME VALUE` pairs. */
  readonly keys?: Readonly<Record<string, string>>;
  readonly transport?: 'udp' | 'tcp';
  /** Local SIP port (`-p`); by default a port free at the start (never SIPp's own default, 5060). */
  readonly localPort?: number;
  /** More SIPp arguments, e.g. `['-d', '2000']`. */
  readonly extraArgs?: readonly string[];
  /** SIPp's own global timeout (`-timeout`); the process is killed 5 s later. Default 10 s. */
  readonly timeoutMs?: number;
}

export interface SippRunResult {
  /** True when SIPp exited 0 (the scenario passed). */
  readonly ok: boolean;
  readonly exitCode: number;
  /** The scenario's `<log>` lines (-trace_logs). */
  readonly log: string;
  /** Every message sent and received (-trace_msg). */
  readonly messages: string;
  /** SIPp's error log (-trace_err). */
  readonly errors: string;
}

/** How often runSipp tries again with another port when SIPp could not bind the one picked for it. */
const SIPP_BIND_ATTEMPTS = 3;

/**
 * Runs one SIPp scenario call (`-m 1`) on 127.0.0.1, bounded in time. When
 * the caller left the local port to us, a SIPp that could not bind the port
 * picked for it (errno 98: something took it between the check and SIPp's
 * bind, e.g. an ephemeral port during a flood test) runs again on another.
 */
export async function runSipp(options: SippRunOptions): Promise<SippRunResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await runSippOnce(options);
    const lostThePort = !result.ok && options.localPort === undefined && /Unable to bind main socket, errno = 98/.test(result.errors);
    if (!lostThePort || attempt >= SIPP_BIND_ATTEMPTS) return result;
  }
}

function runSippOnce(options: SippRunOptions): Promise<SippRunResult> {
  const target = options.target ?? kamailioAddress();
  const scenario = options.scenario.startsWith('/') ? options.scenario : sippScenario(options.scenario);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return withScratchDir('sipp', async (dir) => {
    const args = ['-sf', scenario, '-i', '127.0.0.1', '-bind_local', '-m', '1', '-nostdin'];
    args.push('-timeout', `${Math.max(1, Math.ceil(timeoutMs / 1000))}s`, '-timeout_error');
    args.push('-t', options.transport === 'tcp' ? 't1' : 'u1');
    // Never SIPp's own default (5060, or the next free port): the README quick start's daemon binds 5060 and runs
    // beside the peers' files in npm test (test/support/test-lanes.ts), so a SIPp there could take its port.
    args.push('-p', String(options.localPort ?? (await freeUdpTcpPort())));
    if (options.service !== undefined) args.push('-s', options.service);
    for (const [name, value] of Object.entries(options.keys ?? {})) args.push('-key', name, value);
    args.push('-trace_logs', '-log_file', join(dir, 'log'));
    args.push('-trace_msg', '-message_file', join(dir, 'messages'));
    args.push('-trace_err', '-error_file', join(dir, 'errors'));
    args.push(...(options.extraArgs ?? []));
    args.push(`${target.host}:${target.port}`);
    const result = await run('sipp', args, { cwd: dir, timeoutMs: timeoutMs + 5000 });
    return {
      ok: result.code === 0,
      exitCode: result.code,
      log: await readIfExists(join(dir, 'log')),
      messages: await readIfExists(join(dir, 'messages')),
      errors: await readIfExists(join(dir, 'errors')),
    };
  });
}

export interface SippPublishOptions {
  /** Presentity user: sip:USER@example.com (Kamailio knows alice bob carol dave eve b2bua watcherN userN). */
  readonly user: string;
  readonly basic: 'open' | 'closed';
  readonly note: string;
  /** Requested Expires in seconds (Kamailio caps at 3600). Default 3600. */
  readonly expires?: number;
  /** Local SIPp port; by default a port free at the start (runSipp). */
  readonly port?: number;
  /** Default: the Kamailio presence server. */
  readonly target?: PeerAddress;
  readonly transport?: 'udp' | 'tcp';
}

export interface SippPublishResult {
  /** The SIP-ETag of the 200 OK. */
  readonly etag: string;
  /** The Expires granted by the 200 OK. */
  readonly expires: number;
}

/**
 * One PUBLISH of a PIDF document (peers/sipp/publish-once.xml) for
 * sip:USER@example.com; resolves on 200 OK with its SIP-ETag, rejects with
 * SIPp's error log otherwise. The state stays until it expires or Kamailio
 * restarts; several publications for one user are merged (one tuple each).
 */
export async function sippPublish(options: SippPublishOptions): Promise<SippPublishResult> {
  const result = await runSipp({
    scenario: 'publish-once.xml',
    target: options.target ?? kamailioAddress(),
    service: options.user,
    keys: { basic: options.basic, note: options.note, expires: String(options.expires ?? 3600) },
    ...(options.port !== undefined ? { localPort: options.port } : {}),
    ...(options.transport !== undefined ? { transport: options.transport } : {}),
  });
  const match = /etag=(\S+) expires=(\d+)/.exec(result.log);
  if (!result.ok || match === null) {
    throw new Error(
      `PUBLISH for ${options.user} failed (sipp exit ${result.exitCode})\n${result.errors}\n${result.messages}`,
    );
  }
  return { etag: match[1] ?? '', expires: Number(match[2]) };
}

// ------------------------------------------------------------------ Kamailio control

function kamailioEnv(profile: KamailioProfile): NodeJS.ProcessEnv {
  const address = addressFromEnv(kamailioEnvName(profile));
  return {
    ...process.env,
    KAMAILIO_PROFILE: profile,
    KAMAILIO_PORT: String(address.port),
    KAMAILIO_RUN_DIR: kamailioRunDir(profile),
  };
}

/** Where the test-started TLS profile runs (see startKamailioTls). */
export interface KamailioTls {
  readonly pid: number;
  /** UDP+TCP (PUBLISH with SIPp here). */
  readonly sip: PeerAddress;
  /** The TLS listener. */
  readonly tls: PeerAddress;
  readonly logPath: string;
}

function kamailioTlsEnv(files?: { cert: string; key: string }): NodeJS.ProcessEnv & { KAMAILIO_RUN_DIR: string; KAMAILIO_PORT: string } {
  const port = Number(process.env.PB2B_KAMAILIO_TLS_PORT || 5084);
  // The run dir scripts/with-peers.sh knows too (it stops a leftover one by its pidfile).
  const runDir = join('/tmp/presence-b2b-peers', `kamailio-tls-${port}`);
  return {
    ...process.env,
    KAMAILIO_PROFILE: 'tls',
    KAMAILIO_PORT: String(port),
    KAMAILIO_TLS_PORT: String(port + 1),
    KAMAILIO_RUN_DIR: runDir,
    ...(files !== undefined ? { KAMAILIO_TLS_CERT: files.cert, KAMAILIO_TLS_KEY: files.key } : {}),
  };
}

/**
 * Starts Kamailio's profile `tls` (the presence server, with a TLS listener
 * on the next port, tls.so from kamailio-tls-modules) with the certificate
 * and key PEM files given: the test that makes them starts it, and must stop
 * it (stopKamailioTls; scripts/with-peers.sh also stops a leftover one).
 * Ports: PB2B_KAMAILIO_TLS_PORT (5084) and the next one for TLS.
 */
export async function startKamailioTls(files: { cert: string; key: string }): Promise<KamailioTls> {
  const env = kamailioTlsEnv(files);
  const result = await run('bash', [join(peersDir(), 'start-kamailio.sh')], { env, timeoutMs: 25_000 });
  const pid = Number(result.stdout.trim());
  if (result.code !== 0 || !Number.isInteger(pid) || pid <= 0) throw new Error(`start-kamailio.sh (tls) failed:\n${result.stderr}`);
  const port = Number(env.KAMAILIO_PORT);
  return { pid, sip: { host: '127.0.0.1', port }, tls: { host: '127.0.0.1', port: port + 1 }, logPath: join(env.KAMAILIO_RUN_DIR, 'kamailio.log') };
}

/** Stops the TLS profile by its pidfile (nothing when it is not running). */
export async function stopKamailioTls(): Promise<void> {
  const result = await run('bash', [join(peersDir(), 'stop-kamailio.sh')], { env: kamailioTlsEnv(), timeoutMs: 10_000 });
  if (result.code !== 0) throw new Error(`stop-kamailio.sh (tls) failed:\n${result.stderr}`);
}

/**
 * A self-signed certificate (CA:TRUE, so that it is its own trust anchor) for
 * 127.0.0.1, and its P-256 key, made with openssl in `dir`: the test's own,
 * valid one day.
 */
export async function makeTestCertificate(dir: string, name = 'peer'): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}-cert.pem`);
  const key = join(dir, `${name}-key.pem`);
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1'];
  args.push('-subj', `/CN=presence-b2b ${name} test`, '-addext', 'subjectAltName=IP:127.0.0.1', '-addext', 'basicConstraints=critical,CA:TRUE');
  const result = await run('openssl', args, { timeoutMs: 10_000 });
  if (result.code !== 0) throw new Error(`openssl req failed:\n${result.stderr}`);
  return { cert, key };
}

/** Stops a Kamailio profile (by its pidfile). Up to ~6 s. */
export async function stopKamailio(profile: KamailioProfile = 'presence'): Promise<void> {
  const result = await run('bash', [join(peersDir(), 'stop-kamailio.sh')], {
    env: kamailioEnv(profile),
    timeoutMs: 10_000,
  });
  if (result.code !== 0) throw new Error(`stop-kamailio.sh (${profile}) failed:\n${result.stderr}`);
}

/**
 * Starts a Kamailio profile and resolves once it answers OPTIONS on UDP and
 * TCP (about 0.3 s), with its pid. Its state starts empty.
 */
export async function startKamailio(profile: KamailioProfile = 'presence'): Promise<number> {
  const result = await run('bash', [join(peersDir(), 'start-kamailio.sh')], {
    env: kamailioEnv(profile),
    timeoutMs: 25_000,
  });
  const pid = Number(result.stdout.trim());
  if (result.code !== 0 || !Number.isInteger(pid) || pid <= 0) {
    throw new Error(`start-kamailio.sh (${profile}) failed:\n${result.stderr}`);
  }
  return pid;
}

/**
 * Restarts Kamailio on the same address (stop, then start, awaiting its
 * OPTIONS 200): every subscription and publication it held is gone. Returns
 * the new pid. For "presence server restarted under a live subscription".
 */
export async function restartKamailio(profile: KamailioProfile = 'presence'): Promise<number> {
  await stopKamailio(profile);
  return startKamailio(profile);
}

// ------------------------------------------------------------------ baresip control

export interface BaresipAnswer {
  readonly ok: boolean;
  readonly data: string;
  /** The JSON answer as received. */
  readonly raw: string;
}

/**
 * Sends one command to baresip's ctrl_tcp socket (a netstring holding
 * `{"command","params","token"}`) and resolves with its answer; rejects when
 * the answer says `ok: false` or does not come within `timeoutMs`.
 * `presence_online` / `presence_offline` make baresip NOTIFY every watcher.
 */
export function baresipCommand(
  command: string,
  params = '',
  timeoutMs = 3000,
): Promise<BaresipAnswer> {
  const address = baresipControlAddress();
  const json = JSON.stringify({ command, params, token: 'pb2b' });
  const request = `${Buffer.byteLength(json)}:${json},`;
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | null, answer?: BaresipAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      if (error !== null) reject(error);
      else if (answer !== undefined) resolve(answer);
    };
    // A real I/O deadline for an external process: no Clock involved.
    const deadline = setTimeout(
      () => finish(new Error(`baresip ctrl ${command}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(request));
    socket.on('error', (error) => finish(new Error(`baresip ctrl ${command}: ${error.message}`)));
    socket.on('close', () => finish(new Error(`baresip ctrl ${command}: connection closed without an answer`)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const colon = received.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(received.subarray(0, colon).toString('latin1'));
      if (!Number.isInteger(length)) {
        finish(new Error(`baresip ctrl ${command}: not a netstring: ${received.toString('latin1')}`));
        return;
      }
      if (received.length < colon + 1 + length + 1) return;
      const raw = received.subarray(colon + 1, colon + 1 + length).toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        finish(new Error(`baresip ctrl ${command}: answer is not JSON: ${raw}`));
        return;
      }
      const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
      const ok = record.ok === true;
      const data = typeof record.data === 'string' ? record.data : '';
      if (!ok) finish(new Error(`baresip ctrl ${command} refused: ${raw}`));
      else finish(null, { ok, data, raw });
    });
  });
}

// ------------------------------------------------------------------ OPTIONS probe

export interface OptionsAnswer {
  readonly status: number;
  readonly reason: string;
  /** The whole response as received. */
  readonly raw: string;
}

/**
 * Sends a hand-written OPTIONS over UDP from 127.0.0.1 (an ephemeral port) to
 * `address`, retransmitting every 500 ms (RFC 3261 §17.1.2.2, T1), and
 * resolves with the first final response of that transaction. Rejects after
 * `timeoutMs`.
 */
export function sendOptions(address: PeerAddress, user = 'probe', timeoutMs = 2000): Promise<OptionsAnswer> {
  const socket = createSocket('udp4');
  const branch = `z9hG4bK-pb2b-${randomBytes(6).toString('hex')}`;
  const callId = `${randomBytes(8).toString('hex')}@127.0.0.1`;
  return new Promise<OptionsAnswer>((resolve, reject) => {
    let settled = false;
    let retransmit: NodeJS.Timeout | undefined;
    const finish = (error: Error | null, answer?: OptionsAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(retransmit);
      socket.close();
      if (error !== null) reject(error);
      else if (answer !== undefined) resolve(answer);
    };
    // Real I/O deadline against an external process.
    const deadline = setTimeout(
      () => finish(new Error(`OPTIONS to ${address.host}:${address.port}: no final answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('error', (error) => finish(new Error(`OPTIONS to ${address.host}:${address.port}: ${error.message}`)));
    socket.on('message', (packet: Buffer) => {
      const raw = packet.toString('utf8');
      const statusLine = /^SIP\/2\.0 (\d{3}) ([^\r\n]*)\r\n/.exec(raw);
      if (statusLine === null || !raw.includes(branch)) return;
      const status = Number(statusLine[1]);
      if (status < 200) return;
      finish(null, { status, reason: statusLine[2] ?? '', raw });
    });
    socket.bind(0, '127.0.0.1', () => {
      const local = socket.address();
      const request = [
        `OPTIONS sip:${user}@${address.host}:${address.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${local.port};branch=${branch};rport`,
        'Max-Forwards: 70',
        `From: <sip:probe@127.0.0.1:${local.port}>;tag=${randomBytes(4).toString('hex')}`,
        `To: <sip:${user}@${address.host}:${address.port}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 OPTIONS',
        `Contact: <sip:probe@127.0.0.1:${local.port}>`,
        'Accept: application/sdp',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      const send = (): void => {
        socket.send(request, address.port, address.host);
      };
      send();
      retransmit = setInterval(send, 500);
    });
  });
}
