import { z } from 'zod';
import { findListCycle, resourceKey } from '../rls/resource-list-catalog.js';
import { DEFAULT_STORE_PATH, type StoreSpec } from '../store/store-spec.js';
import { TIMER_LIMITS } from '../b2b/presence-b2b-options-check.js';
import {
  additionalHeadersProblem,
  ENGINE_NUMBER_LIMITS,
  outboundProxyProblem,
  routeListProblem,
} from '../subscription/engine-options.js';
import { DEFAULT_KEPT_BODY_COMPACTION_MS } from '../qsa/kept-body-store.js';
import { headerTextProblem, hostProblem, ipAddressProblem } from '../util/option-checks.js';
import { DEFAULT_HELPER_THREADS_NICE, DEFAULT_HELPER_THREADS_NICE_AFTER_S } from '../util/helper-thread-priority.js';
import { DEFAULT_SINGLE_THREADED_GC } from '../util/single-threaded-gc.js';
import { DEFAULT_HEAP_GROWING } from '../util/heap-growing.js';

/** sip.overload defaults: shed above half the UDP receive buffer, Retry-After 5 s. */
export const DEFAULT_OVERLOAD = { backlog_limit: 'auto', retry_after: 5 } as const;
/** The SIP transport limits' defaults (docs/hostile-input.md). */
export const DEFAULT_SIP_LIMITS = { max_connections: 1024, idle_timeout: 300, message_timeout: 10, udp_receive_buffer: 4 * 1024 * 1024 } as const;

/**
 * The daemon's configuration file, validated before anything binds.
 * The SER presence_b2b parameters keep their names (snake_case), meaning and
 * defaults (docs/ser-presence-b2b.md §4); everything else is new. Every object is
 * strict: an unknown key is an error, not silently ignored.
 */

/** Renders an offending value in an error message: strings quoted, the rest as JSON. */
export function showValue(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (typeof input === 'string') return JSON.stringify(input);
  if (typeof input === 'number' || typeof input === 'boolean' || input === null) return String(input);
  if (Array.isArray(input)) return 'a list';
  return 'an object';
}

/**
 * A whole number in [min, max], with one message for every way of missing it.
 * `limit` is an upper bound that only a far-fetched value reaches (RFC 3261
 * delta-seconds): it is not shown in the everyday message, only when exceeded.
 */
function integer(min: number, max?: number, limit?: number) {
  const range = max === undefined ? `≥ ${min}` : `from ${min} to ${max}`;
  const error = (issue: { input?: unknown; code?: string }) =>
    issue.code === 'invalid_type' && typeof issue.input === 'number' && Number.isFinite(issue.input)
      ? `expected a whole number ${range}, got ${showValue(issue.input)}`
      : `expected a number ${range}, got ${showValue(issue.input)}`;
  const base = z.number({ error }).int({ error }).min(min, { error });
  if (max !== undefined) return base.max(max, { error });
  if (limit !== undefined) return base.max(limit, { error: (issue) => `expected at most ${limit}, got ${showValue(issue.input)}` });
  return base;
}

/** A setting of the engine, with the engine's own range (ENGINE_NUMBER_LIMITS): one rule for both. */
function engineInteger(name: keyof typeof ENGINE_NUMBER_LIMITS, showMax: boolean) {
  const { min, max } = ENGINE_NUMBER_LIMITS[name];
  return showMax ? integer(min, max) : integer(min, undefined, max);
}

/** A string checked by one of the shared option checks (the same rule createPresenceB2B applies). */
function checkedText(what: string, problem: (value: string) => string | undefined) {
  return text(what).superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: value });
  });
}

function text(what = 'a string') {
  return z.string({ error: (issue) => `expected ${what}, got ${showValue(issue.input)}` });
}

/** SER wrote flags as integers: 0 / 1 are accepted beside true / false. */
const flag = z
  .union([z.boolean(), z.literal(0), z.literal(1)], {
    error: (issue) => `expected true, false, 0 or 1, got ${showValue(issue.input)}`,
  })
  .transform((v) => v === true || v === 1);

const sipUriOrEmpty = checkedText('a SIP URI or ""', outboundProxyProblem);

const sipUri = text('a SIP URI').refine((v) => resourceKey(v) !== undefined, {
  error: (issue) => `expected a SIP URI (sip:… or sips:…), got ${showValue(issue.input)}`,
});

