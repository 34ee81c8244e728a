/**
 * The configuration loader (src/config): the YAML text of a file, as
 * loadConfig reads it (configDocumentFromYaml + parseConfig), with
 * `PRESENCE_B2B_*` environment overrides; and already-parsed documents
 * (objects from JSON, the shapes YAML cannot easily reach) with overrides.
 * Either a configuration or a ConfigError, nothing else, and nothing bound
 * or read (no file names are generated for TLS); a configuration that was
 * accepted is accepted again as it stands, to the same value; the daemon's
 * option mapping takes it; Object.prototype is never touched.
 */
import { Buffer } from 'node:buffer';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { b2bOptionsFromConfig, ConfigError, configDocumentFromYaml, type DaemonConfig, parseConfig } from '../../src/config/index.js';
import { type Json, mutateJsonText } from '../engine/json-mutator.js';
import { mutateBytes } from '../engine/mutator.js';
import { type FuzzTarget, fail, property } from '../engine/target.js';

const isConfigError = (error: unknown): boolean => error instanceof ConfigError;

/** Every key of the schema, at any level, and the values worth trying. */
const KEYS = [
  'default_expiration', 'on_error_retry_time', 'presence_route', 'additional_presence_headers', 'wait_for_term_notify',
  'resubscribe_delta', 'min_resubscribe_time', 'handle_presence_subscriptions', 'presence_outbound_proxy', 'max_subscribe_delay',
  'share_identical_subscriptions', 'refresh_jitter', 'max_redirects', 'max_subscribe_rate', 'contact_user', 'user_agent', 'sip',
  'listen', 'transport', 'host', 'port', 'advertised_host', 'tls', 'key_file', 'cert_file', 'ca_file', 'reject_unauthorized',
  'timers', 't1', 't2', 't4', 'credentials', 'subscriber', 'username', 'password', 'realm', 'hosts', 'http', 'enabled', 'token',
  'sse_buffer', 'local_agent', 'domains', 'log_level', 'shutdown', 'mode', 'timeout_ms',
];
const STRINGS = [
  'udp', 'tcp', 'tls', 'sctp', '127.0.0.1', '0.0.0.0', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1', '127.0.0.256', 'example.com',
  'sip:bob@example.com', 'sips:x@y', 'tel:+1', '<sip:proxy;lr>', 'sip:', 'change-me-please', 'short', 'info', 'silent', 'verbose',
  'unsubscribe', 'leave', '0', '1', 'true', '', 'X-Foo: bar',
];
const ENV_NAMES = [
  'PRESENCE_B2B_DEFAULT_EXPIRATION', 'PRESENCE_B2B_HTTP__PORT', 'PRESENCE_B2B_HTTP__TOKEN', 'PRESENCE_B2B_HTTP__HOST',
  'PRESENCE_B2B_SHUTDOWN__TIMEOUT_MS', 'PRESENCE_B2B_LOCAL_AGENT__DOMAINS', 'PRESENCE_B2B_SIP__LISTEN__0__PORT',
  'PRESENCE_B2B_SIP__LISTEN__1__HOST', 'PRESENCE_B2B_SIP__LISTEN__5__PORT', 'PRESENCE_B2B_SIP__LISTEN', 'PRESENCE_B2B_',
  'PRESENCE_B2B___PROTO__', 'PRESENCE_B2B_CONSTRUCTOR__PROTOTYPE__X', 'PRESENCE_B2B_HOSTS__EXAMPLE.COM', 'PRESENCE_B2B_TIMERS',
  'PRESENCE_B2B_CREDENTIALS__0__REALM', 'PRESENCE_B2B_LOG_LEVEL', 'PRESENCE_B2B_HTTP____PORT', 'PRESENCE_B2B_SIP__LISTEN__-1',
];
const ENV_VALUES = ['600', '-1', '1e3', '0x10', 'true', 'null', '~', '[localhost, example.net]', '{a: 1}', '[', '{', '[*a]', ' 7081 ', 'abc', ''];

/** After each input: nothing may have been written onto the shared prototypes. */
function checkPrototypes(): void {
  const own = Object.getOwnPropertyNames(Object.prototype).length;
  property(own === OBJECT_PROTOTYPE_KEYS && Object.getOwnPropertyNames(Array.prototype).length === ARRAY_PROTOTYPE_KEYS, 'Object.prototype or Array.prototype changed');
}
const OBJECT_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).length;
const ARRAY_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Array.prototype).length;

