import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  b2bOptionsFromConfig,
  ConfigError,
  credentialLookup,
  envOverrides,
  envValue,
  isLoopbackHost,
  loadConfig,
  parseConfig,
} from '../../../src/config/index.js';
import { DEFAULT_ENGINE_SETTINGS } from '../../../src/subscription/engine-options.js';

function problems(document: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(document, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split('\n');
  }
  assert.fail('expected a ConfigError');
}

const dir = mkdtempSync(join(tmpdir(), 'pb2b-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('configuration defaults', () => {
  test('the seed parameters keep their SER defaults', () => {
    const c = parseConfig({});
    assert.equal(c.default_expiration, 3600);
    assert.equal(c.on_error_retry_time, 120);
    assert.equal(c.presence_route, '');
    assert.equal(c.additional_presence_headers, '');
    assert.equal(c.wait_for_term_notify, 30);
    assert.equal(c.resubscribe_delta, 30);
    assert.equal(c.min_resubscribe_time, 30);
    assert.equal(c.handle_presence_subscriptions, true);
    assert.equal(c.presence_outbound_proxy, '');
    assert.equal(c.max_subscribe_delay, 0);
    assert.equal(c.max_error_retry_time, 3600);
    assert.equal(c.final_retry_time, 0);
  });

  test('the engine gets the same values as its own defaults', () => {
    const o = b2bOptionsFromConfig(parseConfig({}));
    for (const key of Object.keys(DEFAULT_ENGINE_SETTINGS) as Array<keyof typeof DEFAULT_ENGINE_SETTINGS>) {
      assert.equal(o[key], DEFAULT_ENGINE_SETTINGS[key], key);
    }
  });

  test('without a file: SIP UDP+TCP on 127.0.0.1:5060, HTTP on 127.0.0.1:7080, local agent on', () => {
    const c = loadConfig({ env: {} });
    assert.deepEqual(c.sip.listen, [
      { transport: 'udp', host: '127.0.0.1', port: 5060 },
      { transport: 'tcp', host: '127.0.0.1', port: 5060 },
    ]);
    assert.deepEqual([c.http.host, c.http.port, c.http.token], ['127.0.0.1', 7080, undefined]);
    assert.equal(c.local_agent.enabled, true);
    assert.equal(c.shutdown.mode, 'unsubscribe');
  });

  test('helper_threads_nice: 0 (off) by default, 0 to 19 accepted, anything else names the key', () => {
    assert.equal(parseConfig({}).helper_threads_nice, 0);
    assert.equal(parseConfig({ helper_threads_nice: 0 }).helper_threads_nice, 0);
    assert.deepEqual(problems({ helper_threads_nice: 20 }), ['config error: helper_threads_nice: expected a number from 0 to 19, got 20']);
  });

  test('helper_threads_nice_after_s: 10 by default, 0 (at the start) to 86400 accepted, anything else names the key', () => {
    assert.equal(parseConfig({}).helper_threads_nice_after_s, 10);
    assert.equal(parseConfig({ helper_threads_nice_after_s: 0 }).helper_threads_nice_after_s, 0);
    assert.deepEqual(problems({ helper_threads_nice_after_s: -1 }), ['config error: helper_threads_nice_after_s: expected a number from 0 to 86400, got -1']);
    assert.deepEqual(problems({ helper_threads_nice_after_s: 2.5 }), ['config error: helper_threads_nice_after_s: expected a whole number from 0 to 86400, got 2.5']);
  });

  test('single_threaded_gc: auto by default, true and false accepted, anything else names the key', () => {
    assert.equal(parseConfig({}).single_threaded_gc, 'auto');
    assert.equal(parseConfig({ single_threaded_gc: true }).single_threaded_gc, true);
    assert.equal(parseConfig({ single_threaded_gc: false }).single_threaded_gc, false);
    assert.equal(parseConfig({}, { PRESENCE_B2B_SINGLE_THREADED_GC: 'false' }).single_threaded_gc, false);
    assert.deepEqual(problems({ single_threaded_gc: 'yes' }), ['config error: single_threaded_gc: expected auto, true or false, got "yes"']);
  });

  test('heap_growing_percent: auto by default, a whole percent from 0 to 1000, anything else names the key', () => {
    assert.equal(parseConfig({}).heap_growing_percent, 'auto');
    assert.equal(parseConfig({ heap_growing_percent: 0 }).heap_growing_percent, 0);
    assert.equal(parseConfig({}, { PRESENCE_B2B_HEAP_GROWING_PERCENT: '150' }).heap_growing_percent, 150);
    assert.deepEqual(problems({ heap_growing_percent: 1001 }), ["config error: heap_growing_percent: expected auto, or a whole percent from 0 (V8's own) to 1000, got 1001"]);
    assert.deepEqual(problems({ heap_growing_percent: 'big' }), ["config error: heap_growing_percent: expected auto, or a whole percent from 0 (V8's own) to 1000, got \"big\""]);
  });

  test('SER-style 0/1 flags are accepted', () => {
    assert.equal(parseConfig({ handle_presence_subscriptions: 0 }).handle_presence_subscriptions, false);
    assert.equal(parseConfig({ share_identical_subscriptions: 1 }).share_identical_subscriptions, true);
  });
});