const host = checkedText('a host name or IP address', hostProblem);
const ipAddress = checkedText('an IPv4 or IPv6 address', ipAddressProblem);

export const TLS_FILES_SCHEMA = z.strictObject({
  key_file: text('a file path'),
  cert_file: text('a file path'),
  ca_file: text('a file path').optional(),
  reject_unauthorized: z.boolean().optional(),
});

export const LISTEN_SCHEMA = z
  .strictObject({
    transport: z.enum(['udp', 'tcp', 'tls']),
    host,
    port: integer(0, 65535),
    advertised_host: host.optional(),
    tls: TLS_FILES_SCHEMA.optional(),
  })
  .superRefine((listen, ctx) => {
    if (listen.transport === 'tls' && listen.tls === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'required for transport tls: { key_file, cert_file }' });
    }
    if (listen.transport !== 'tls' && listen.tls !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: `only meaningful for transport tls, not ${listen.transport}` });
    }
  });

/**
 * One presentity of `local_agent.user_agents`: the UA's address as a string,
 * or `{ address }`, or `{ via_proxy: true }` (subscribe to the presentity's
 * own URI through presence_outbound_proxy); `subscriber` overrides the
 * watcher identity for this one.
 */
export const USER_AGENT_SCHEMA = z.union([
  sipUri,
  z
    .strictObject({
      address: sipUri.optional(),
      via_proxy: z.boolean().optional(),
      subscriber: sipUri.optional(),
    })
    .superRefine((entry, ctx) => {
      const proxied = entry.via_proxy === true;
      if (proxied && entry.address !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['address'], message: 'give either address or via_proxy: true, not both' });
      }
      if (!proxied && entry.address === undefined) {
        ctx.addIssue({ code: 'custom', path: [], message: 'expected address: <the UA’s SIP URI> or via_proxy: true' });
      }
    }),
]);

/** One list of `resource_lists` (RFC 4662): members in order, an optional owner. */
export const RESOURCE_LIST_SCHEMA = z.strictObject({
  owner: sipUri.optional(),
  members: z.array(sipUri),
});

export const CREDENTIAL_SCHEMA = z.strictObject({
  subscriber: text('a SIP URI').refine((v) => /^sips?:/i.test(v), {
    error: (issue) => `expected a SIP URI (sip:… or sips:…), got ${showValue(issue.input)}`,
  }),
  username: text(),
  password: text(),
  realm: text().optional(),
});

/** Whether `value` is a postgres:// (or postgresql://) URL naming a host; the reason when it is not. */
function postgresUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `expected a URL postgres://user@host:port/database, got ${showValue(value)}`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') return `expected a postgres:// URL, got the scheme ${url.protocol}`;
  if (url.hostname === '') return 'expected a host in the URL (postgres://user@host:port/database)';
  if (url.pathname.length <= 1) return 'expected a database name in the URL (postgres://user@host:port/database)';
  return undefined;
}

/**
 * Where the daemon keeps its desired state (API subscriptions, named queues
 * and their event-id high-water marks) and dialog snapshots. `sqlite` (the
 * default) is a file, relative paths against the working directory, created
 * on first start; `memory` turns persistence off; `postgres` is a database
 * server (`url`), the store a cluster's nodes share.
 */
export const STORE_SCHEMA = z
  .strictObject({
    type: z.enum(['sqlite', 'memory', 'postgres']).default('sqlite'),
    path: text('a file path').min(1, { error: 'expected a file path, got ""' }).optional(),
    url: text('a postgres:// URL')
      .superRefine((value, ctx) => {
        const message = postgresUrlProblem(value);
        // The value is not repeated: a URL may carry a password.
        if (message !== undefined) ctx.addIssue({ code: 'custom', message: message.replace(/, got ".*"$/, '') });
      })
      .optional(),
  })
  .superRefine((store, ctx) => {
    if (store.type !== 'sqlite' && store.path !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: `only meaningful for type sqlite, not ${store.type}` });
    }
    if (store.type !== 'postgres' && store.url !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: `only meaningful for type postgres, not ${store.type}` });
    }
    if (store.type === 'postgres' && store.url === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'required for type postgres (postgres://user@host:port/database)' });
    }
  })
  .transform((store): StoreSpec => {
    if (store.type === 'memory') return { type: 'memory' };
    if (store.type === 'postgres') return { type: 'postgres', url: store.url ?? '' };
    return { type: 'sqlite', path: store.path ?? DEFAULT_STORE_PATH };
  });

