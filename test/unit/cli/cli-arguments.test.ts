/**
 * The command line checks its input before anything is sent: SIP URIs with
 * the HTTP API's words (user@host taken as sip:user@host), proxies, the
 * sockets the target needs; progress and hints while watch waits; --help
 * marks what is required; README's CLI table lists every flag.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CommanderError, type Command } from 'commander';
import { buildProgram } from '../../../src/cli/program.js';
import { listenSpecsFor, proxyArgument, sipUriArgument } from '../../../src/cli/sip-uri-argument.js';
import { failureHint, noAnswerHint, targetOf, WatchProgress } from '../../../src/cli/watch-progress.js';
import { ManualClock } from '../../../src/util/clock.js';
import { readmeSection, repoRoot } from '../../support/repo-root.js';

describe('SIP URIs on the command line', () => {
  test('a SIP URI is taken as given; user@host gets sip:', () => {
    assert.equal(sipUriArgument('sip:alice@example.com'), 'sip:alice@example.com');
    assert.equal(sipUriArgument('sips:alice@example.com;transport=tcp'), 'sips:alice@example.com;transport=tcp');
    assert.equal(sipUriArgument('alice@localhost'), 'sip:alice@localhost');
    assert.equal(sipUriArgument(' bob@127.0.0.1:5070 '), 'sip:bob@127.0.0.1:5070');
  });

  test('anything else is refused with the HTTP API message', () => {
    for (const text of ['alice', 'localhost', 'tel:+1234', 'sip:', 'http://example.com', '<sip:alice@x>', 'alice@', '']) {
      assert.throws(
        () => sipUriArgument(text),
        (error: unknown) => error instanceof Error && error.message === `expected a SIP URI such as sip:alice@example.com, got ${JSON.stringify(text)}`,
        text,
      );
    }
  });

  test('--proxy: a SIP URI or host:port; TLS is refused (the CLI cannot listen for it)', () => {
    assert.equal(proxyArgument('127.0.0.1:5070'), 'sip:127.0.0.1:5070');
    assert.equal(proxyArgument('sip:pres.example.com;transport=tcp'), 'sip:pres.example.com;transport=tcp');
    assert.throws(() => proxyArgument('sips:pres.example.com'), /TLS .* is not offered by the CLI/);
    assert.throws(() => proxyArgument('sip:pres.example.com;transport=tls'), /TLS/);
    assert.throws(() => proxyArgument('pres example.com'), /expected a SIP URI such as sip:127\.0\.0\.1:5060/);
  });

  test('the sockets a target needs are opened: a ;transport=tcp proxy gets a TCP socket beside --listen', () => {
    const udp = { transport: 'udp' as const, host: '127.0.0.1', port: 0 };
    assert.deepEqual(listenSpecsFor(udp, 'sip:127.0.0.1:5060'), [udp]);
    assert.deepEqual(listenSpecsFor(udp, 'sip:127.0.0.1:5060;transport=tcp'), [udp, { transport: 'tcp', host: '127.0.0.1', port: 0 }]);
    assert.deepEqual(listenSpecsFor(udp, undefined), [udp, { transport: 'tcp', host: '127.0.0.1', port: 0 }], '--no-proxy: RFC 3263 may pick either');
    const tcp = { transport: 'tcp' as const, host: '::1', port: 5090 };
    assert.deepEqual(listenSpecsFor(tcp, 'sip:[::1]:5060'), [tcp, { transport: 'udp', host: '::1', port: 0 }]);
  });
});

describe('watch: progress and hints', () => {
  test('what it tries at once, "no answer yet" after 2 s and every 10 s, nothing once a status came', () => {
    const clock = new ManualClock();
    const lines: string[] = [];
    const progress = new WatchProgress(clock, (l) => lines.push(l), targetOf('sip:alice@localhost', 'sip:127.0.0.1:5060'));
    progress.start('sip:alice@localhost', 'sip:bob@localhost');
    assert.deepEqual(lines, ['watch: trying sip:127.0.0.1:5060 (udp) for sip:alice@localhost as sip:bob@localhost']);
    clock.advance(1999);
    assert.equal(lines.length, 1);
    clock.advance(1);
    clock.advance(10_000);
    assert.deepEqual(lines.slice(1), ['watch: no answer yet from sip:127.0.0.1:5060 (udp) after 2 s', 'watch: no answer yet from sip:127.0.0.1:5060 (udp) after 12 s']);
    progress.answered();
    clock.advance(60_000);
    assert.equal(lines.length, 3);
  });

  test('the target in words, and a hint for each failure a new user meets', () => {
    assert.equal(targetOf('sip:alice@example.com', undefined), "example.com (the record's domain, RFC 3263)");
    assert.equal(targetOf('sip:alice@x', 'sip:p.example.com;transport=tcp'), 'sip:p.example.com;transport=tcp (tcp)');
    const target = 'sip:127.0.0.1:5060 (udp)';
    assert.match(noAnswerHint(target, true), /^no answer from sip:127\.0\.0\.1:5060 \(udp\): is a presence server listening there\? .*presence-b2b start/);
    assert.equal(failureHint({ error: { code: 'B2B_ERR_SUBSCRIBE_TIMEOUT', message: '408' } }, target, true), noAnswerHint(target, true));
    // reg and dialog: the server it takes, and no word of the daemon (it answers presence only).
    assert.equal(noAnswerHint(target, true, 'reg'), `no answer from ${target}: is a registrar with reg events (RFC 3680) listening there? --proxy names another server, --no-proxy resolves the record's domain`);
    assert.match(noAnswerHint(target, false, 'dialog'), /does the domain resolve to a server with dialog events \(RFC 4235\)/);
    assert.equal(failureHint({ error: { code: 'B2B_ERR_SUBSCRIBE_TIMEOUT', message: '408' } }, target, true, 'reg'), noAnswerHint(target, true, 'reg'));
    assert.match(failureHint({ error: { code: 'B2B_ERR_TRANSPORT', message: 'connection refused' } }, target, true) ?? '', /^could not reach sip:127\.0\.0\.1:5060 \(udp\): connection refused$/);
    assert.match(failureHint({ error: { code: 'B2B_ERR_AUTH_FAILED', message: '401' } }, target, true) ?? '', /--password/);
    assert.equal(failureHint({ error: { code: 'B2B_ERR_SUBSCRIBE_REJECTED', message: '403' } }, target, true), undefined);
  });
});

/** The program with its output captured and nothing run. */
function program(): { program: Command; out: string[] } {
  const out: string[] = [];
  const p = buildProgram({ env: {}, run: async () => undefined });
  const capture = { writeOut: (s: string) => out.push(s), writeErr: (s: string) => out.push(s) };
  p.configureOutput(capture);
  for (const c of p.commands) c.configureOutput(capture);
  return { program: p, out };
}

