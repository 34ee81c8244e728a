/**
 * The error-code registry is the single list of stable codes: README.md's
 * Errors table documents exactly its codes, and every code literal written in
 * src/ is one of them (a code used but not registered, or registered but not
 * documented, fails here).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES, isB2BErrorCode } from '../../../src/util/error-codes.js';
import { filesUnder, readmeSection, repoRoot } from '../../support/repo-root.js';

/** A whole code: FAMILY_ERR_WORDS, not a prefix such as `B2B_ERR_` or `PIDF_ERR_*`. */
const CODE = /\b[A-Z][A-Z0-9]*_ERR_[A-Z0-9_]*[A-Z0-9]\b/g;

describe('error codes', () => {
  const root = repoRoot();
  const registered = Object.keys(ERROR_CODES).sort();

  it('each code has a one-line meaning and follows FAMILY_ERR_NAME', () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) {
      assert.match(code, /^[A-Z][A-Z0-9]*_ERR_[A-Z0-9_]*[A-Z0-9]$/, code);
      assert.ok(meaning.length > 0 && !meaning.includes('\n'), `${code}: one line`);
      assert.ok(isB2BErrorCode(code));
    }
    assert.equal(isB2BErrorCode('SIP_ERR_NOPE'), false);
    assert.equal(isB2BErrorCode('toString'), false);
  });

  it("README's Errors table documents every registered code, and only those", () => {
    const section = readmeSection(readFileSync(join(root, 'README.md'), 'utf8'), 'Errors');
    const table = section.split('\n').filter((line) => line.startsWith('| `'));
    const documented = [...new Set(table.flatMap((line) => line.split('|')[1]!.match(CODE) ?? []))].sort();
    assert.deepEqual(
      registered.filter((code) => !documented.includes(code)),
      [],
      'registered but missing from the first column of README.md ## Errors',
    );
    assert.deepEqual(
      documented.filter((code) => !registered.includes(code)),
      [],
      'documented in README.md but not in src/util/error-codes.ts',
    );
  });

  it('every code literal in src/ is registered', () => {
    const unknown: string[] = [];
    for (const file of filesUnder(root, 'src', ['.ts'])) {
      if (file === 'src/util/error-codes.ts') continue;
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(CODE)) {
        // fastify's own codes (FST_ERR_*) are read, and translated into ours, by src/http/http-server.ts.
        if (match[0].startsWith('FST_ERR_')) continue;
        if (!isB2BErrorCode(match[0])) unknown.push(`${file}: ${match[0]}`);
      }
    }
    assert.deepEqual(unknown, []);
  });
});