/**
 * Cluster mode (issue 16): several nodes share a PostgreSQL store and the
 * shards of the subscriptions through leases. `node_id` names this node
 * (different on each); `lease_ttl` (seconds) is how long a node that stops
 * renewing keeps its shards; `shards` must be the same on every node and
 * every start (it is stored).
 */
export const CLUSTER_SCHEMA = z.strictObject({
  node_id: text('a node id')
    .min(1, { error: 'expected a node id of 1 to 64 letters, digits, ".", "_" or "-", got ""' })
    .max(64, { error: 'expected a node id of at most 64 characters' })
    .regex(/^[A-Za-z0-9._-]+$/, { error: (issue) => `expected a node id of letters, digits, ".", "_" or "-", got ${showValue(issue.input)}` }),
  lease_ttl: z
    .number({ error: (issue) => `expected a number of seconds from 1 to 3600, got ${showValue(issue.input)}` })
    .min(1, { error: (issue) => `expected a number of seconds from 1 to 3600, got ${showValue(issue.input)}` })
    .max(3600, { error: (issue) => `expected a number of seconds from 1 to 3600, got ${showValue(issue.input)}` })
    .default(15),
  shards: integer(1, 65536).default(1024),
});

/**
 * HEPv3 export of every SIP message to a Homer collector (src/hep); off
 * without this key. `password` goes into the auth key chunk.
 */
export const HEP_SCHEMA = z.strictObject({
  address: host,
  port: integer(1, 65535),
  capture_id: integer(0, 0xffffffff),
  password: text().optional(),
});

/** Outgoing TLS (sip.tls_client): the CAs to trust instead of the system's, and whether to verify at all. */
export const TLS_CLIENT_SCHEMA = z.strictObject({
  ca_file: text('a file path').optional(),
  verify: z.boolean().default(true),
});

const heapGrowingError = (issue: { input?: unknown }) => `expected auto, or a whole percent from 0 (V8's own) to 1000, got ${showValue(issue.input)}`;

const backlogLimitError = (issue: { input?: unknown }) => `expected auto, or a whole number of octets from 0 (off) to 1073741824, got ${showValue(issue.input)}`;

/** Load shedding (sip.overload): octets of UDP receive backlog above which requests get 503; `auto` = half the receive buffer; 0 = off. */
export const OVERLOAD_SCHEMA = z.strictObject({
  backlog_limit: z
    .union(
      [
        z.literal('auto'),
        z
          .number()
          .int({ error: backlogLimitError })
          .min(0, { error: backlogLimitError })
          .max(1 << 30, { error: backlogLimitError }),
      ],
      { error: backlogLimitError },
    )
    .default(DEFAULT_OVERLOAD.backlog_limit),
  retry_after: integer(1, 3600).default(DEFAULT_OVERLOAD.retry_after),
});

const messageSize = (max: number) => integer(1024, max);

export const MAX_MESSAGE_SIZE_SCHEMA = z.strictObject({
  udp: messageSize(65_535).default(65_535),
  tcp: messageSize(16 * 1024 * 1024).default(65_535),
  tls: messageSize(16 * 1024 * 1024).default(65_535),
});

export const DEFAULT_SIP_PORT = 5060;
export const DEFAULT_HTTP_PORT = 7080;
/** The HTTP API's limits by default (README, Configuration). */
export const DEFAULT_HTTP_LIMITS = {
  max_subscriptions: 100_000,
  max_queues: 1000,
  max_sse_clients: 100,
  max_body: 64 * 1024,
  rate_limit: { requests_per_second: 1000, burst: 2000 },
} as const;