describe('the command line', () => {
  test('bad input is a usage error before anything runs, with the HTTP API message', async () => {
    for (const args of [
      ['watch', 'alice', '--as', 'sip:bob@localhost'],
      ['watch', 'sip:alice@localhost', '--as', 'bob'],
      ['publish', 'alice', 'open'],
      ['publish', 'sip:alice@localhost', 'open', '--as', 'bob'],
    ]) {
      const { program: p, out } = program();
      await assert.rejects(p.parseAsync(['node', 'presence-b2b', ...args]), (error: unknown) => error instanceof CommanderError && error.exitCode !== 0, args.join(' '));
      assert.match(out.join(''), /expected a SIP URI such as sip:alice@example\.com, got "(?:alice|bob)"/, args.join(' '));
    }
  });

  test('watch --package: presence by default, reg or dialog; another is a usage error naming the served ones', async () => {
    const seen: string[] = [];
    const p = buildProgram({ env: {}, run: async () => undefined });
    const watch = p.commands.find((c) => c.name() === 'watch')!;
    for (const args of [[], ['--package', 'reg'], ['--package', 'dialog'], ['--package', 'presence']]) {
      await p.parseAsync(['node', 'presence-b2b', 'watch', 'alice@localhost', '--as', 'bob@localhost', ...args]);
      seen.push(watch.opts<{ package: string }>().package);
    }
    assert.deepEqual(seen, ['presence', 'reg', 'dialog', 'presence']);
    for (const name of ['message-summary', 'REG', '']) {
      const { program: q, out } = program();
      await assert.rejects(q.parseAsync(['node', 'presence-b2b', 'watch', 'alice@localhost', '--as', 'bob@localhost', '--package', name]), (error: unknown) => error instanceof CommanderError && error.exitCode !== 0);
      assert.match(out.join(''), new RegExp(`argument '${name}' is invalid\\. package ${JSON.stringify(name)} is not served here; served packages: presence, reg, dialog`), name);
    }
  });

  test('--help marks required options as required', () => {
    const { program: p } = program();
    const watch = p.commands.find((c) => c.name() === 'watch');
    assert.ok(watch !== undefined);
    assert.match(watch.helpInformation(), /--as <subscriber>\s+SIP URI to subscribe as \(From\) \(required\)/);
    for (const command of p.commands) {
      for (const option of command.options) {
        if (option.mandatory) assert.match(option.description, /\(required\)$/, `${command.name()} ${option.long}`);
      }
    }
  });

  test("README's CLI table lists every command and every flag", () => {
    const section = readmeSection(readFileSync(join(repoRoot(), 'README.md'), 'utf8'), 'CLI');
    const rows = new Map<string, string>();
    for (const m of section.matchAll(/^\| `([a-z]+)([^`]*)` \|/gm)) rows.set(m[1]!, m[2]!);
    const { program: p } = program();
    const missing: string[] = [];
    for (const command of p.commands) {
      const row = rows.get(command.name());
      if (row === undefined) {
        missing.push(command.name());
        continue;
      }
      for (const option of command.options) {
        const flags = [option.long, option.short].filter((f): f is string => f !== undefined);
        if (!flags.some((f) => new RegExp(`(?:^|[\\s\\[|])${f}(?=[\\s\\]=|]|$)`).test(row))) missing.push(`${command.name()} ${option.flags}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});
