/**
 * Finds the fuzz targets: every module directly under fuzz/targets/
 * default-exports a FuzzTarget or an array of them. Adding a target is
 * adding a file there; nothing else lists them.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FuzzTarget } from './target.js';

export interface RegisteredTarget {
  target: FuzzTarget;
  /** The module to load in a worker. */
  moduleUrl: string;
}

const TARGETS_DIR = new URL('../targets/', import.meta.url);

export async function loadTargets(dir: URL = TARGETS_DIR): Promise<RegisteredTarget[]> {
  const files = readdirSync(fileURLToPath(dir))
    .filter((f) => f.endsWith('.js'))
    .sort();
  const out: RegisteredTarget[] = [];
  const names = new Set<string>();
  for (const file of files) {
    const moduleUrl = pathToFileURL(fileURLToPath(new URL(file, dir))).href;
    for (const target of await targetsOf(moduleUrl)) {
      if (names.has(target.name)) throw new Error(`two fuzz targets named ${target.name}`);
      names.add(target.name);
      out.push({ target, moduleUrl });
    }
  }
  return out;
}

/** The targets a module exports by default. */
export async function targetsOf(moduleUrl: string): Promise<FuzzTarget[]> {
  const module = (await import(moduleUrl)) as { default?: FuzzTarget | FuzzTarget[] };
  const exported = module.default;
  if (exported === undefined) throw new Error(`${moduleUrl} has no default export (a FuzzTarget or an array of them)`);
  return Array.isArray(exported) ? exported : [exported];
}

export async function targetIn(moduleUrl: string, name: string): Promise<FuzzTarget> {
  const target = (await targetsOf(moduleUrl)).find((t) => t.name === name);
  if (target === undefined) throw new Error(`no fuzz target ${name} in ${moduleUrl}`);
  return target;
}