describe('configuration errors name the key', () => {
  test('wrong type', () => {
    assert.deepEqual(problems({ default_expiration: 'abc' }), ['config error: default_expiration: expected a number ≥ 1, got "abc"']);
  });

  test('min_resubscribe_time and resubscribe_delta are at least 1 s; max_error_retry_time too', () => {
    assert.deepEqual(problems({ min_resubscribe_time: 0, resubscribe_delta: 0, max_error_retry_time: 0, final_retry_time: -1 }), [
      'config error: resubscribe_delta: expected a number ≥ 1, got 0',
      'config error: min_resubscribe_time: expected a number ≥ 1, got 0',
      'config error: max_error_retry_time: expected a number ≥ 1, got 0',
      'config error: final_retry_time: expected a number ≥ 0, got -1',
    ]);
  });

  test('out of range, nested in a list', () => {
    assert.deepEqual(problems({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 70000 }] } }), [
      'config error: sip.listen.0.port: expected a number from 0 to 65535, got 70000',
    ]);
  });

  test('not a whole number', () => {
    assert.match(problems({ resubscribe_delta: 1.5 })[0] ?? '', /^config error: resubscribe_delta: expected a whole number ≥ 1, got 1\.5$/);
  });

  test('unknown keys, at the top and nested, with the key probably meant', () => {
    const lines = problems({ default_expiraton: 60, http: { prot: 1 } });
    assert.ok(lines.includes('config error: default_expiraton: unknown key (did you mean default_expiration?)'), lines.join('\n'));
    assert.ok(lines.includes('config error: http.prot: unknown key (did you mean http.port?)'), lines.join('\n'));
    assert.deepEqual(
      problems({
        sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0, advertized_host: 'x' }] },
        local_agent: { domain: ['localhost'] },
        shutdown: { timeout: 10 },
        resource_lists: { 'sip:l@localhost': { memebrs: [] } },
        http: { tokne: 'abcdefghij', enabled: true, sse_bufer: 10 },
        Default_Expiration: 1,
        zzz: 1,
      }).sort(),
      [
        'config error: Default_Expiration: unknown key (did you mean default_expiration?)',
        'config error: http.sse_bufer: unknown key (did you mean http.sse_buffer?)',
        'config error: http.tokne: unknown key (did you mean http.token?)',
        'config error: local_agent.domain: unknown key (did you mean local_agent.domains?)',
        'config error: resource_lists.sip:l@localhost.members: expected a list, got nothing',
        'config error: resource_lists.sip:l@localhost.memebrs: unknown key (did you mean resource_lists.sip:l@localhost.members?)',
        'config error: shutdown.timeout: unknown key',
        'config error: sip.listen.0.advertized_host: unknown key (did you mean sip.listen.0.advertised_host?)',
        'config error: zzz: unknown key',
      ],
    );
  });

  test('an enum lists its values', () => {
    assert.deepEqual(problems({ shutdown: { mode: 'later' } }), ['config error: shutdown.mode: expected one of "unsubscribe", "leave", got "later"']);
  });

  test('an HTTP API beyond loopback needs a token', () => {
    assert.match(problems({ http: { host: '0.0.0.0' } })[0] ?? '', /^config error: http\.token: required when the HTTP API listens beyond loopback/);
    assert.equal(parseConfig({ http: { host: '0.0.0.0', token: 'secret-token' } }).http.token, 'secret-token');
    assert.equal(parseConfig({ http: { host: '127.0.0.2' } }).http.token, undefined);
  });

  test('TLS listening needs key and certificate files, which must be readable', () => {
    assert.match(problems({ sip: { listen: [{ transport: 'tls', host: '127.0.0.1', port: 5061 }] } })[0] ?? '', /sip\.listen\.0\.tls: required/);
    const config = parseConfig({ sip: { listen: [{ transport: 'tls', host: '127.0.0.1', port: 5061, tls: { key_file: '/nonexistent/key.pem', cert_file: '/nonexistent/cert.pem' } }] } });
    assert.throws(() => b2bOptionsFromConfig(config), (error: unknown) => error instanceof ConfigError && /sip\.listen\.0\.tls\.key_file: cannot read/.test(error.message));
  });

  test('a presence_outbound_proxy must be a SIP URI', () => {
    assert.match(problems({ presence_outbound_proxy: 'proxy.example.com' })[0] ?? '', /presence_outbound_proxy: expected a SIP URI/);
    assert.equal(parseConfig({ presence_outbound_proxy: 'sip:proxy.example.com;lr' }).presence_outbound_proxy, 'sip:proxy.example.com;lr');
  });
});

