import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipTransportName } from '../../../src/sip/codec/message.js';
import { type StaticDnsRecords, StaticDnsClient } from '../../../src/sip/resolver/dns-client.js';
import { parsedLiteralTarget, plainLiteralTarget, Rfc3263Resolver } from '../../../src/sip/resolver/rfc3263-resolver.js';
import { orderSrvRecords } from '../../../src/sip/resolver/srv-order.js';
import { ManualClock } from '../../../src/util/clock.js';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { SeededRandom } from '../../../src/util/random.js';

const ALL: SipTransportName[] = ['udp', 'tcp', 'tls'];

function makeResolver(records: StaticDnsRecords, extra: { hosts?: Record<string, string[]>; seed?: number } = {}) {
  const dns = new StaticDnsClient(records);
  const clock = new ManualClock();
  const resolver = new Rfc3263Resolver({
    dns,
    clock,
    random: new SeededRandom(extra.seed ?? 7),
    ...(extra.hosts ? { hosts: extra.hosts } : {}),
  });
  return { dns, clock, resolver };
}

function brief(targets: ReadonlyArray<{ transport: string; host: string; port: number; transportExplicit: boolean }>): string[] {
  return targets.map((t) => `${t.transport}:${t.host}:${t.port}${t.transportExplicit ? '!' : ''}`);
}

const EXAMPLE: StaticDnsRecords = {
  naptr: {
    'example.com': [
      { flags: 's', service: 'SIP+D2T', regexp: '', replacement: '_sip._tcp.example.com', order: 10, preference: 60 },
      { flags: 's', service: 'SIP+D2U', regexp: '', replacement: '_sip._udp.example.com', order: 10, preference: 50 },
      { flags: 's', service: 'SIPS+D2T', regexp: '', replacement: '_sips._tcp.example.com', order: 20, preference: 50 },
      { flags: 's', service: 'SIP+D2S', regexp: '', replacement: '_sip._sctp.example.com', order: 5, preference: 1 },
      { flags: 'u', service: 'E2U+sip', regexp: '!^.*$!sip:x@y!', replacement: '.', order: 1, preference: 1 },
    ],
  },
  srv: {
    '_sip._udp.example.com': [{ name: 'udp1.example.com', port: 5070, priority: 10, weight: 0 }],
    '_sip._tcp.example.com': [{ name: 'tcp1.example.com', port: 5080, priority: 10, weight: 0 }],
    '_sips._tcp.example.com': [{ name: 'tls1.example.com', port: 5081, priority: 10, weight: 0 }],
    '_sip._sctp.example.com': [{ name: 'sctp.example.com', port: 5090, priority: 10, weight: 0 }],
  },
  a: {
    'udp1.example.com': ['192.0.2.1', '192.0.2.2'],
    'tcp1.example.com': ['192.0.2.3'],
    'tls1.example.com': ['192.0.2.4'],
    'sctp.example.com': ['192.0.2.9'],
    'plain.example.net': ['198.51.100.7'],
  },
  aaaa: { 'udp1.example.com': ['2001:db8::1'], 'plain.example.net': ['2001:db8::7'] },
};