export const CONFIG_SCHEMA = z
  .strictObject({
    // ---- the SER presence_b2b parameters (seed), same names and defaults
    default_expiration: engineInteger('defaultExpiration', false).default(3600),
    on_error_retry_time: engineInteger('onErrorRetryTime', false).default(120),
    presence_route: checkedText('Route values', routeListProblem).default(''),
    additional_presence_headers: checkedText('header lines', additionalHeadersProblem).default(''),
    wait_for_term_notify: engineInteger('waitForTermNotify', false).default(30),
    // ≥ 1 (ENGINE_NUMBER_LIMITS): 0 made a short grant refresh in a zero-delay loop (issue 9).
    resubscribe_delta: engineInteger('resubscribeDelta', false).default(30),
    min_resubscribe_time: engineInteger('minResubscribeTime', false).default(30),
    handle_presence_subscriptions: flag.default(true),
    presence_outbound_proxy: sipUriOrEmpty.default(''),
    max_subscribe_delay: engineInteger('maxSubscribeDelay', false).default(0),
    // ---- new engine settings
    max_error_retry_time: engineInteger('maxErrorRetryTime', false).default(3600),
    final_retry_time: engineInteger('finalRetryTime', false).default(0),
    share_identical_subscriptions: flag.default(true),
    refresh_jitter: engineInteger('refreshJitter', false).default(5),
    max_redirects: engineInteger('maxRedirects', true).default(5),
    max_subscribe_rate: engineInteger('maxSubscribeRate', true).default(1000),
    resume_grace: engineInteger('resumeGrace', false).default(60),
    contact_user: checkedText('a user part', (v) => headerTextProblem(v, { nonEmpty: true })).default('b2b'),
    // A NOTIFY of one of our dialogs from an address the dialog does not expect (docs/hostile-input.md).
    notify_source_check: z.enum(['off', 'log', 'reject']).default('log'),
    user_agent: checkedText('a string', (v) => headerTextProblem(v)).default('presence-b2b'),
    /** Records that are resource lists (RFC 4662): subscribed to with `Supported: eventlist` from the start. */
    resource_list_records: z.array(sipUri).default([]),
    /** ms a last status body stays unchanged before it is kept compacted (reads give the same bytes); 0 = never. */
    kept_body_compaction_ms: integer(0, 86_400_000).default(DEFAULT_KEPT_BODY_COMPACTION_MS),
    // ---- SIP
    sip: z
      .strictObject({
        listen: z
          .array(LISTEN_SCHEMA)
          .min(1, { error: 'expected at least one listening socket' })
          .default([
            { transport: 'udp', host: '127.0.0.1', port: DEFAULT_SIP_PORT },
            { transport: 'tcp', host: '127.0.0.1', port: DEFAULT_SIP_PORT },
          ]),
        /** TCP+TLS connections open at once, inbound and outbound; past it, new ones are refused. */
        max_connections: integer(1, 1_000_000).default(DEFAULT_SIP_LIMITS.max_connections),
        /** Seconds without traffic after which a TCP/TLS connection is closed. */
        idle_timeout: integer(1, 86_400).default(DEFAULT_SIP_LIMITS.idle_timeout),
        /** Seconds a TCP/TLS peer has to send the rest of a message it started; 0 = no limit. */
        message_timeout: integer(0, 3600).default(DEFAULT_SIP_LIMITS.message_timeout),
        max_message_size: MAX_MESSAGE_SIZE_SCHEMA.default({ udp: 65_535, tcp: 65_535, tls: 65_535 }),
        /** SO_RCVBUF asked for each UDP socket, octets (capped by the kernel at net.core.rmem_max); 0 = the kernel's default. */
        udp_receive_buffer: integer(0, 1 << 30).default(DEFAULT_SIP_LIMITS.udp_receive_buffer),
        overload: OVERLOAD_SCHEMA.default({ ...DEFAULT_OVERLOAD }),
        tls_client: TLS_CLIENT_SCHEMA.default({ verify: true }),
      })
      .default({
        listen: [
          { transport: 'udp', host: '127.0.0.1', port: DEFAULT_SIP_PORT },
          { transport: 'tcp', host: '127.0.0.1', port: DEFAULT_SIP_PORT },
        ],
        ...DEFAULT_SIP_LIMITS,
        max_message_size: { udp: 65_535, tcp: 65_535, tls: 65_535 },
        overload: { ...DEFAULT_OVERLOAD },
        tls_client: { verify: true },
      }),
    timers: z
      .strictObject({
        t1: integer(TIMER_LIMITS.t1.min, TIMER_LIMITS.t1.max).default(500),
        t2: integer(TIMER_LIMITS.t2.min, TIMER_LIMITS.t2.max).default(4000),
        t4: integer(TIMER_LIMITS.t4.min, TIMER_LIMITS.t4.max).default(5000),
      })
      .default({ t1: 500, t2: 4000, t4: 5000 }),
    credentials: z.array(CREDENTIAL_SCHEMA).default([]),
    hosts: z.record(host, z.union([ipAddress, z.array(ipAddress).min(1)])).default({}),
    // ---- services around the B2BUA
    http: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: host.default('127.0.0.1'),
        port: integer(0, 65535).default(DEFAULT_HTTP_PORT),
        token: text().min(8, { error: 'expected a token of at least 8 characters' }).optional(),
        /** Status messages kept per named queue for `Last-Event-ID` resume. */
        sse_buffer: integer(1, 100_000).default(1000),
        // Limits (docs/hostile-input.md, "HTTP API"); 0 = no limit.
        max_subscriptions: integer(0, 10_000_000).default(DEFAULT_HTTP_LIMITS.max_subscriptions),
        max_queues: integer(0, 1_000_000).default(DEFAULT_HTTP_LIMITS.max_queues),
        max_sse_clients: integer(0, 100_000).default(DEFAULT_HTTP_LIMITS.max_sse_clients),
        max_body: integer(1024, 16 * 1024 * 1024).default(DEFAULT_HTTP_LIMITS.max_body),
        rate_limit: z
          .strictObject({
            requests_per_second: integer(0, 1_000_000).default(DEFAULT_HTTP_LIMITS.rate_limit.requests_per_second),
            burst: integer(1, 1_000_000).default(DEFAULT_HTTP_LIMITS.rate_limit.burst),
          })
          .default(DEFAULT_HTTP_LIMITS.rate_limit),
        /** HTTPS: the API's certificate chain and key (PEM files). */
        tls: z.strictObject({ cert_file: text('a file path'), key_file: text('a file path') }).optional(),
      })
      .default({
        enabled: true,
        host: '127.0.0.1',
        port: DEFAULT_HTTP_PORT,
        sse_buffer: 1000,
        ...DEFAULT_HTTP_LIMITS,
        rate_limit: { ...DEFAULT_HTTP_LIMITS.rate_limit },
      }),
    local_agent: z
      .strictObject({
        enabled: z.boolean().default(true),
        domains: z.array(host).default(['localhost']),
        /** Presentity → its own user agent, for presentities that never PUBLISH. */
        user_agents: z.record(z.string(), USER_AGENT_SCHEMA).default({}),
        /** Watcher identity of the subscriptions to user agents; default: the presentity itself. */
        subscriber: sipUri.optional(),
      })
      .default({ enabled: true, domains: ['localhost'], user_agents: {} }),
    // ---- the resource list server (RFC 4662)
    resource_lists: z.record(z.string(), RESOURCE_LIST_SCHEMA).default({}),
    rls_min_notify_interval: z
      .number({ error: (issue) => `expected a number of seconds from 0 to 3600, got ${showValue(issue.input)}` })
      .min(0, { error: (issue) => `expected a number of seconds from 0 to 3600, got ${showValue(issue.input)}` })
      .max(3600, { error: (issue) => `expected a number of seconds from 0 to 3600, got ${showValue(issue.input)}` })
      .default(1),
    store: STORE_SCHEMA.default({ type: 'sqlite', path: DEFAULT_STORE_PATH }),
    hep: HEP_SCHEMA.optional(),
    cluster: CLUSTER_SCHEMA.optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Nice value of the process's threads other than the main one (V8's GC and compiler helpers); 0 = leave them. */
    helper_threads_nice: integer(0, 19).default(DEFAULT_HELPER_THREADS_NICE),
    /** Seconds after the start before they are lowered, then once the main thread has been < 80 % busy for 3 s (one-way); 0 = at the start. */
    helper_threads_nice_after_s: integer(0, 86_400).default(DEFAULT_HELPER_THREADS_NICE_AFTER_S),
    /** V8's GC on the main thread only (node --single-threaded-gc); auto = when the process may use one core. */
    single_threaded_gc: z
      .union([z.literal('auto'), z.boolean()], { error: (issue) => `expected auto, true or false, got ${showValue(issue.input)}` })
      .default(DEFAULT_SINGLE_THREADED_GC),
    /** The old generation's next limit as a percent above what survived a mark-compact (node --heap-growing-percent); auto = 300 with single-threaded GC, else V8's own; 0 = V8's own. */
    heap_growing_percent: z
      .union([z.literal('auto'), z.number().int({ error: heapGrowingError }).min(0, { error: heapGrowingError }).max(1000, { error: heapGrowingError })], { error: heapGrowingError })
      .default(DEFAULT_HEAP_GROWING),
    shutdown: z
      .strictObject({
        mode: z.enum(['unsubscribe', 'leave']).default('unsubscribe'),
        timeout_ms: integer(0, 600_000).default(5000),
      })
      .default({ mode: 'unsubscribe', timeout_ms: 5000 }),
  })
  .superRefine((config, ctx) => {
    if (config.http.enabled && !isLoopbackHost(config.http.host) && config.http.token === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['http', 'token'],
        message: `required when the HTTP API listens beyond loopback (http.host is ${JSON.stringify(config.http.host)})`,
      });
    }
    if (config.local_agent.enabled && config.local_agent.domains.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['local_agent', 'domains'], message: 'expected at least one domain when the local agent is enabled' });
    }
    if (config.cluster !== undefined && config.store.type !== 'postgres') {
      ctx.addIssue({ code: 'custom', path: ['cluster'], message: `needs store.type postgres (the nodes share the database), not ${config.store.type}` });
    }
    checkUserAgents(config, ctx);
    checkResourceLists(config.resource_lists, ctx);
  });