function checkAccepted(config: DaemonConfig): void {
  let again: DaemonConfig;
  try {
    again = parseConfig(structuredClone(config) as unknown as Record<string, unknown>, {});
  } catch (error) {
    fail(`an accepted configuration is refused as it stands: ${String(error)}`);
  }
  property(isDeepStrictEqual(again, config), 'an accepted configuration reads differently as it stands');
  // The option mapping reads TLS files: only without them (no file name is read during fuzzing).
  if (config.sip.listen.every((l) => l.tls === undefined)) b2bOptionsFromConfig(config);
}

function runConfig(document: () => Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  try {
    checkAccepted(parseConfig(document(), env));
  } finally {
    checkPrototypes();
  }
}

// ---- YAML text ------------------------------------------------------------------------------------

/** Lines `#env NAME=value` of the YAML (comments to YAML) are the environment of the input. */
function envOfText(text: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const match of text.matchAll(/^#env ([^=\n]*)=(.*)$/gm)) env[match[1]!] = match[2]!;
  return env;
}

const YAML_SEEDS = [
  '',
  'default_expiration: 600\n',
  [
    'default_expiration: 667',
    'presence_route: "<sip:my-sip-server.domain.com;lr>"',
    'on_error_retry_time: 600',
    'sip:',
    '  listen:',
    '    - { transport: udp, host: 0.0.0.0, port: 5060, advertised_host: 192.0.2.5 }',
    '    - { transport: tls, host: 0.0.0.0, port: 5061, tls: { key_file: /etc/pb2b/key.pem, cert_file: /etc/pb2b/cert.pem } }',
    'credentials:',
    '  - { subscriber: "sip:bob@example.com", username: bob, password: secret }',
    'http: { host: 0.0.0.0, port: 7080, token: change-me-please }',
    'local_agent: { enabled: true, domains: [localhost, pres.example.net] }',
    '',
  ].join('\n'),
  [
    '#env PRESENCE_B2B_HTTP__PORT=7081',
    '#env PRESENCE_B2B_SIP__LISTEN__0__PORT=5090',
    '#env PRESENCE_B2B_LOCAL_AGENT__DOMAINS=[localhost, example.net]',
    'sip:',
    '  listen:',
    '    - transport: udp',
    '      host: 127.0.0.1',
    '      port: 0',
    'timers: { t1: 500, t2: 4000, t4: 5000 }',
    'hosts: { pres.example.com: 192.0.2.10, other: [192.0.2.11, 192.0.2.12] }',
    'shutdown: { mode: leave, timeout_ms: 2000 }',
    'log_level: silent',
    'handle_presence_subscriptions: 0',
    'additional_presence_headers: |',
    '  X-A: 1',
    '  X-B: 2',
    '',
  ].join('\n'),
  [
    'base: &base { transport: udp, host: 127.0.0.1, port: 5060 }',
    'sip: { listen: [ *base, { <<: *base, transport: tcp } ] }',
    'credentials: []',
    'user_agent: !!str 12',
    '---',
    'second: document',
    '',
  ].join('\n'),
];

const YAML_DICTIONARY = [
  ...KEYS.map((k) => `${k}: `),
  '\n', '\n  ', '- ', '{ ', ' }', '[', ']', ', ', ': ', '&a ', '*a', '<<: *a', '!!str ', '!!int ', '!!binary ', '!!set ', '!!omap ',
  '!!map ', '!custom ', '? ', '|', '>-', '---\n', '...\n', '%YAML 1.1\n', '%TAG ! tag:x,2024:\n', '"\\u0000"', "'it''s'", '0x1F',
  '0o17', '1e3', '.inf', '-.nan', '~', 'null', 'yes', 'on', '2001-12-14t21:59:43.10-05:00', '#env PRESENCE_B2B_HTTP__PORT=',
  '#env PRESENCE_B2B_SIP__LISTEN__0__', '\t', '\ufeff',
];

const yamlValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...STRINGS),
    fc.integer({ min: -2, max: 700_000 }),
    fc.constantFrom(0, 1, 65535, 65536, 2 ** 31, 1.5, true, false, null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...KEYS), tie('value'), { maxKeys: 4 }),
  ),
})).value;