describe('Rfc3263Resolver', () => {
  test('a numeric IPv4 host needs no lookup: UDP, port 5060', async () => {
    const { dns, resolver } = makeResolver({});
    assert.deepEqual(brief(await resolver.resolve('sip:alice@192.0.2.10', ALL)), ['udp:192.0.2.10:5060']);
    assert.deepEqual(brief(await resolver.resolve('sip:alice@192.0.2.10:5099', ALL)), ['udp:192.0.2.10:5099']);
    assert.deepEqual(dns.queries, []);
  });

  test('a numeric IPv6 host loses its brackets', async () => {
    const { dns, resolver } = makeResolver({});
    assert.deepEqual(brief(await resolver.resolve('sip:bob@[2001:db8::5]:5062;transport=tcp', ALL)), ['tcp:2001:db8::5:5062!']);
    assert.deepEqual(dns.queries, []);
  });

  test('numeric host when UDP is not enabled falls back to TCP', async () => {
    const { resolver } = makeResolver({});
    assert.deepEqual(brief(await resolver.resolve('sip:192.0.2.10', ['tcp'])), ['tcp:192.0.2.10:5060']);
  });

  test('an explicit port with a name: A/AAAA only, UDP, no NAPTR or SRV', async () => {
    const { dns, resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sip:plain.example.net:5070', ALL)), [
      'udp:198.51.100.7:5070',
      'udp:2001:db8::7:5070',
    ]);
    assert.deepEqual(dns.queries, ['A plain.example.net', 'AAAA plain.example.net']);
  });

  test('a transport parameter skips NAPTR and uses the SRV of that transport', async () => {
    const { dns, resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sip:example.com;transport=TCP', ALL)), ['tcp:192.0.2.3:5080!']);
    assert.equal(
      dns.queries.some((q) => q.startsWith('NAPTR')),
      false,
    );
    assert.equal(dns.queries[0], 'SRV _sip._tcp.example.com');
  });

  test('a transport parameter without SRV falls back to A with the default port, transport still explicit', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sip:plain.example.net;transport=tls', ALL)), [
      'tls:198.51.100.7:5061!',
      'tls:2001:db8::7:5061!',
    ]);
  });

  test('sips: numeric host gets TLS on 5061; transport=tcp means TLS; transport=udp is refused', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sips:alice@192.0.2.10', ALL)), ['tls:192.0.2.10:5061']);
    assert.deepEqual(brief(await resolver.resolve('sips:example.com;transport=tcp', ALL)), ['tls:192.0.2.4:5081!']);
    await assert.rejects(resolver.resolve('sips:example.com;transport=udp', ALL), (e: unknown) => e instanceof PresenceB2BError && e.code === 'SIP_ERR_DNS');
    await assert.rejects(resolver.resolve('sips:192.0.2.10', ['udp', 'tcp']), (e: unknown) => e instanceof PresenceB2BError && e.code === 'SIP_ERR_DNS');
  });

  test('sips with NAPTR keeps only SIPS+D2T', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sips:bob@example.com', ALL)), ['tls:192.0.2.4:5081!']);
  });

  test('NAPTR → SRV → A/AAAA in order/preference, unsupported services ignored', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sip:bob@example.com', ALL)), [
      'udp:192.0.2.1:5070!',
      'udp:192.0.2.2:5070!',
      'udp:2001:db8::1:5070!',
      'tcp:192.0.2.3:5080!',
      'tls:192.0.2.4:5081!',
    ]);
  });

  test('NAPTR records of transports we do not support are skipped', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sip:bob@example.com', ['tcp'])), ['tcp:192.0.2.3:5080!']);
  });

  test('no NAPTR: SRV per supported transport in preference order', async () => {
    const { dns, resolver } = makeResolver({
      srv: {
        '_sip._tcp.nonaptr.test': [{ name: 'b.nonaptr.test', port: 5062, priority: 1, weight: 0 }],
        '_sip._udp.nonaptr.test': [{ name: 'a.nonaptr.test', port: 5061, priority: 1, weight: 0 }],
      },
      a: { 'a.nonaptr.test': ['10.0.0.1'], 'b.nonaptr.test': ['10.0.0.2'] },
    });
    assert.deepEqual(brief(await resolver.resolve('sip:nonaptr.test', ALL)), ['udp:10.0.0.1:5061!', 'tcp:10.0.0.2:5062!']);
    assert.deepEqual(dns.queries.slice(0, 4), [
      'NAPTR nonaptr.test',
      'SRV _sip._udp.nonaptr.test',
      'SRV _sip._tcp.nonaptr.test',
      'SRV _sips._tcp.nonaptr.test',
    ]);
  });

  test('no NAPTR, no SRV: A/AAAA with port 5060 and UDP (TCP when UDP is not enabled), not explicit', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    assert.deepEqual(brief(await resolver.resolve('sip:plain.example.net', ALL)), ['udp:198.51.100.7:5060', 'udp:2001:db8::7:5060']);
    assert.deepEqual(brief(await resolver.resolve('sip:plain.example.net', ['tcp', 'tls'])), ['tcp:198.51.100.7:5060', 'tcp:2001:db8::7:5060']);
  });

  test('the static host table answers before DNS', async () => {
    const { dns, resolver } = makeResolver({}, { hosts: { 'Proxy.Local': ['127.0.0.1'] } });
    assert.deepEqual(brief(await resolver.resolve('sip:presence@proxy.local;transport=tcp', ALL)), ['tcp:127.0.0.1:5060!']);
    assert.deepEqual(brief(await resolver.resolve('sip:presence@proxy.local:5070', ALL)), ['udp:127.0.0.1:5070']);
    assert.deepEqual(dns.queries, []);
  });

  test('SRV priorities order strictly; the target "." is dropped', () => {
    const ordered = orderSrvRecords(
      [
        { name: 'c', port: 1, priority: 30, weight: 5 },
        { name: 'a', port: 1, priority: 10, weight: 5 },
        { name: '.', port: 0, priority: 5, weight: 0 },
        { name: 'b', port: 1, priority: 20, weight: 5 },
      ],
      new SeededRandom(3),
    );
    assert.deepEqual(
      ordered.map((r) => r.name),
      ['a', 'b', 'c'],
    );
  });

  test('SRV weights: first pick follows weight / total over many draws (RFC 2782)', () => {
    const random = new SeededRandom(42);
    const records = [
      { name: 'heavy', port: 1, priority: 1, weight: 60 },
      { name: 'medium', port: 1, priority: 1, weight: 30 },
      { name: 'light', port: 1, priority: 1, weight: 10 },
      { name: 'zero', port: 1, priority: 1, weight: 0 },
    ];
    const draws = 10_000;
    const first = new Map<string, number>();
    for (let i = 0; i < draws; i++) {
      const ordered = orderSrvRecords(records, random);
      assert.equal(ordered.length, 4);
      first.set(ordered[0]!.name, (first.get(ordered[0]!.name) ?? 0) + 1);
    }
    // Expected shares: 60/101, 30/101, 10/101, 1/101 (weight 0 wins only on a draw of 0).
    const share = (name: string) => (first.get(name) ?? 0) / draws;
    assert.ok(Math.abs(share('heavy') - 60 / 101) < 0.03, `heavy ${share('heavy')}`);
    assert.ok(Math.abs(share('medium') - 30 / 101) < 0.03, `medium ${share('medium')}`);
    assert.ok(Math.abs(share('light') - 10 / 101) < 0.02, `light ${share('light')}`);
    assert.ok(share('zero') < 0.03, `zero ${share('zero')}`);
  });

  test('SRV weighted order is deterministic for a seed and used by resolve()', async () => {
    const records: StaticDnsRecords = {
      srv: {
        '_sip._udp.w.test': [
          { name: 'x.w.test', port: 5060, priority: 1, weight: 1 },
          { name: 'y.w.test', port: 5060, priority: 1, weight: 1000 },
          { name: 'z.w.test', port: 5060, priority: 2, weight: 1000 },
        ],
      },
      a: { 'x.w.test': ['10.1.0.1'], 'y.w.test': ['10.1.0.2'], 'z.w.test': ['10.1.0.3'] },
    };
    const one = await makeResolver(records, { seed: 9 }).resolver.resolve('sip:w.test;transport=udp', ALL);
    const two = await makeResolver(records, { seed: 9 }).resolver.resolve('sip:w.test;transport=udp', ALL);
    assert.deepEqual(one, two);
    assert.equal(one[2]!.host, '10.1.0.3');
    let yFirst = 0;
    const { resolver } = makeResolver(records, { seed: 11 });
    for (let i = 0; i < 200; i++) if ((await resolver.resolve('sip:w.test;transport=udp', ALL))[0]!.host === '10.1.0.2') yFirst++;
    assert.ok(yFirst > 190, `y first ${yFirst}/200`);
  });

  test('a failed target goes to the end until the blacklist expires', async () => {
    const { clock, resolver } = makeResolver(EXAMPLE);
    const before = await resolver.resolve('sip:example.com', ALL);
    resolver.markFailed(before[0]!);
    clock.advance(1000);
    resolver.markFailed({ transport: 'tcp', host: '192.0.2.3', port: 5080 });
    const during = brief(await resolver.resolve('sip:example.com', ALL));
    assert.deepEqual(during, ['udp:192.0.2.2:5070!', 'udp:2001:db8::1:5070!', 'tls:192.0.2.4:5081!', 'udp:192.0.2.1:5070!', 'tcp:192.0.2.3:5080!']);
    assert.equal(resolver.isBlacklisted(before[0]!), true);
    clock.advance(31_000); // first entry expires at 32 000, second at 33 000
    assert.deepEqual(brief(await resolver.resolve('sip:example.com', ALL)), [
      'udp:192.0.2.1:5070!',
      'udp:192.0.2.2:5070!',
      'udp:2001:db8::1:5070!',
      'tls:192.0.2.4:5081!',
      'tcp:192.0.2.3:5080!',
    ]);
    clock.advance(1000);
    assert.deepEqual(brief(await resolver.resolve('sip:example.com', ALL)), brief(before));
    assert.equal(resolver.isBlacklisted(before[0]!), false);
  });

  test('a blacklisted numeric target is still returned (it is all there is)', async () => {
    const { resolver } = makeResolver({});
    resolver.markFailed({ transport: 'udp', host: '192.0.2.10', port: 5060 });
    assert.deepEqual(brief(await resolver.resolve('sip:192.0.2.10', ALL)), ['udp:192.0.2.10:5060']);
  });

  test('NXDOMAIN rejects with SIP_ERR_DNS naming the failure', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    await assert.rejects(resolver.resolve('sip:alice@nowhere.invalid', ALL), (error: unknown) => {
      assert.ok(error instanceof PresenceB2BError);
      assert.equal(error.code, 'SIP_ERR_DNS');
      assert.match(error.message, /nowhere\.invalid/);
      assert.match(error.message, /ENOTFOUND/);
      return true;
    });
  });

  test('an unparsable URI or unsupported transport rejects with SIP_ERR_DNS', async () => {
    const { resolver } = makeResolver(EXAMPLE);
    const isDnsError = (e: unknown) => e instanceof PresenceB2BError && e.code === 'SIP_ERR_DNS';
    await assert.rejects(resolver.resolve('mailto:x@example.com', ALL), isDnsError);
    await assert.rejects(resolver.resolve('sip:example.com;transport=sctp', ALL), isDnsError);
    await assert.rejects(resolver.resolve('sip:example.com;transport=tls', ['udp']), isDnsError);
  });

  test('maddr replaces the host as the target', async () => {
    const { resolver } = makeResolver({});
    assert.deepEqual(brief(await resolver.resolve('sip:alice@example.com;maddr=192.0.2.77', ALL)), ['udp:192.0.2.77:5060']);
  });
});