/** What the cross-key checks read of the configuration. */
interface CheckedKeys {
  presence_outbound_proxy: string;
  local_agent: { domains: string[]; user_agents: Record<string, string | { via_proxy?: boolean | undefined }> };
  resource_lists: Record<string, { members: string[] }>;
}
interface RefineContext {
  addIssue(issue: { code: 'custom'; path: PropertyKey[]; message: string }): void;
}

/** user_agents: presentities of served domains; via_proxy needs the proxy. */
function checkUserAgents(config: CheckedKeys, ctx: RefineContext): void {
  const domains = new Set(config.local_agent.domains.map((d) => d.trim().toLowerCase()));
  for (const [uri, entry] of Object.entries(config.local_agent.user_agents)) {
    const path = ['local_agent', 'user_agents', uri];
    const key = resourceKey(uri);
    const host = key === undefined ? undefined : key.slice(key.lastIndexOf('@') + 1).replace(/^sip:/, '');
    if (key === undefined) ctx.addIssue({ code: 'custom', path, message: `expected a SIP URI as the presentity, got ${JSON.stringify(uri)}` });
    else if (host === undefined || !domains.has(host)) {
      ctx.addIssue({ code: 'custom', path, message: `not in a domain of local_agent.domains (${[...domains].join(', ')})` });
    }
    if (typeof entry === 'object' && entry.via_proxy === true && config.presence_outbound_proxy === '') {
      ctx.addIssue({ code: 'custom', path: [...path, 'via_proxy'], message: 'needs presence_outbound_proxy (where the SUBSCRIBE to the presentity goes)' });
    }
  }
}

