/**
 * House rule: every error thrown from src/ extends PresenceB2BError and
 * carries a stable code. This test reads the sources and fails on any
 * construction of a built-in error class (`new Error(`, `throw Error(`,
 * `new RangeError(`, …), naming the file and line.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const BUILT_IN = '(?:Aggregate|Eval|Range|Reference|Syntax|Type|URI)?Error';
const PLAIN_ERROR = new RegExp(`\\bnew\\s+${BUILT_IN}\\s*\\(|\\bthrow\\s+${BUILT_IN}\\s*\\(|\\b${BUILT_IN}\\.call\\s*\\(`);

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) {
    const up = dirname(dir);
    assert.notEqual(up, dir, 'repository root not found');
    dir = up;
  }
  return dir;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (entry.name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** The line without a trailing `//` comment; comment lines (`*`, `//`) become empty. */
function codeOf(line: string): string {
  const trimmed = line.trimStart();
  if (trimmed.startsWith('//') || trimmed.startsWith('*') || trimmed.startsWith('/*')) return '';
  const comment = line.indexOf(' // ');
  return comment >= 0 ? line.slice(0, comment) : line;
}

test('no built-in Error is constructed in src/ (errors extend PresenceB2BError with a code)', () => {
  const root = repoRoot();
  const files = sourceFiles(join(root, 'src'));
  assert.ok(files.length > 50, `found the sources (${files.length} files)`);
  const offenders: string[] = [];
  for (const file of files) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (PLAIN_ERROR.test(codeOf(line))) offenders.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, [], `throw a PresenceB2BError subclass with a code instead:\n${offenders.join('\n')}`);
});

test('the pattern catches what it is meant to catch', () => {
  for (const line of ["throw new Error('x')", 'throw Error(`x`)', 'reject(new TypeError("x"))', 'const e = new RangeError(m);']) {
    assert.ok(PLAIN_ERROR.test(codeOf(line)), line);
  }
  for (const line of ["throw new SipTransportError('SIP_ERR_TRANSPORT_IO', 'x')", ' * never throw a plain new Error(', "throw new ConfigError([])"]) {
    assert.ok(!PLAIN_ERROR.test(codeOf(line)), line);
  }
});