describe('plainLiteralTarget (an IP-literal URI read without the URI parser)', () => {
  const outcome = (read: () => unknown): unknown => {
    try {
      return { value: read() };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  };

  test('gives what the parser reads, for every URI it accepts; leaves every other URI to the parser', () => {
    const schemes = ['sip:', 'sips:', 'SIP:', 'tel:', 'sip', ''];
    const users = ['', 'alice@', 'u-1.x_y~!*\'()&=+$,@', 'a:pw@', 'a%20b@', 'a;p=1@', 'a?b@', '@', 'é@', 'a b@'];
    const hosts = ['192.0.2.1', '127.0.0.1', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '[::1]', '[2001:DB8::A]', '[::ffff:192.0.2.1]', '[zz::1]', '[::1', 'example.com', '', '1.2.3.4.'];
    const ports = ['', ':5060', ':0', ':65535', ':65536', ':99999', ':05060', ':', ':12a', ':123456'];
    const tails = ['', ';transport=tcp', ';maddr=192.0.2.9', '?Subject=x', ';lr', '>', ' '];
    const transports: SipTransportName[][] = [ALL, ['udp'], ['tcp'], ['tls'], []];
    let read = 0;
    for (const scheme of schemes)
      for (const user of users)
        for (const host of hosts)
          for (const port of ports)
            for (const tail of tails) {
              const uri = `${scheme}${user}${host}${port}${tail}`;
              for (const supported of transports) {
                const fast = outcome(() => plainLiteralTarget(uri, supported)) as { value?: unknown; error?: string };
                if (fast.value === undefined && fast.error === undefined) continue; // left to the parser
                read++;
                assert.deepEqual(fast, outcome(() => parsedLiteralTarget(uri, supported)), uri);
              }
            }
    assert.ok(read > 500, `${read} URIs read without the parser`);
    for (const uri of ['sip:192.0.2.1', 'sip:w-1@192.0.2.1:5062', 'sips:[::1]:5061', 'sip:alice@[2001:db8::a]']) {
      assert.notEqual(plainLiteralTarget(uri, ALL), undefined, uri);
    }
    assert.deepEqual(brief(plainLiteralTarget('sip:w@[2001:DB8::A]', ALL)!), ['udp:2001:db8::a:5060']);
    assert.deepEqual(brief(plainLiteralTarget('sips:w@192.0.2.1', ALL)!), ['tls:192.0.2.1:5061']);
  });

  test('the resolver answers such a URI with the same targets, the blacklist applied', async () => {
    const { resolver } = makeResolver({});
    assert.deepEqual(brief(await resolver.resolve('sip:w@192.0.2.1:5062', ALL)), ['udp:192.0.2.1:5062']);
    resolver.markFailed({ transport: 'udp', host: '192.0.2.1', port: 5062 });
    assert.deepEqual(brief(await resolver.resolve('sip:w@192.0.2.1:5062', ALL)), ['udp:192.0.2.1:5062']);
    assert.equal(resolver.isBlacklisted({ transport: 'udp', host: '192.0.2.1', port: 5062 }), true);
    await assert.rejects(resolver.resolve('sips:w@192.0.2.1', ['udp']), /TLS is not enabled/);
  });
});