describe('keys that used to be checked only after binding are checked by parseConfig', () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['additional_presence_headers', { additional_presence_headers: 'X-Foo bar' }, 'config error: additional_presence_headers: expected "Name: value" header lines, got "X-Foo bar"'],
    ['additional_presence_headers', { additional_presence_headers: 'X-A: 1\nCSeq: 1 SUBSCRIBE' }, 'config error: additional_presence_headers: CSeq is written by presence-b2b itself and cannot be added, got "CSeq: 1 SUBSCRIBE"'],
    ['presence_route', { presence_route: 'proxy.example.com;lr' }, 'config error: presence_route: expected Route values such as "<sip:proxy.example.com;lr>" or "sip:proxy.example.com;lr" (comma-separated), got "proxy.example.com;lr"'],
    ['presence_outbound_proxy', { presence_outbound_proxy: 'sip:' }, 'config error: presence_outbound_proxy: expected a SIP URI such as "sip:proxy.example.com:5060" or "", got "sip:"'],
    ['user_agent', { user_agent: 'pb2b\r\nX-Injected: 1' }, 'config error: user_agent: expected text without line breaks or control characters, got "pb2b\\r\\nX-Injected: 1" (character 5)'],
    ['contact_user', { contact_user: '' }, 'config error: contact_user: expected a non-empty string, got ""'],
    ['default_expiration', { default_expiration: 2 ** 32 }, 'config error: default_expiration: expected at most 4294967295, got 4294967296'],
    ['sip.listen.0.advertised_host', { sip: { listen: [{ transport: 'udp', host: '0.0.0.0', port: 5060, advertised_host: 'bad host' }] } }, 'config error: sip.listen.0.advertised_host: expected a host name or IP address, got "bad host"'],
    ['http.host', { http: { host: 'not a host', token: 'long-enough' } }, 'config error: http.host: expected a host name or IP address, got "not a host"'],
    ['hosts', { hosts: { 'pres.example.com': 'pres2.example.com' } }, 'config error: hosts.pres.example.com: expected an IPv4 or IPv6 address, got "pres2.example.com"'],
  ];
  for (const [key, document, line] of cases) {
    test(key, () => {
      assert.deepEqual(problems(document), [line]);
    });
  }

  test('what only createPresenceB2B can see is a ConfigError of b2bOptionsFromConfig, named by its key', () => {
    const twice = parseConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 5090 }, { transport: 'udp', host: '127.0.0.1', port: 5090 }] } });
    assert.throws(
      () => b2bOptionsFromConfig(twice),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.code === 'CONFIG_ERR_INVALID' &&
        e.message === 'config error: sip.listen.1.port: expected each socket once, got udp 127.0.0.1:5090 a second time (entry 0 has it)',
    );
    const key = join(dir, 'not-a-key.pem');
    writeFileSync(key, 'this is not PEM\n');
    const tls = parseConfig({ sip: { listen: [{ transport: 'tls', host: '127.0.0.1', port: 0, tls: { key_file: key, cert_file: key } }] } });
    assert.throws(
      () => b2bOptionsFromConfig(tls),
      (e: unknown) => e instanceof ConfigError && /^config error: sip\.listen\.0\.tls\.key_file: .*not-a-key\.pem: not a PEM private key/.test(e.message),
    );
  });
});

