/**
 * The B2BUA over TLS against Kamailio's tls module (kamailio-tls-modules;
 * the profile tls of peers/kamailio/, the presence server with a TLS
 * listener), with a certificate this test makes with openssl: subscribe over
 * TLS trusting that certificate, see a PUBLISH (sent to the UDP port with
 * SIPp), unsubscribe; and without trusting it, a clear `terminated` with
 * B2B_ERR_TLS_CERTIFICATE and nothing at Kamailio (docs/hostile-input.md, "TLS").
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createPresenceB2B, type PresenceB2B } from '../../src/b2b/create-presence-b2b.js';
import { presenceOf } from '../../src/presence/index.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../fixtures/tls/test-certificate.js';
import { type KamailioTls, makeTestCertificate, sippPublish, startKamailioTls, stopKamailioTls } from '../support/peers.js';
import { basicOf, nextStatus, statusUntil } from '../support/status-helpers.js';

/** Our own TLS listener: Kamailio opens a connection to it for its NOTIFYs (our Contact is ;transport=tls). */
const OUR_TLS = { key: TEST_TLS_KEY, cert: TEST_TLS_CERT };

describe('presence-b2b over TLS against Kamailio (tls module)', () => {
  let dir: string;
  let kamailio: KamailioTls;
  let ca: Buffer;

  before(async () => {
    dir = await mkdtemp(join(process.env.PB2B_PEERS_SCRATCH || tmpdir(), 'tls-'));
    const files = await makeTestCertificate(dir, 'kamailio');
    ca = await readFile(files.cert);
    kamailio = await startKamailioTls(files);
  });

  after(async () => {
    await stopKamailioTls();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (tlsClient: { ca?: Buffer }): Promise<PresenceB2B> =>
    createPresenceB2B({
      listen: [{ transport: 'tls', host: '127.0.0.1', port: 0, tls: OUR_TLS }],
      presenceOutboundProxy: `sip:${kamailio.tls.host}:${kamailio.tls.port};transport=tls`,
      defaultExpiration: 600,
      tlsClient,
    });

  it('trusting its certificate: subscribe over TLS, see a PUBLISH, unsubscribe', async () => {
    const b2b = await start({ ca });
    try {
      await sippPublish({ user: 'eve', basic: 'open', note: 'over TLS', expires: 120, target: kamailio.sip });
      const queue = b2b.qsa.createQueue();
      const handle = b2b.qsa.subscribe({ record: 'sip:eve@example.com', subscriber: 'sip:bob@example.com', queue });
      await statusUntil(queue, (m) => m.state === 'active' && basicOf(m) === 'open', 8000, 'active+open over TLS');
      await sippPublish({ user: 'eve', basic: 'closed', note: 'gone', expires: 120, target: kamailio.sip });
      // A second publication (no SIP-If-Match) is merged with the first: one tuple each.
      await statusUntil(queue, (m) => m.state === 'active' && presenceOf(m)?.tuples.some((t) => t.basic === 'closed') === true, 8000, 'the PUBLISH closed, over TLS');
      const dialog = b2b.engine.dialogOf(handle.id);
      assert.ok(dialog !== undefined);
      b2b.qsa.unsubscribe(handle);
      const deadline = Date.now() + 5000;
      while (b2b.engine.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(b2b.engine.size, 0, 'the dialog ended with the terminated NOTIFY');
      assert.equal(queue.poll(), undefined, 'nothing after unsubscribe');
      const log = await readFile(kamailio.logPath, 'utf8');
      assert.match(log, /REQ SUBSCRIBE sip:eve@example\.com [^\n]*\/tls /, 'Kamailio received the SUBSCRIBE over TLS');
      assert.match(log, /REQ SUBSCRIBE [^\n]*\/tls [^\n]*Expires 0\)/, 'and the unSUBSCRIBE');
      assert.ok(b2b.transport.stats.connectionsOpened >= 1);
    } finally {
      await b2b.close(2000);
    }
  });

  it('not trusting it: terminated with B2B_ERR_TLS_CERTIFICATE, nothing sent', async () => {
    const b2b = await start({});
    try {
      const before = await readFile(kamailio.logPath, 'utf8');
      const queue = b2b.qsa.createQueue();
      b2b.qsa.subscribe({ record: 'sip:alice@example.com', subscriber: 'sip:carol@example.com', queue });
      const m = await nextStatus(queue, 8000, 'the TLS failure');
      assert.equal(m.state, 'terminated');
      assert.equal(m.error?.code, 'B2B_ERR_TLS_CERTIFICATE');
      assert.match(m.error?.message ?? '', /certificate not trusted/);
      assert.equal(typeof m.retryAfter, 'number');
      const log = await readFile(kamailio.logPath, 'utf8');
      assert.equal(log.slice(before.length).includes('From sip:carol@example.com'), false, 'Kamailio received no request from us');
    } finally {
      await b2b.close(2000);
    }
  });
});
