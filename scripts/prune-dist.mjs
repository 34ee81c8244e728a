#!/usr/bin/env node
// Removes from dist/ every compiled file whose TypeScript source is gone
// (dist/<path>.js, .js.map, .d.ts, .d.ts.map for a deleted or moved
// <path>.ts), so that a deleted test never runs from a stale build while the
// build itself stays incremental (tsc only rewrites what changed).
// `node scripts/prune-dist.mjs [root]`: root defaults to the repository.
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const OUTPUTS = ['.d.ts.map', '.d.ts', '.js.map', '.js'];
let removed = 0;

/** Prunes `dir`; returns whether it is empty afterwards (then it goes too). */
function prune(dir) {
  let empty = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (prune(path)) rmdirSync(path);
      else empty = false;
      continue;
    }
    const ext = OUTPUTS.find((e) => entry.name.endsWith(e));
    if (ext === undefined) {
      empty = false;
      continue;
    }
    const source = join(root, relative(dist, path)).slice(0, -ext.length) + '.ts';
    if (existsSync(source)) {
      empty = false;
    } else {
      rmSync(path);
      removed++;
    }
  }
  return empty;
}

for (const top of existsSync(dist) ? readdirSync(dist, { withFileTypes: true }) : []) {
  if (top.isDirectory() && prune(join(dist, top.name))) rmdirSync(join(dist, top.name));
}
if (removed > 0) process.stdout.write(`prune-dist: removed ${removed} compiled file(s) whose source is gone\n`);