const yamlDocument = fc
  .record({
    doc: fc.dictionary(fc.constantFrom(...KEYS), yamlValue, { maxKeys: 8 }),
    env: fc.array(fc.tuple(fc.constantFrom(...ENV_NAMES), fc.constantFrom(...ENV_VALUES)), { maxLength: 3 }),
    flow: fc.boolean(),
  })
  .map(({ doc, env, flow }) => `${env.map(([n, v]) => `#env ${n}=${v}\n`).join('')}${stringify(doc, flow ? { collectionStyle: 'flow' } : {})}`);

const configYaml: FuzzTarget = {
  name: 'config-yaml',
  description: 'configuration file text (YAML, with #env overrides) through configDocumentFromYaml and parseConfig',
  extension: 'yaml',
  // Configuration files are a few KiB; the yaml package needs about 0.1 s per 10 KiB of long block
  // mappings, so larger inputs would only measure it.
  maxInputBytes: 16 * 1024,
  coverageScope: /\/dist\/src\/|\/node_modules\/(yaml|zod)\//,
  dictionary: YAML_DICTIONARY,
  seeds: () => YAML_SEEDS.map((s) => Buffer.from(s, 'utf8')),
  generate: (seed, count) => fc.sample(yamlDocument, { seed, numRuns: count }).map((s) => Buffer.from(s, 'utf8')),
  isExpected: isConfigError,
  run(input) {
    const text = Buffer.from(input).toString('utf8');
    runConfig(() => configDocumentFromYaml(text, 'fuzz.yaml'), envOfText(text));
  },
};

// ---- parsed documents -----------------------------------------------------------------------------

interface ObjectInput {
  doc?: Json;
  env?: Json;
}

const OBJECT_SEEDS: ObjectInput[] = [
  { doc: {}, env: {} },
  {
    doc: {
      default_expiration: 600,
      sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }, { transport: 'tcp', host: '::1', port: 5060, advertised_host: 'x' }] },
      credentials: [{ subscriber: 'sip:bob@example.com', username: 'bob', password: 'pw', realm: 'example.com' }],
      hosts: { 'pres.example.com': ['192.0.2.1'] },
      http: { enabled: true, host: '0.0.0.0', port: 7080, token: 'change-me-please', sse_buffer: 10 },
      local_agent: { enabled: false, domains: [] },
      shutdown: { mode: 'leave', timeout_ms: 0 },
      timers: { t1: 1, t2: 600000, t4: 5000 },
    },
    env: { PRESENCE_B2B_HTTP__PORT: '7081', PRESENCE_B2B_SIP__LISTEN__1__PORT: '5090' },
  },
  { doc: { sip: { listen: [] }, http: { host: 'example.com' }, handle_presence_subscriptions: 1 }, env: { PRESENCE_B2B_HTTP__TOKEN: 'x' } },
];

const jsonOptions = (rng: Parameters<NonNullable<FuzzTarget['mutate']>>[1], other: () => Uint8Array) => ({
  keys: [...KEYS, ...ENV_NAMES, 'doc', 'env'],
  strings: [...STRINGS, ...ENV_VALUES],
  bytes: { rng, maxBytes: 64 * 1024, dictionary: [], other },
});

const configObject: FuzzTarget = {
  name: 'config-object',
  description: 'parseConfig on parsed documents (JSON {doc, env}) with environment overrides',
  extension: 'json',
  maxInputBytes: 64 * 1024,
  coverageScope: /\/dist\/src\/|\/node_modules\/zod\//,
  dictionary: [...KEYS.map((k) => `"${k}":`), ...ENV_NAMES.map((n) => `"${n}":`), '{', '}', '[', ']', 'null', 'true', '-1', '1e999'],
  seeds: () => OBJECT_SEEDS.map((s) => Buffer.from(JSON.stringify(s), 'utf8')),
  generate: (seed, count) =>
    fc
      .sample(
        fc.record({
          doc: fc.dictionary(fc.constantFrom(...KEYS), yamlValue, { maxKeys: 8 }),
          env: fc.dictionary(fc.constantFrom(...ENV_NAMES), fc.constantFrom(...ENV_VALUES), { maxKeys: 3 }),
        }),
        { seed, numRuns: count },
      )
      .map((s) => Buffer.from(JSON.stringify(s), 'utf8')),
  mutate: (input, rng, other) =>
    mutateJsonText(input, jsonOptions(rng, other)) ?? mutateBytes(input, { rng, maxBytes: 64 * 1024, dictionary: [], other }),
  isExpected: isConfigError,
  run(input) {
    let parsed: ObjectInput;
    try {
      parsed = JSON.parse(Buffer.from(input).toString('utf8')) as ObjectInput;
    } catch {
      return; // not JSON: not an input of this target
    }
    if (parsed === null || typeof parsed !== 'object') return;
    const doc = parsed.doc;
    const env: NodeJS.ProcessEnv = {};
    if (parsed.env !== null && typeof parsed.env === 'object' && !Array.isArray(parsed.env)) {
      for (const [name, value] of Object.entries(parsed.env)) if (typeof value === 'string') env[name] = value;
    }
    // parseConfig takes an object; the CLI never hands it anything else.
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
    runConfig(() => doc as Record<string, unknown>, env);
  },
};

export default [configYaml, configObject];