/** resource_lists: each list once, and no list that contains itself through nested lists. */
function checkResourceLists(lists: CheckedKeys['resource_lists'], ctx: RefineContext): void {
  const seen = new Map<string, string>();
  for (const uri of Object.keys(lists)) {
    const key = resourceKey(uri);
    if (key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['resource_lists', uri], message: `expected a SIP URI as the list, got ${JSON.stringify(uri)}` });
      continue;
    }
    const other = seen.get(key);
    if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['resource_lists', uri], message: `the same list as ${other}` });
    else seen.set(key, uri);
  }
  const definitions = Object.entries(lists).map(([uri, list]) => ({ uri, members: list.members }));
  const cycle = findListCycle(definitions);
  if (cycle !== undefined) {
    const first = Object.keys(lists).find((uri) => resourceKey(uri) === cycle[0]) ?? cycle[0]!;
    ctx.addIssue({ code: 'custom', path: ['resource_lists', first], message: `nested lists form a cycle: ${cycle.join(' → ')}` });
  }
}

/** The configuration as written (before defaults). */
export type DaemonConfigInput = z.input<typeof CONFIG_SCHEMA>;
/** The validated configuration, every default filled in. */
export type DaemonConfig = z.output<typeof CONFIG_SCHEMA>;
export type ListenConfig = z.output<typeof LISTEN_SCHEMA>;
export type CredentialConfig = z.output<typeof CREDENTIAL_SCHEMA>;

/** 127.0.0.0/8, ::1 and localhost: the only hosts the HTTP API may bind without a token. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '::ffff:127.0.0.1') return true;
  const parts = h.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}
