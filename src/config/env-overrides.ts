import { parse as parseYaml } from 'yaml';

/** Every environment variable starting with this overrides one configuration key. */
export const ENV_PREFIX = 'PRESENCE_B2B_';

/** One override taken from the environment, for error messages that say where a value came from. */
export interface EnvOverride {
  variable: string;
  path: Array<string | number>;
  value: unknown;
}

/**
 * Maps `PRESENCE_B2B_DEFAULT_EXPIRATION=600` to `default_expiration: 600` and
 * `PRESENCE_B2B_HTTP__PORT=7081` to `http: { port: 7081 }`: the rest of the
 * name lower-cased, `__` separating nesting levels (single `_` belongs to
 * the key names), a purely numeric level indexing a list
 * (`PRESENCE_B2B_SIP__LISTEN__0__PORT`).
 */
export function envOverrides(env: NodeJS.ProcessEnv): EnvOverride[] {
  const out: EnvOverride[] = [];
  for (const [variable, raw] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const rest = variable.slice(ENV_PREFIX.length);
    if (rest === '') continue;
    const path = rest
      .toLowerCase()
      .split('__')
      .map((segment) => (/^\d+$/.test(segment) ? Number(segment) : segment));
    out.push({ variable, path, value: envValue(raw) });
  }
  // Deterministic order: parents before children, then by name.
  out.sort((a, b) => a.path.length - b.path.length || a.variable.localeCompare(b.variable));
  return out;
}

/**
 * Numbers, true/false/null and YAML flow collections (`[a, b]`, `{k: v}`) are
 * read as YAML; anything else is the string as given, so that values like
 * `X-Foo: bar` or `<sip:proxy;lr>` need no quoting.
 */
export function envValue(raw: string): unknown {
  const trimmed = raw.trim();
  if (/^(?:[-+]?\d+(?:\.\d+)?|true|false|null|~)$/i.test(trimmed) || trimmed.startsWith('[') || trimmed.startsWith('{')) {
    try {
      return parseYaml(trimmed);
    } catch {
      // Looks like YAML but is not (`[a, b`): the string as given; the schema then names the key if it must not be one.
      return raw;
    }
  }
  return raw;
}

/**
 * Writes the overrides into `target` (the parsed file, an object), creating
 * intermediate objects as needed. A path that runs into a scalar, or a list
 * index past the end, is reported back instead of applied.
 */
export function applyEnvOverrides(target: Record<string, unknown>, overrides: readonly EnvOverride[]): Array<{ override: EnvOverride; reason: string }> {
  const problems: Array<{ override: EnvOverride; reason: string }> = [];
  for (const override of overrides) {
    let node: unknown = target;
    let ok = true;
    for (let i = 0; i < override.path.length - 1 && ok; i++) {
      const key = override.path[i]!;
      const container = node as Record<string | number, unknown>;
      let next = container[key];
      if (next === undefined) {
        if (Array.isArray(container)) {
          problems.push({ override, reason: `list index ${key} does not exist` });
          ok = false;
          break;
        }
        next = typeof override.path[i + 1] === 'number' ? [] : {};
        container[key] = next;
      }
      if (next === null || typeof next !== 'object') {
        problems.push({ override, reason: `${override.path.slice(0, i + 1).join('.')} is not an object` });
        ok = false;
        break;
      }
      node = next;
    }
    if (!ok) continue;
    const last = override.path[override.path.length - 1]!;
    if (Array.isArray(node) && (typeof last !== 'number' || last > node.length)) {
      problems.push({ override, reason: `list index ${String(last)} does not exist` });
      continue;
    }
    (node as Record<string | number, unknown>)[last] = override.value;
  }
  return problems;
}