describe('environment overrides', () => {
  test('one top-level key', () => {
    assert.equal(parseConfig({ default_expiration: 60 }, { PRESENCE_B2B_DEFAULT_EXPIRATION: '600' }).default_expiration, 600);
  });

  test('nested keys with __, other keys of the object keep their defaults', () => {
    const c = parseConfig({}, { PRESENCE_B2B_HTTP__PORT: '7999', PRESENCE_B2B_SHUTDOWN__MODE: 'leave' });
    assert.deepEqual([c.http.host, c.http.port, c.shutdown.mode, c.shutdown.timeout_ms], ['127.0.0.1', 7999, 'leave', 5000]);
  });

  test('list elements by index', () => {
    const c = parseConfig({ sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 5060 }] } }, { PRESENCE_B2B_SIP__LISTEN__0__PORT: '5090' });
    assert.equal(c.sip.listen[0]?.port, 5090);
  });

  test('a bad value names the key and the variable', () => {
    assert.deepEqual(problems({}, { PRESENCE_B2B_DEFAULT_EXPIRATION: 'abc' }), [
      'config error: default_expiration (from PRESENCE_B2B_DEFAULT_EXPIRATION): expected a number ≥ 1, got "abc"',
    ]);
    assert.deepEqual(problems({}, { PRESENCE_B2B_NO_SUCH_KEY: '1' }), ['config error: no_such_key (from PRESENCE_B2B_NO_SUCH_KEY): unknown key']);
  });

  test('values: numbers, booleans and flow collections as YAML, the rest as strings', () => {
    assert.equal(envValue('600'), 600);
    assert.equal(envValue('false'), false);
    assert.deepEqual(envValue('[a.example, b.example]'), ['a.example', 'b.example']);
    assert.equal(envValue('X-Foo: bar'), 'X-Foo: bar');
    assert.equal(envValue('<sip:proxy.example.com;lr>'), '<sip:proxy.example.com;lr>');
    assert.deepEqual(
      envOverrides({ PRESENCE_B2B_HTTP__TOKEN: 'x', OTHER: 'y' }).map((o) => o.path),
      [['http', 'token']],
    );
  });
});

