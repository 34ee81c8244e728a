/**
 * The status page in a real browser: Debian's Chromium (installed by
 * scripts/install-browser.sh, like the SIP peers; a failed install fails the
 * test, it never skips), driven by playwright-core through `executablePath`.
 * The page is loaded from a daemon that has an API token: it asks for it, and
 * with it opens its event stream (a stream token: EventSource sends no
 * header); a subscription is added from its form, presence is published into
 * the local agent (PUT /v1/presentities), and the record's badge follows, live
 * over SSE. A screenshot goes to
 * test-output/status-page/ (printed; not committed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { api, DaemonProcess, testConfig } from '../daemon/support/daemon-process.js';
import { repoRoot } from '../support/repo-root.js';

const CHROMIUM = '/usr/bin/chromium';
/** Flags that let Chromium run here: as root, headless, and without reaching for the (closed) network. */
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const root = repoRoot();
const TOKEN = 'status-page-browser-token';
const output = join(root, 'test-output', 'status-page');
let daemon: DaemonProcess;
let profile: string;
let context: BrowserContext;

before(async () => {
  const install = spawnSync('bash', [join(root, 'scripts', 'install-browser.sh')], { encoding: 'utf8', timeout: 600_000 });
  assert.equal(install.status, 0, `scripts/install-browser.sh failed:\n${install.stdout}${install.stderr}`);
  mkdirSync(output, { recursive: true });
  daemon = await DaemonProcess.start(
    testConfig({ store: { type: 'memory' }, http: { host: '127.0.0.1', port: 0, token: TOKEN }, local_agent: { enabled: true, domains: ['localhost'] } }),
  );
  profile = mkdtempSync(join(tmpdir(), 'pb2b-chromium-'));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport: { width: 1200, height: 900 }, timeout: 60_000 });
});

after(async () => {
  await context?.close();
  daemon?.kill();
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
});

function badge(page: Page, record: string) {
  return page.locator(`li[data-record="${record}"] .badge`);
}

async function publish(uri: string, basic: 'open' | 'closed', note?: string): Promise<void> {
  const put = await api(daemon.httpBase, 'PUT', `/v1/presentities/${encodeURIComponent(uri)}`, { basic, ...(note !== undefined ? { note } : {}) }, TOKEN);
  assert.equal(put.status, 204, JSON.stringify(put.json));
}

test('the page asks for the token, adds a subscription, and the badge follows what is published into the local agent', async () => {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // The page's first attempts without the token are refused (401): the browser logs those.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${daemon.httpBase}/`);
  // No token yet: the stream is refused, and the page asks.
  await page.locator('#connection[data-state="token"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#token-section').isVisible(), true);
  await page.fill('#token-input', TOKEN);
  await page.click('#token-form button[type="submit"]');
  await page.locator('#connection[data-state="live"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('#token-section').isVisible(), false);

  await page.fill('#add-record', 'sip:alice@localhost');
  await page.fill('#add-subscriber', 'sip:bob@localhost');
  await page.click('#add-button');
  // The agent answers at once; alice has published nothing yet.
  await page.locator('#subscriptions tbody tr').filter({ hasText: 'sip:bob@localhost' }).filter({ hasText: 'active' }).waitFor({ timeout: 10_000 });
  assert.equal(await badge(page, 'sip:alice@localhost').getAttribute('data-presence'), 'unknown');

  await publish('sip:alice@localhost', 'open', 'at my desk');
  await badge(page, 'sip:alice@localhost').and(page.locator('[data-presence="open"]')).waitFor({ timeout: 10_000 });
  assert.equal(await badge(page, 'sip:alice@localhost').textContent(), 'open');
  assert.equal(await page.locator('li[data-record="sip:alice@localhost"] .note').textContent(), 'at my desk');
  assert.match((await page.locator('#notifications li').first().textContent()) ?? '', /sip:alice@localhost open active — at my desk/);
  assert.equal(await page.locator('#state-counts [data-state="active"] b').textContent(), '1');

  const screenshot = join(output, 'status-page.png');
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(`# status page screenshot: ${screenshot}\n`);

  await publish('sip:alice@localhost', 'closed');
  await badge(page, 'sip:alice@localhost').and(page.locator('[data-presence="closed"]')).waitFor({ timeout: 10_000 });
  assert.deepEqual(problems, []);
  await page.close();
});
