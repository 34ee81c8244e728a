/**
 * `presence-b2b watch --package reg|dialog|presence` and `--list` as a
 * process: JSON lines with the HTTP status shape (`reg`, `list`), human lines
 * per package, and a package nobody serves refused with the served ones named.
 * Against the Kamailio reginfo and rls profiles (scripts/with-peers.sh).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, test } from 'node:test';
import { kamailioReginfoAddress, kamailioRlsAddress, runSipp, sippPublish } from '../support/peers.js';
import { CLI_PATH, cleanEnv, runCli } from './support/daemon-process.js';

interface JsonLine {
  record: string;
  package: string;
  state: string;
  list?: string;
  reg?: { registrations: Array<{ aor: string; state: string; contacts: Array<{ uri: string; state: string; event?: string }> }> };
  presence?: { tuples: Array<{ basic?: string }> };
}

const children: Array<() => void> = [];
after(() => {
  for (const kill of children) kill();
});

/** Runs `watch` and calls `step` after each stdout line; resolves at exit (bounded). */
function watch(args: string[], step: (lines: string[], stop: () => void) => void, timeoutMs: number): Promise<{ code: number | null; lines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'watch', ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const lines: string[] = [];
    let buffer = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        lines.push(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        step(lines, () => child.kill('SIGINT'));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`watch did not exit within ${timeoutMs} ms; lines: ${lines.join('\n')}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, lines, stderr });
    });
  });
}

test('watch --package with a package nobody serves: a usage error (exit 2) naming the served ones, before anything is bound or sent', async () => {
  const result = await runCli(['watch', 'sip:alice@127.0.0.1:9', '--as', 'sip:bob@127.0.0.1', '--proxy', 'sip:127.0.0.1:9', '--package', 'message-summary'], { timeoutMs: 10_000 });
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^error: option '--package <name>' argument 'message-summary' is invalid\. package "message-summary" is not served here; served packages: presence, reg, dialog\n/);
  assert.match(result.stderr, /Usage: presence-b2b watch/, 'a usage error: the command’s help follows');
  assert.equal(result.stdout, '');
});

test('watch --package reg --json against Kamailio: a REGISTER shows as a reg line; the human form names aor and contact', async () => {
  const target = kamailioReginfoAddress();
  const proxy = `sip:${target.host}:${target.port}`;
  const user = 'user8123';
  const contact = 'sip:user8123@127.0.0.1:5093';
  let registered: Promise<unknown> | undefined;
  const result = await watch(
    [`sip:${user}@example.com`, '--as', 'sip:bob@example.com', '--package', 'reg', '--proxy', proxy, '--json', '--count', '2', '--timeout', '15'],
    (lines) => {
      if (lines.length === 1) registered = runSipp({ scenario: 'register.xml', target, service: user, keys: { contact, expires: '30' } });
    },
    20_000,
  );
  assert.equal(result.code, 0, result.stderr);
  const [first, second] = result.lines.map((l) => JSON.parse(l) as JsonLine);
  assert.deepEqual([first?.package, first?.state, first?.reg?.registrations], ['reg', 'active', []]);
  assert.deepEqual(
    second?.reg?.registrations.map((r) => [r.aor, r.state, r.contacts.map((c) => `${c.uri} ${c.state}/${c.event}`)]),
    [[`sip:${user}@example.com`, 'active', [`${contact} active/created`]]],
  );
  assert.equal(second?.list, undefined);
  await registered;

  // The same as a human line (the binding is still there: full state at once).
  const human = await runCli([`watch`, `sip:${user}@example.com`, '--as', 'sip:bob@example.com', '--package', 'reg', '--proxy', proxy, '--count', '1', '--timeout', '10'], { timeoutMs: 15_000 });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`^\\S+Z sip:${user}@example\\.com active \\| sip:${user}@example\\.com active ${contact} active/\\S+ \\d+s\\n$`));
  await runSipp({ scenario: 'register.xml', target, service: user, keys: { contact, expires: '0' } });
});

test('watch --list --json against Kamailio’s RLS: one line per member, each with list', async () => {
  const target = kamailioRlsAddress();
  await sippPublish({ user: 'carol', basic: 'open', note: 'cli', expires: 60, target });
  const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as JsonLine);
  const carolOpen = (l: JsonLine) => l.record === 'sip:carol@example.com' && l.state === 'active' && l.presence?.tuples.some((t) => t.basic === 'open') === true;
  const result = await watch(
    ['sip:friends@example.com', '--as', 'sip:bob@example.com', '--list', '--proxy', `sip:${target.host}:${target.port}`, '--json', '--timeout', '10'],
    (lines, stop) => {
      if (parse(lines).some(carolOpen)) stop(); // SIGINT: unsubscribes, exit 0
    },
    15_000,
  );
  assert.equal(result.code, 0, result.stderr + result.lines.join('\n'));
  const lines = parse(result.lines);
  assert.ok(lines.every((l) => l.list === 'sip:friends@example.com' && l.package === 'presence'), result.lines.join('\n'));
  assert.deepEqual([...new Set(lines.map((l) => l.record))].sort(), ['sip:alice@example.com', 'sip:carol@example.com']);
  assert.ok(lines.some(carolOpen));
});
