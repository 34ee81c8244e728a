/**
 * The repository explains itself from inside: every `docs/<file>.md §<section>`
 * cited in a comment or a README exists (and so does the `item`/`step` it
 * names), markdown links between our files resolve, nothing names a path or a
 * document outside the repository, and README.md's layout lists every folder
 * under src/.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { filesUnder, readmeSection, repoRoot } from '../../support/repo-root.js';

const THIS_FILE = 'test/unit/docs/docs-references.test.ts';

/** The text files we write: sources, tests, benchmarks, docs, peers' scripts and configs, CI. */
function ourFiles(root: string): string[] {
  const extensions = ['.ts', '.md', '.sh', '.cfg', '.xml', '.json', '.yaml', '.yml', '.txt'];
  const files = ['src', 'test', 'bench', 'docs', 'peers', 'scripts', '.ci'].flatMap((dir) => filesUnder(root, dir, extensions));
  const ci = join(root, '.ci/run');
  return [...files, ...(existsSync(ci) ? ['.ci/run'] : []), 'README.md', 'package.json', 'tsconfig.json', 'biome.json'];
}

/**
 * Section number → its lines, per docs file (`## 2. …`, `### 2.3 …`); a
 * section's lines include its sub-sections' (`§2` covers §2.3).
 */
function sectionsOf(text: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let open: string[] = [];
  for (const line of text.split('\n')) {
    const heading = /^#{2,4} (\d+(?:\.\d+)*)\.? /.exec(line);
    if (heading !== null) {
      const number = heading[1]!;
      open = open.filter((n) => number.startsWith(`${n}.`));
      open.push(number);
      sections.set(number, []);
    } else if (/^#{1,4} /.test(line)) {
      open = [];
    } else {
      for (const n of open) sections.get(n)!.push(line);
    }
  }
  return sections;
}

/** The numbered list items (`1. …`, `12. …`) of a section's lines. */
function itemNumbers(lines: readonly string[]): Set<number> {
  return new Set(lines.map((l) => /^(\d+)\. /.exec(l)?.[1]).filter((n): n is string => n !== undefined).map(Number));
}

describe('docs and references', () => {
  const root = repoRoot();
  const files = ourFiles(root).filter((f) => f !== THIS_FILE);
  const docs = new Map<string, Map<string, string[]>>();
  for (const file of filesUnder(root, 'docs', ['.md'])) docs.set(file, sectionsOf(readFileSync(join(root, file), 'utf8')));

  it('every "docs/<file>.md §<section> [item|step N]" cited resolves', () => {
    const problems: string[] = [];
    const reference = /docs\/([a-z0-9-]+\.md)((?:,? §\d+(?:\.\d+)*(?: (?:item|items|step|steps) \d+(?:[–-]\d+)?)?)+)/g;
    for (const file of files) {
      const lines = readFileSync(join(root, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        for (const match of line.matchAll(reference)) {
          const doc = `docs/${match[1]}`;
          const sections = docs.get(doc);
          const where = `${file}:${index + 1}: ${match[0]}`;
          if (sections === undefined) {
            problems.push(`${where}: no such file`);
            continue;
          }
          for (const part of match[2]!.matchAll(/§(\d+(?:\.\d+)*)(?: (item|items|step|steps) (\d+)(?:[–-](\d+))?)?/g)) {
            const lines = sections.get(part[1]!);
            if (lines === undefined) {
              problems.push(`${where}: no section §${part[1]}`);
              continue;
            }
            if (part[3] === undefined) continue;
            const numbers = itemNumbers(lines);
            const last = Number(part[4] ?? part[3]);
            for (let n = Number(part[3]); n <= last; n++) if (!numbers.has(n)) problems.push(`${where}: §${part[1]} has no ${part[2]} ${n}`);
          }
        }
      });
    }
    assert.deepEqual(problems, []);
  });

  it('nothing names a path or a document outside the repository', () => {
    // Built from pieces so that this file does not match itself.
    const outside = [
      ['/wo', 'rk/'],
      ['shared', '/peers'],
      ['shared', '/reference'],
      ['../', 'shared'],
      ['study', ' §'],
      ['anch', 'ors A.'],
      ['performance', '.md'],
      ['seed-presence', '_b2b'],
      ['presence-b2b', '-study'],
    ].map((parts) => parts.join(''));
    const problems: string[] = [];
    for (const file of files) {
      const lines = readFileSync(join(root, file), 'utf8').split('\n');
      lines.forEach((line, index) => {
        for (const needle of outside) if (line.includes(needle)) problems.push(`${file}:${index + 1}: ${needle}`);
      });
    }
    assert.deepEqual(problems, []);
  });

  it('relative markdown links between our files resolve', () => {
    const problems: string[] = [];
    for (const file of files.filter((f) => f.endsWith('.md'))) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = match[1]!.split('#')[0]!;
        if (target === '' || /^[a-z]+:/.test(target)) continue;
        if (!existsSync(normalize(join(root, dirname(file), target)))) problems.push(`${file}: ${match[1]}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it("README.md's layout lists every folder under src/, and docs/", () => {
    const layout = readmeSection(readFileSync(join(root, 'README.md'), 'utf8'), 'Layout');
    const folders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        folders.push(`${dir}/${entry.name}/`);
        walk(`${dir}/${entry.name}`);
      }
    };
    walk('src');
    const missing = [...folders, 'docs/'].filter((folder) => !layout.includes(`\n${folder}`));
    assert.deepEqual(missing, []);
  });
});
