/**
 * The public surface of the package's entry points, as a user of the built
 * package sees it: runtime names from importing the built module, and the
 * type-only names from the declaration files (TypeScript's own view of the
 * module's exports). Used by the export-snapshot test and by
 * `npm run api:snapshot`, which rewrites the committed list.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { repoRoot } from './repo-root.js';

/** Each entry point of package.json `exports` with its built module (relative to the root). */
export const ENTRY_POINTS: ReadonlyArray<{ name: string; module: string }> = [
  { name: 'presence-b2b', module: 'dist/src/index.js' },
  { name: 'presence-b2b/sip', module: 'dist/src/sip/index.js' },
];

/** Where the committed list lives. */
export const SNAPSHOT_FILE = 'test/unit/api/exports.txt';

/**
 * `value <name>` and `type <name>` lines of each entry point, sorted. One
 * TypeScript program over our own declaration files only (nothing from
 * node_modules, no lib): the names a module exports do not depend on them,
 * and it keeps this to about a second.
 */
export async function exportLines(root: string): Promise<Map<string, string[]>> {
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    noLib: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const outside = (file: string): boolean => file.includes('/node_modules/');
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, ...rest) => (outside(file) ? undefined : getSourceFile(file, ...rest));
  host.fileExists = (file) => !outside(file) && ts.sys.fileExists(file);
  const declarations = ENTRY_POINTS.map((entry) => join(root, entry.module.replace(/\.js$/, '.d.ts')));
  const program = ts.createProgram(declarations, options, host);
  const checker = program.getTypeChecker();
  const out = new Map<string, string[]>();
  for (const [i, entry] of ENTRY_POINTS.entries()) {
    const runtime = new Set(Object.keys((await import(pathToFileURL(join(root, entry.module)).href)) as object));
    const source = program.getSourceFile(declarations[i]!);
    const symbol = source === undefined ? undefined : checker.getSymbolAtLocation(source);
    if (symbol === undefined) throw new Error(`no module symbol for ${declarations[i]}`);
    const names = checker.getExportsOfModule(symbol).map((s) => s.getName());
    const lines = names.map((name) => `${runtime.has(name) ? 'value' : 'type'} ${name}`);
    for (const name of runtime) if (!names.includes(name)) lines.push(`value ${name} (no declaration)`);
    out.set(entry.name, lines.sort((a, b) => (a.split(' ')[1]! < b.split(' ')[1]! ? -1 : 1)));
  }
  return out;
}

/** The whole snapshot text: one `# <entry point>` block per entry point. */
export async function snapshotText(root: string): Promise<string> {
  const lines = await exportLines(root);
  return `${ENTRY_POINTS.map((entry) => [`# ${entry.name}`, ...(lines.get(entry.name) ?? [])].join('\n')).join('\n\n')}\n`;
}

/** Parses the committed snapshot into entry point → lines. */
export function parseSnapshot(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# ')) {
      current = [];
      out.set(line.slice(2), current);
    } else if (line.trim() !== '' && current !== undefined) current.push(line);
  }
  return out;
}

// `node dist/test/support/export-names.js --write` (npm run api:snapshot): rewrite the committed list.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv.includes('--write')) {
  const root = repoRoot();
  const text = await snapshotText(root);
  const before = (() => {
    try {
      return readFileSync(join(root, SNAPSHOT_FILE), 'utf8');
    } catch {
      return '';
    }
  })();
  writeFileSync(join(root, SNAPSHOT_FILE), text);
  process.stdout.write(before === text ? `${SNAPSHOT_FILE}: unchanged\n` : `${SNAPSHOT_FILE}: rewritten; review the diff before committing\n`);
}
