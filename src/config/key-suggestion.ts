import type { z } from 'zod';

/** The internals of a zod 4 schema that the walk below reads (kind, and what it wraps). */
interface SchemaDef {
  type?: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/**
 * The keys an object of `schema` takes at `path` (`['http']` → port, host, …),
 * through defaults, optionals, transforms, lists, records and unions; empty
 * when the path leads to no object.
 */
export function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<string | number>): string[] {
  let nodes: z.ZodType[] = [schema];
  const unwrap = (node: z.ZodType): z.ZodType[] => {
    const def = defOf(node);
    if (def.type === 'default' || def.type === 'optional' || def.type === 'nullable' || def.type === 'prefault') return def.innerType ? unwrap(def.innerType) : [];
    if (def.type === 'pipe') return def.in ? unwrap(def.in) : [];
    if (def.type === 'union') return (def.options ?? []).flatMap(unwrap);
    return [node];
  };
  nodes = nodes.flatMap(unwrap);
  for (const segment of path) {
    const next: z.ZodType[] = [];
    for (const node of nodes) {
      const def = defOf(node);
      if (def.type === 'object' && typeof segment === 'string' && def.shape?.[segment] !== undefined) next.push(def.shape[segment]);
      else if (def.type === 'array' && typeof segment === 'number' && def.element !== undefined) next.push(def.element);
      else if (def.type === 'record' && def.valueType !== undefined) next.push(def.valueType);
    }
    nodes = next.flatMap(unwrap);
  }
  return [...new Set(nodes.flatMap((node) => Object.keys(defOf(node).type === 'object' ? (defOf(node).shape ?? {}) : {})))];
}

/** Edit distance with adjacent transpositions (optimal string alignment): typos are mostly one of these. */
export function typoDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known key an unknown one was probably meant to be: the closest by
 * typo distance, if it is close (at most a third of the key's length, and at
 * most 3 edits) and the only one that close; else undefined.
 */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const wanted = unknown.toLowerCase().replace(/-/g, '_');
  // No key of ours is this long: a typo of one would not be either (and the distance is quadratic).
  if (wanted.length > 64) return undefined;
  const limit = Math.min(3, Math.max(1, Math.floor(wanted.length / 3)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  let tie = false;
  for (const key of known) {
    const distance = typoDistance(wanted, key);
    if (distance < bestDistance) {
      best = key;
      bestDistance = distance;
      tie = false;
    } else if (distance === bestDistance) {
      tie = true;
    }
  }
  return best !== undefined && bestDistance <= limit && !tie ? best : undefined;
}