describe('configuration file', () => {
  test('YAML with the seed names', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      [
        'default_expiration: 667',
        'presence_route: "<sip:my-sip-server.domain.com;lr>"',
        'on_error_retry_time: 600',
        'credentials:',
        '  - { subscriber: "sip:bob@example.com", username: bob, password: secret }',
        'hosts: { pres.example.com: 127.0.0.1 }',
        'local_agent: { enabled: false }',
      ].join('\n'),
    );
    const c = loadConfig({ file, env: {} });
    assert.equal(c.default_expiration, 667);
    assert.equal(c.on_error_retry_time, 600);
    assert.equal(c.local_agent.enabled, false);
    const o = b2bOptionsFromConfig(c);
    assert.deepEqual(o.hosts, { 'pres.example.com': ['127.0.0.1'] });
    assert.equal(o.presenceRoute, '<sip:my-sip-server.domain.com;lr>');
  });

  test('an unreadable file and bad YAML are configuration errors', () => {
    assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_FILE');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'default_expiration: [1,\n');
    assert.throws(() => loadConfig({ file: bad, env: {} }), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_YAML');
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- 1\n- 2\n');
    assert.throws(() => loadConfig({ file: list, env: {} }), (e: unknown) => e instanceof ConfigError && /mapping/.test(e.message));
  });

  test('aliases that cannot be resolved are YAML errors, not exceptions (found by npm run fuzz)', () => {
    const unresolved = join(dir, 'unresolved.yaml');
    writeFileSync(unresolved, 'sip: { listen: [ *base ] }\n');
    assert.throws(
      () => loadConfig({ file: unresolved, env: {} }),
      (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_YAML' && /Unresolved alias/.test(e.message),
    );
    const bomb = join(dir, 'bomb.yaml');
    const levels = ['a: &a [1, 2]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b]', 'd: [*c, *c, *c, *c, *c, *c, *c, *c]'];
    writeFileSync(bomb, `${levels.join('\n')}\n`);
    assert.throws(() => loadConfig({ file: bomb, env: {} }), (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_ERR_YAML' && /alias/.test(e.message));
  });

  test('an empty file is the defaults', () => {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '# nothing\n');
    assert.equal(loadConfig({ file: empty, env: {} }).default_expiration, 3600);
  });
});

describe('credentials and hosts', () => {
  test('realm-specific entries win, realm-less ones answer any realm', () => {
    const lookup = credentialLookup([
      { subscriber: 'sip:bob@example.com', username: 'bob', password: 'any' },
      { subscriber: 'sip:bob@example.com', username: 'bob2', password: 'inrealm', realm: 'example.com' },
    ]);
    assert.deepEqual(lookup('sip:bob@example.com', 'example.com'), { username: 'bob2', password: 'inrealm' });
    assert.deepEqual(lookup('sip:bob@EXAMPLE.com', 'other'), { username: 'bob', password: 'any' });
    assert.equal(lookup('sip:carol@example.com', 'example.com'), undefined);
  });

  test('loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['0.0.0.0', '192.0.2.1', '::', 'example.com', '127.0.0.256']) assert.equal(isLoopbackHost(h), false, h);
  });
});

describe('store configuration', () => {
  test('default: a SQLite file presence-b2b.db in the working directory', () => {
    assert.deepEqual(parseConfig({}).store, { type: 'sqlite', path: 'presence-b2b.db' });
    assert.deepEqual(parseConfig({ store: {} }).store, { type: 'sqlite', path: 'presence-b2b.db' });
    assert.deepEqual(parseConfig({ store: { path: '/var/lib/pb2b/state.db' } }).store, { type: 'sqlite', path: '/var/lib/pb2b/state.db' });
    assert.deepEqual(parseConfig({ store: { type: 'sqlite', path: 'x.db' } }).store, { type: 'sqlite', path: 'x.db' });
  });

  test('type memory turns persistence off', () => {
    assert.deepEqual(parseConfig({ store: { type: 'memory' } }).store, { type: 'memory' });
    assert.deepEqual(parseConfig({}, { PRESENCE_B2B_STORE__TYPE: 'memory' }).store, { type: 'memory' });
  });

  test('errors name the key', () => {
    assert.deepEqual(problems({ store: { type: 'mysql' } }), ['config error: store.type: expected one of "sqlite", "memory", "postgres", got "mysql"']);
    assert.deepEqual(problems({ store: { type: 'memory', path: 'x.db' } }), ['config error: store.path: only meaningful for type sqlite, not memory']);
    assert.deepEqual(problems({ store: { path: '' } }), ['config error: store.path: expected a file path, got ""']);
    assert.deepEqual(problems({ store: { file: 'x.db' } }), ['config error: store.file: unknown key']);
  });
});

describe('PostgreSQL store and cluster configuration (issue 16)', () => {
  const pg = { type: 'postgres', url: 'postgres://pb2b:secret@db.example.com:5432/presence' };

  test('store type postgres takes a URL; cluster takes node_id, lease_ttl (15 s) and shards (1024) by default', () => {
    assert.deepEqual(parseConfig({ store: pg }).store, { type: 'postgres', url: pg.url });
    assert.equal(parseConfig({ store: pg }).cluster, undefined, 'no cluster unless configured');
    assert.deepEqual(parseConfig({ store: pg, cluster: { node_id: 'node-1' } }).cluster, { node_id: 'node-1', lease_ttl: 15, shards: 1024 });
    assert.deepEqual(parseConfig({ store: pg, cluster: { node_id: 'b.2_x', lease_ttl: 4.5, shards: 64 } }).cluster, { node_id: 'b.2_x', lease_ttl: 4.5, shards: 64 });
    const env = { PRESENCE_B2B_STORE__TYPE: 'postgres', PRESENCE_B2B_STORE__URL: 'postgresql://127.0.0.1/pb2b', PRESENCE_B2B_CLUSTER__NODE_ID: 'n3' };
    const fromEnv = parseConfig({}, env);
    assert.deepEqual([fromEnv.store, fromEnv.cluster?.node_id], [{ type: 'postgres', url: 'postgresql://127.0.0.1/pb2b' }, 'n3']);
  });

  test('errors name the key, never show a password', () => {
    assert.deepEqual(problems({ store: { type: 'postgres' } }), ['config error: store.url: required for type postgres (postgres://user@host:port/database)']);
    assert.deepEqual(problems({ store: { type: 'postgres', url: 'mysql://a:secret@h/d' } }), ['config error: store.url: expected a postgres:// URL, got the scheme mysql:']);
    assert.deepEqual(problems({ store: { type: 'postgres', url: 'not a url secret' } }), ['config error: store.url: expected a URL postgres://user@host:port/database']);
    assert.deepEqual(problems({ store: { type: 'postgres', url: 'postgres://a:secret@h' } }), ['config error: store.url: expected a database name in the URL (postgres://user@host:port/database)']);
    assert.deepEqual(problems({ store: { type: 'sqlite', url: pg.url } }), ['config error: store.url: only meaningful for type postgres, not sqlite']);
    assert.deepEqual(problems({ store: { ...pg, path: 'x.db' } }), ['config error: store.path: only meaningful for type sqlite, not postgres']);
    assert.deepEqual(problems({ cluster: { node_id: 'a' } }), ['config error: cluster: needs store.type postgres (the nodes share the database), not sqlite']);
    assert.deepEqual(problems({ store: pg, cluster: {} }), ['config error: cluster.node_id: expected a node id, got nothing']);
    assert.deepEqual(problems({ store: pg, cluster: { node_id: 'a b' } }), ['config error: cluster.node_id: expected a node id of letters, digits, ".", "_" or "-", got "a b"']);
    assert.deepEqual(problems({ store: pg, cluster: { node_id: 'a', lease_ttl: 0.5 } }), ['config error: cluster.lease_ttl: expected a number of seconds from 1 to 3600, got 0.5']);
    assert.deepEqual(problems({ store: pg, cluster: { node_id: 'a', lease_ttl: '15s' } }), ['config error: cluster.lease_ttl: expected a number of seconds from 1 to 3600, got "15s"']);
    assert.deepEqual(problems({ store: pg, cluster: { node_id: 'a', shards: 0 } }), ['config error: cluster.shards: expected a number from 1 to 65536, got 0']);
    assert.deepEqual(problems({ store: pg, cluster: { node_id: 'a', shards: 2.5 } }), ['config error: cluster.shards: expected a whole number from 1 to 65536, got 2.5']);
    assert.deepEqual(problems({ store: pg, cluster: { node_id: 'a', nodes: 3 } }), ['config error: cluster.nodes: unknown key']);
    for (const line of [...problems({ store: { type: 'postgres', url: 'ftp://u:secret@h/d' } }), ...problems({ store: { type: 'postgres', url: 'x secret' } })]) {
      assert.ok(!line.includes('secret'), line);
    }
  });
});

describe("README's rules for lists in the environment", () => {
  test('[…] replaces a list, with or without a file', () => {
    assert.deepEqual(parseConfig({}, { PRESENCE_B2B_LOCAL_AGENT__DOMAINS: '[localhost, example.net]' }).local_agent.domains, ['localhost', 'example.net']);
    const listen = parseConfig({}, { PRESENCE_B2B_SIP__LISTEN: '[{transport: udp, host: 0.0.0.0, port: 5060}]' }).sip.listen;
    assert.deepEqual(listen.map((l) => [l.transport, l.host, l.port]), [['udp', '0.0.0.0', 5060]]);
  });

  test('<LIST>__<N> sets or appends an entry of the file; a list the file does not have starts empty', () => {
    assert.deepEqual(parseConfig({ local_agent: { domains: ['localhost'] } }, { PRESENCE_B2B_LOCAL_AGENT__DOMAINS__1: 'example.net' }).local_agent.domains, ['localhost', 'example.net']);
    assert.deepEqual(parseConfig({}, { PRESENCE_B2B_LOCAL_AGENT__DOMAINS__0: 'example.net' }).local_agent.domains, ['example.net']);
  });

  test('<LIST>__<N>__<KEY> needs entry N in the file', () => {
    const file = { sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] } };
    assert.equal(parseConfig(file, { PRESENCE_B2B_SIP__LISTEN__0__PORT: '5090' }).sip.listen[0]?.port, 5090);
    for (const document of [{}, file]) {
      const variable = document === file ? 'PRESENCE_B2B_SIP__LISTEN__1__PORT' : 'PRESENCE_B2B_SIP__LISTEN__0__PORT';
      const index = document === file ? 1 : 0;
      assert.deepEqual(problems(document, { [variable]: '5090' }), [`config error: sip.listen.${index}.port (from ${variable}): list index ${index} does not exist`]);
    }
  });
});

describe('resource_list_records', () => {
  test('records subscribed to as resource lists: none by default; SIP URIs, passed to the B2BUA', () => {
    assert.deepEqual(parseConfig({}).resource_list_records, []);
    const config = parseConfig({ resource_list_records: ['sip:friends@example.com'] });
    assert.deepEqual(b2bOptionsFromConfig(config).resourceListRecords, ['sip:friends@example.com']);
    assert.deepEqual(parseConfig({}, { PRESENCE_B2B_RESOURCE_LIST_RECORDS: '[sip:a@example.com]' }).resource_list_records, ['sip:a@example.com']);
    assert.match(problems({ resource_list_records: ['friends'] })[0] ?? '', /^config error: resource_list_records\.0: expected a SIP URI/);
  });
});
