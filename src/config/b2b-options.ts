import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { PresenceB2BOptions } from '../b2b/create-presence-b2b.js';
import { presenceB2BOptionProblems } from '../b2b/presence-b2b-options-check.js';
import type { DigestCredentials } from '../sip/auth/digest-client.js';
import type { ListenSpec } from '../sip/transport/types.js';
import type { CredentialLookup } from '../subscription/presence-engine.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import type { CredentialConfig, DaemonConfig } from './config-schema.js';

/**
 * Turns the validated configuration into `createPresenceB2B` options. Reads
 * the TLS key and certificate files now, and applies createPresenceB2B's own
 * checks to the result (a key and certificate that do not load or do not
 * match, the same socket listed twice, …), so that every option the B2BUA
 * would refuse is a ConfigError naming its key (exit 2) before anything binds.
 */
export function b2bOptionsFromConfig(config: DaemonConfig): PresenceB2BOptions {
  const options = optionsOf(config);
  const problems = presenceB2BOptionProblems(options);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => ({ path: configKeyOf(p.option), message: withTlsFiles(config, configKeyOf(p.option), p.message) })));
  return options;
}

/** A problem of `sip.listen.N.tls` names the files it read, so that the message says which ones to fix. */
function withTlsFiles(config: DaemonConfig, key: string, message: string): string {
  const match = /^sip\.listen\.(\d+)\.tls$/.exec(key);
  const tls = match === null ? undefined : config.sip.listen[Number(match[1])]?.tls;
  if (tls === undefined) return message;
  return `${message} (key_file ${tls.key_file}, cert_file ${tls.cert_file}${tls.ca_file !== undefined ? `, ca_file ${tls.ca_file}` : ''})`;
}

/** Why `pem` is not what `key` of a TLS listen entry must hold, or undefined when it is. */
function pemProblem(key: 'key_file' | 'cert_file' | 'ca_file', pem: Buffer): string | undefined {
  try {
    if (key === 'key_file') createPrivateKey({ key: pem });
    else new X509Certificate(pem);
    return undefined;
  } catch (error) {
    // OpenSSL's reason ("no start line", "bad base64 decode") says what is wrong with the file.
    const reason = error instanceof Error ? error.message : String(error);
    return key === 'key_file' ? `not a PEM private key (${reason})` : `not a PEM certificate (${reason})`;
  }
}

/**
 * The configuration key of a createPresenceB2B option path:
 * `listen[1].advertisedHost` → `sip.listen.1.advertised_host`,
 * `hosts["pres.example.com"][0]` → `hosts.pres.example.com`, `t1Ms` → `timers.t1`.
 */
/** Option paths (snake-cased) whose configuration key is named otherwise. */
const OPTION_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['sip_limits.max_connections', 'sip.max_connections'],
  ['sip_limits.idle_timeout_ms', 'sip.idle_timeout'],
  ['sip_limits.message_timeout_ms', 'sip.message_timeout'],
  ['sip_limits.max_message_bytes', 'sip.max_message_size'],
  ['sip_limits.udp_receive_buffer_bytes', 'sip.udp_receive_buffer'],
  ['overload.backlog_limit_bytes', 'sip.overload.backlog_limit'],
  ['overload.retry_after_seconds', 'sip.overload.retry_after'],
  ['tls_client.ca', 'sip.tls_client.ca_file'],
  ['tls_client.verify', 'sip.tls_client.verify'],
];

export function configKeyOf(option: string): string {
  const hosts = /^hosts\["((?:[^"\\]|\\.)*)"\]/.exec(option);
  if (hosts !== null) return `hosts.${JSON.parse(`"${hosts[1]}"`) as string}`;
  const path = option
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .map((segment) => segment.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))
    .join('.');
  if (path === 't1_ms') return 'timers.t1';
  for (const [prefix, key] of OPTION_KEYS) if (path === prefix || path.startsWith(`${prefix}.`)) return key + path.slice(prefix.length);
  return path.startsWith('listen') ? `sip.${path}` : path;
}

function optionsOf(config: DaemonConfig): PresenceB2BOptions {
  return {
    defaultExpiration: config.default_expiration,
    onErrorRetryTime: config.on_error_retry_time,
    maxErrorRetryTime: config.max_error_retry_time,
    finalRetryTime: config.final_retry_time,
    presenceRoute: config.presence_route,
    additionalPresenceHeaders: config.additional_presence_headers,
    waitForTermNotify: config.wait_for_term_notify,
    resubscribeDelta: config.resubscribe_delta,
    minResubscribeTime: config.min_resubscribe_time,
    handlePresenceSubscriptions: config.handle_presence_subscriptions,
    presenceOutboundProxy: config.presence_outbound_proxy,
    maxSubscribeDelay: config.max_subscribe_delay,
    shareIdenticalSubscriptions: config.share_identical_subscriptions,
    refreshJitter: config.refresh_jitter,
    maxRedirects: config.max_redirects,
    maxSubscribeRate: config.max_subscribe_rate,
    resumeGrace: config.resume_grace,
    contactUser: config.contact_user,
    t1Ms: config.timers.t1,
    timers: { t1: config.timers.t1, t2: config.timers.t2, t4: config.timers.t4 },
    notifySourceCheck: config.notify_source_check,
    listen: listenSpecsFromConfig(config),
    sipLimits: {
      maxConnections: config.sip.max_connections,
      idleTimeoutMs: config.sip.idle_timeout * 1000,
      messageTimeoutMs: config.sip.message_timeout * 1000,
      maxMessageBytes: { ...config.sip.max_message_size },
      udpReceiveBufferBytes: config.sip.udp_receive_buffer,
    },
    overload: { backlogLimitBytes: config.sip.overload.backlog_limit, retryAfterSeconds: config.sip.overload.retry_after },
    tlsClient: tlsClientFromConfig(config),
    credentials: credentialLookup(config.credentials),
    hosts: hostTable(config.hosts),
    userAgent: config.user_agent,
    resourceListRecords: config.resource_list_records,
  };
}

