import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RELATIVE = join('test', 'fixtures', 'pidf');

/**
 * test/fixtures/pidf is not copied by tsc: find it above the compiled test
 * (dist/test/… → the package root), or else under the working directory
 * (a build into another outDir, run from the package root).
 */
function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, RELATIVE);
    if (existsSync(join(candidate, 'kamailio-single-tuple.xml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(process.cwd(), RELATIVE);
}

const DIR = fixtureDir();

export function fixtureBytes(name: string): Buffer {
  return readFileSync(join(DIR, name));
}

export function fixtureText(name: string): string {
  return readFileSync(join(DIR, name), 'utf8');
}
