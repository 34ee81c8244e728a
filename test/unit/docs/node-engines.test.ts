/**
 * Every package `npm ci` installs accepts the oldest Node.js presence-b2b
 * supports (package.json `engines`), so that the install shows no EBADENGINE
 * warning there (fastify's light-my-request is pinned in `overrides` for it).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../../support/repo-root.js';

type Version = [number, number, number];

function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?/.exec(text.trim());
  if (m === null) return undefined;
  const part = (s: string | undefined) => (s === undefined || s === 'x' || s === '*' ? 0 : Number(s));
  return [Number(m[1]), part(m[2]), part(m[3])];
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Whether `version` satisfies an npm `engines` range made of `||` alternatives of >=, >, <, <=, ^, ~ or exact comparators. */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((alternative) => {
    const comparators = alternative.trim().replace(/([<>=^~]+)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return comparators.every((c) => {
      const m = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(c);
      const bound = parseVersion(m?.[2] ?? '');
      if (m === null || bound === undefined) throw new Error(`cannot read the engines range ${JSON.stringify(range)}`);
      const cmp = compare(version, bound);
      switch (m[1]) {
        case '>=':
          return cmp >= 0;
        case '>':
          return cmp > 0;
        case '<=':
          return cmp <= 0;
        case '<':
          return cmp < 0;
        case '^':
          return cmp >= 0 && version[0] === bound[0];
        case '~':
          return cmp >= 0 && version[0] === bound[0] && version[1] === bound[1];
        default:
          return cmp === 0 || (version[0] === bound[0] && /^\d+$/.test(m[2] ?? ''));
      }
    });
  });
}

test('every installed package accepts the oldest supported Node.js', () => {
  const root = repoRoot();
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
  const oldest = parseVersion(own.engines.node.replace(/^>=\s*/, ''));
  assert.ok(oldest !== undefined);
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { engines?: { node?: string }; optional?: boolean }> };
  const refusing: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages)) {
    const range = pkg.engines?.node;
    if (path === '' || range === undefined) continue;
    if (!satisfies(oldest, range)) refusing.push(`${path}: ${range}`);
  }
  assert.deepEqual(refusing, [], `packages that would warn EBADENGINE on Node ${oldest.join('.')}`);
  assert.equal(satisfies([20, 0, 0], '>=22'), false, 'the check itself refuses what npm would');
  assert.equal(satisfies([20, 0, 0], '^16 || ^18 || >=20'), true);
});
