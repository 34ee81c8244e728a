import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * test/fixtures is not copied by tsc: find it above the compiled test
 * (dist/test/… → the package root), or else under the working directory.
 */
function fixturesRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'test', 'fixtures');
    if (existsSync(join(candidate, 'reginfo'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(process.cwd(), 'test', 'fixtures');
}

const ROOT = fixturesRoot();

/** The bytes of test/fixtures/<group>/<name>. */
export function fixtureFile(group: string, name: string): Buffer {
  return readFileSync(join(ROOT, group, name));
}

/** The text of test/fixtures/<group>/<name>. */
export function fixtureFileText(group: string, name: string): string {
  return readFileSync(join(ROOT, group, name), 'utf8');
}