/** sip.tls_client: its CA file read now (a file that cannot be read is CONFIG_ERR_FILE naming the key). */
function tlsClientFromConfig(config: DaemonConfig): NonNullable<PresenceB2BOptions['tlsClient']> {
  const { ca_file: file, verify } = config.sip.tls_client;
  if (file === undefined) return { verify };
  try {
    return { ca: readFileSync(file), verify };
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ConfigError([{ path: 'sip.tls_client.ca_file', message: `cannot read ${file}: ${reason}` }], 'CONFIG_ERR_FILE');
  }
}

/** The HTTP API's certificate and key (http.tls), read and checked: a ConfigError names the file at fault. */
export function httpTlsFromConfig(config: DaemonConfig): { cert: Buffer; key: Buffer } | undefined {
  const tls = config.http.tls;
  if (tls === undefined) return undefined;
  const problems: ConfigProblem[] = [];
  const read = (key: 'key_file' | 'cert_file'): Buffer => {
    const file = tls[key];
    try {
      const pem = readFileSync(file);
      const problem = pemProblem(key, pem);
      if (problem !== undefined) problems.push({ path: `http.tls.${key}`, message: `${file}: ${problem}` });
      return pem;
    } catch (error) {
      const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
      problems.push({ path: `http.tls.${key}`, message: `cannot read ${file}: ${reason}` });
      return Buffer.alloc(0);
    }
  };
  const key = read('key_file');
  const cert = read('cert_file');
  if (problems.length > 0) throw new ConfigError(problems, 'CONFIG_ERR_FILE');
  return { cert, key };
}

export function listenSpecsFromConfig(config: DaemonConfig): ListenSpec[] {
  const problems: ConfigProblem[] = [];
  const specs = config.sip.listen.map((l, index): ListenSpec => {
    const spec: ListenSpec = { transport: l.transport, host: l.host, port: l.port };
    if (l.advertised_host !== undefined) spec.advertisedHost = l.advertised_host;
    if (l.tls !== undefined) {
      const read = (key: 'key_file' | 'cert_file' | 'ca_file'): Buffer | undefined => {
        const file = l.tls?.[key];
        if (file === undefined) return undefined;
        let pem: Buffer;
        try {
          pem = readFileSync(file);
        } catch (error) {
          const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
          problems.push({ path: `sip.listen.${index}.tls.${key}`, message: `cannot read ${file}: ${reason}` });
          return undefined;
        }
        const problem = pemProblem(key, pem);
        if (problem !== undefined) problems.push({ path: `sip.listen.${index}.tls.${key}`, message: `${file}: ${problem}` });
        return pem;
      };
      const key = read('key_file');
      const cert = read('cert_file');
      const ca = read('ca_file');
      spec.tls = { key: key ?? '', cert: cert ?? '' };
      if (ca !== undefined) spec.tls.ca = ca;
      if (l.tls.reject_unauthorized !== undefined) spec.tls.rejectUnauthorized = l.tls.reject_unauthorized;
    }
    return spec;
  });
  if (problems.length > 0) throw new ConfigError(problems, 'CONFIG_ERR_FILE');
  return specs;
}

/**
 * Credentials by subscriber URI: an entry with a realm answers only that
 * realm's challenges; one without answers any realm (the realm-specific
 * entry wins when both exist).
 */
export function credentialLookup(entries: readonly CredentialConfig[]): CredentialLookup {
  const bySubscriber = new Map<string, CredentialConfig[]>();
  for (const e of entries) {
    const key = normalizeUri(e.subscriber);
    const list = bySubscriber.get(key) ?? [];
    list.push(e);
    bySubscriber.set(key, list);
  }
  return (subscriber: string, realm: string): DigestCredentials | undefined => {
    const list = bySubscriber.get(normalizeUri(subscriber));
    if (list === undefined) return undefined;
    const match = list.find((e) => e.realm === realm) ?? list.find((e) => e.realm === undefined);
    return match === undefined ? undefined : { username: match.username, password: match.password };
  };
}

/** Compares subscriber URIs without `<>`, URI parameters or case in scheme and host. */
function normalizeUri(uri: string): string {
  let u = uri.trim();
  if (u.startsWith('<') && u.endsWith('>')) u = u.slice(1, -1);
  const semicolon = u.indexOf(';');
  if (semicolon >= 0) u = u.slice(0, semicolon);
  const at = u.lastIndexOf('@');
  return at < 0 ? u.toLowerCase() : `${u.slice(0, at)}@${u.slice(at + 1).toLowerCase()}`.replace(/^sips?:/i, (s) => s.toLowerCase());
}

function hostTable(hosts: Record<string, string | string[]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(hosts)) out[name] = Array.isArray(value) ? value : [value];
  return out;
}
