/**
 * createPresenceB2B fails early and clean: every bad option is refused with
 * InvalidOptionError (B2B_ERR_INVALID_OPTION) naming it, before any socket is
 * bound; a start that fails half-way (a port in use, a broker that refuses the
 * notifier) closes what it had opened. "Nothing left bound" is checked by
 * binding the same port again at once.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPresenceB2B, type PresenceB2BOptions } from '../../../src/b2b/create-presence-b2b.js';
import { QsaError } from '../../../src/qsa/qsa-error.js';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { InvalidOptionError } from '../../../src/util/invalid-option-error.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../../fixtures/tls/test-certificate.js';
import { assertPortFree, freeUdpTcpPort, occupyTcpPort } from '../../support/port-check.js';

type Case = [option: string, options: Record<string, unknown>, expected: RegExp];

const udp = (port: number) => ({ transport: 'udp' as const, host: '127.0.0.1', port });

/** Bad options and the line of the message that names them (after `createPresenceB2B: `). */
const CASES: Case[] = [
  ['defaultExpiration', { defaultExpiration: 0 }, /^defaultExpiration: expected a whole number from 1 to 4294967295, got 0$/],
  ['defaultExpiration', { defaultExpiration: 1.5 }, /got 1\.5$/],
  ['defaultExpiration', { defaultExpiration: '3600' }, /got "3600"$/],
  ['defaultExpiration', { defaultExpiration: Number.NaN }, /got NaN$/],
  ['onErrorRetryTime', { onErrorRetryTime: 0 }, /^onErrorRetryTime: expected a whole number from 1/],
  ['waitForTermNotify', { waitForTermNotify: -1 }, /^waitForTermNotify: expected a whole number from 0/],
  ['resubscribeDelta', { resubscribeDelta: 'x' }, /^resubscribeDelta: expected a whole number/],
  ['minResubscribeTime', { minResubscribeTime: Number.POSITIVE_INFINITY }, /got Infinity$/],
  ['minResubscribeTime', { minResubscribeTime: 0 }, /^minResubscribeTime: expected a whole number from 1 to /],
  ['maxErrorRetryTime', { maxErrorRetryTime: 0 }, /^maxErrorRetryTime: expected a whole number from 1 to /],
  ['finalRetryTime', { finalRetryTime: -5 }, /^finalRetryTime: expected a whole number from 0 to /],
  ['maxSubscribeDelay', { maxSubscribeDelay: -5 }, /^maxSubscribeDelay: /],
  ['refreshJitter', { refreshJitter: 2 ** 40 }, /^refreshJitter: expected a whole number from 0 to 4294967295/],
  ['maxRedirects', { maxRedirects: 101 }, /^maxRedirects: expected a whole number from 0 to 100, got 101$/],
  ['maxSubscribeRate', { maxSubscribeRate: -1 }, /^maxSubscribeRate: expected a whole number from 0 to 1000000/],
  ['t1Ms', { t1Ms: 0 }, /^t1Ms: expected a whole number from 1 to 60000/],
  ['handlePresenceSubscriptions', { handlePresenceSubscriptions: 1 }, /^handlePresenceSubscriptions: expected true or false, got 1$/],
  ['shareIdenticalSubscriptions', { shareIdenticalSubscriptions: 'yes' }, /expected true or false/],
  ['presenceRoute', { presenceRoute: 'proxy.example.com;lr' }, /^presenceRoute: expected Route values such as "<sip:proxy\.example\.com;lr>"/],
  ['presenceRoute', { presenceRoute: '<sip:a;lr>, <http://b>' }, /got "<http:\/\/b>"$/],
  ['presenceOutboundProxy', { presenceOutboundProxy: 'proxy.example.com' }, /^presenceOutboundProxy: expected a SIP URI/],
  ['presenceOutboundProxy', { presenceOutboundProxy: 'sip:' }, /got "sip:"$/],
  ['additionalPresenceHeaders', { additionalPresenceHeaders: 'X-Foo bar' }, /^additionalPresenceHeaders: expected "Name: value" header lines, got "X-Foo bar"$/],
  ['additionalPresenceHeaders', { additionalPresenceHeaders: 'X-Ok: 1\r\nVia: SIP/2.0/UDP evil' }, /Via is written by presence-b2b itself/],
  ['additionalPresenceHeaders', { additionalPresenceHeaders: 'Route: <sip:p;lr>' }, /use presence_route/],
  ['additionalPresenceHeaders', { additionalPresenceHeaders: 'Bad Name: x' }, /token characters/],
  ['additionalPresenceHeaders', { additionalPresenceHeaders: 'X-Foo: a\u0000b' }, /without control characters/],
  ['contactUser', { contactUser: '' }, /^contactUser: expected a non-empty string/],
  ['userAgent', { userAgent: 'ua\r\nX-Injected: 1' }, /^userAgent: expected text without line breaks/],
  ['listen', { listen: [] }, /^listen: expected at least one listening socket/],
  ['listen[0].transport', { listen: [{ transport: 'sctp', host: '127.0.0.1', port: 0 }] }, /expected "udp", "tcp" or "tls", got "sctp"/],
  ['listen[0].port', { listen: [udp(70000)] }, /^listen\[0\]\.port: expected a whole number from 0 to 65535, got 70000$/],
  ['listen[0].host', { listen: [{ transport: 'udp', host: '', port: 0 }] }, /expected a host name or IP address/],
  ['listen[0].host', { listen: [{ transport: 'udp', host: '[::1]', port: 0 }] }, /without brackets/],
  ['listen[0].advertisedHost', { listen: [{ ...udp(0), advertisedHost: 'bad host!' }] }, /expected a host name or IP address, got "bad host!"/],
  ['listen[0].tls', { listen: [{ transport: 'tls', host: '127.0.0.1', port: 0 }] }, /expected \{ key, cert \}/],
  ['listen[0].tls', { listen: [{ transport: 'tls', host: '127.0.0.1', port: 0, tls: { key: 'not a key', cert: TEST_TLS_CERT } }] }, /PEM key and certificate that belong together/],
  ['listen[0].tls', { listen: [{ ...udp(0), tls: { key: TEST_TLS_KEY, cert: TEST_TLS_CERT } }] }, /only meaningful for transport tls/],
  ['listen[1].port', { listen: [udp(5099), udp(5099)] }, /^listen\[1\]\.port: expected each socket once, got udp 127\.0\.0\.1:5099 a second time/],
  ['sipLimits.udpReceiveBufferBytes', { sipLimits: { udpReceiveBufferBytes: -1 } }, /^sipLimits\.udpReceiveBufferBytes: expected a whole number from 0 to 1073741824, got -1$/],
  ['timers.t1', { timers: { t1: 0 } }, /^timers\.t1: expected a whole number from 1 to 60000, got 0$/],
  ['timers.t2', { timers: { t2: 700_000 } }, /^timers\.t2: /],
  ['timers.t5', { timers: { t5: 1 } }, /^timers\.t5: unknown option$/],
  ['credentials', { credentials: 'bob:secret' }, /^credentials: expected a function/],
  ['hosts["pres.example.com"]', { hosts: { 'pres.example.com': 'not-an-ip' } }, /expected a non-empty list of IP addresses/],
  ['hosts["pres.example.com"][0]', { hosts: { 'pres.example.com': ['pres2.example.com'] } }, /expected an IPv4 or IPv6 address/],
  ['hosts["bad name!"]', { hosts: { 'bad name!': ['127.0.0.1'] } }, /expected a host name or IP address/],
  ['dns', { dns: {} }, /^dns: expected a DnsClient \(with resolveNaptr, resolveSrv, resolve4, resolve6\)/],
  ['qsa', { qsa: {} }, /^qsa: expected a QsaBroker/],
  ['clock', { clock: {} }, /^clock: expected a Clock/],
  ['random', { random: 5 }, /^random: expected a Random, got 5$/],
  ['scheduler', { scheduler: {} }, /^scheduler: expected a TimerScheduler/],
  ['onTransportDiagnostic', { onTransportDiagnostic: 'log' }, /^onTransportDiagnostic: expected a function/],
  ['defaultExpiraton', { defaultExpiraton: 60 }, /^defaultExpiraton: unknown option$/],
];

