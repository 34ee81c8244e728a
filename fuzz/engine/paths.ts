import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root: the first directory above the compiled file that holds
 * our package.json (dist/fuzz/engine/… → the checkout), else the working
 * directory.
 */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"presence-b2b"/.test(readFileSync(manifest, 'utf8'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return process.cwd();
}

/** test/fixtures/<relative> under the package root. */
export function fixturePath(...relative: string[]): string {
  return join(repoRoot(), 'test', 'fixtures', ...relative);
}

/** Every file of a fixture directory whose name passes `filter`, sorted by name; none if it does not exist. */
export function fixtureFiles(dir: string, filter: (name: string) => boolean = () => true): Array<{ name: string; bytes: Buffer }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => !name.startsWith('.') && name !== 'README.md' && filter(name))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
}

/** Where the regression fixtures of a target live. */
export function regressionDir(target: string, root = fixturePath('fuzz-regressions')): string {
  return join(root, target);
}