describe('createPresenceB2B: a bad option throws B2B_ERR_INVALID_OPTION naming it, and binds nothing', () => {
  for (const [option, bad, expected] of CASES) {
    test(`${option}: ${JSON.stringify(bad).slice(0, 90)}`, async () => {
      const port = await freeUdpTcpPort();
      const options = {
        listen: [udp(port), { transport: 'tcp', host: '127.0.0.1', port }],
        ...bad,
      } as unknown as PresenceB2BOptions;
      const error = await createPresenceB2B(options).then(
        () => assert.fail('createPresenceB2B should have refused the options'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof InvalidOptionError, String(error));
      assert.ok(error instanceof PresenceB2BError);
      assert.equal(error.code, 'B2B_ERR_INVALID_OPTION');
      assert.equal(error.option, option);
      const line = error.message.split('\n')[0] ?? '';
      assert.ok(line.startsWith('createPresenceB2B: '), line);
      assert.match(line.slice('createPresenceB2B: '.length), expected);
      await assertPortFree(port);
    });
  }

  test('every problem is reported at once, one line each', async () => {
    const error = await createPresenceB2B({ defaultExpiration: 0, maxRedirects: -1, listen: [udp(70000)] }).then(
      () => assert.fail('refused'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof InvalidOptionError);
    assert.deepEqual(
      error.problems.map((p) => p.option),
      ['defaultExpiration', 'maxRedirects', 'listen[0].port'],
    );
    assert.equal(error.message.split('\n').length, 3);
  });

  test('options that are not an object', async () => {
    await assert.rejects(createPresenceB2B('udp:127.0.0.1:5060' as unknown as PresenceB2BOptions), {
      code: 'B2B_ERR_INVALID_OPTION',
      message: 'createPresenceB2B: options: expected an object of options, got "udp:127.0.0.1:5060"',
    });
  });
});

describe('createPresenceB2B: a start that fails half-way closes what it opened', () => {
  test('the second listen spec’s port is in use: SIP_ERR_TRANSPORT_IO, and the first one is released', async () => {
    const free = await freeUdpTcpPort();
    const taken = await occupyTcpPort();
    try {
      await assert.rejects(
        createPresenceB2B({
          listen: [
            { transport: 'udp', host: '127.0.0.1', port: free },
            { transport: 'tcp', host: '127.0.0.1', port: free },
            { transport: 'tcp', host: '127.0.0.1', port: taken.port },
          ],
        }),
        { code: 'SIP_ERR_TRANSPORT_IO', message: new RegExp(`TCP listen 127\\.0\\.0\\.1:${taken.port}: .*EADDRINUSE`) },
      );
      await assertPortFree(free);
    } finally {
      await taken.release();
    }
  });

  test('the broker refuses the notifier after the sockets are bound: its error, and the sockets are closed', async () => {
    const port = await freeUdpTcpPort();
    const refusing = {
      registerNotifier() {
        throw new QsaError('QSA_ERR_INVALID_ARGUMENT', 'no notifier wanted here');
      },
      unregisterNotifier() {},
      subscribe() {},
      unsubscribe() {},
    };
    await assert.rejects(
      createPresenceB2B({
        listen: [udp(port), { transport: 'tcp', host: '127.0.0.1', port }],
        qsa: refusing as unknown as PresenceB2BOptions['qsa'],
      }),
      { code: 'QSA_ERR_INVALID_ARGUMENT' },
    );
    await assertPortFree(port);
  });

  test('good options still start (and close) on the port the failed starts left free', async () => {
    const port = await freeUdpTcpPort();
    const b2b = await createPresenceB2B({
      listen: [udp(port), { transport: 'tls', host: '127.0.0.1', port: 0, tls: { key: TEST_TLS_KEY, cert: TEST_TLS_CERT } }],
      presenceRoute: '<sip:127.0.0.1:5999;lr>',
      additionalPresenceHeaders: 'X-Watcher-Info: b2b\r\nP-Preferred-Identity: <sip:bob@example.com>\r\n',
      hosts: { 'pres.example.com': ['127.0.0.1'] },
      timers: { t1: 100 },
    });
    assert.equal(b2b.transport.listening().length, 2);
    await b2b.close(100);
    await assertPortFree(port);
  });
});
