import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { CONFIG_SCHEMA, type DaemonConfig, showValue } from './config-schema.js';
import { applyEnvOverrides, type EnvOverride, envOverrides } from './env-overrides.js';
import { knownKeysAt, suggestKey } from './key-suggestion.js';

export interface LoadConfigOptions {
  /** A YAML file; without one the embedded defaults apply. */
  file?: string;
  /** Environment to take `PRESENCE_B2B_*` overrides from; process.env by default. */
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads, overrides and validates the configuration. Throws ConfigError
 * (every problem found, each with its key path) and never binds anything.
 */
export function loadConfig(options: LoadConfigOptions = {}): DaemonConfig {
  let raw: Record<string, unknown> = {};
  if (options.file !== undefined) raw = readConfigFile(options.file);
  return parseConfig(raw, options.env ?? process.env);
}

/** Validates an already parsed document (plus the environment overrides). */
export function parseConfig(document: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): DaemonConfig {
  const raw = structuredClone(document);
  const overrides = envOverrides(env);
  const problems: ConfigProblem[] = applyEnvOverrides(raw, overrides).map(({ override, reason }) => ({
    path: override.path.join('.'),
    variable: override.variable,
    message: reason,
  }));
  if (problems.length > 0) throw new ConfigError(problems);
  const result = CONFIG_SCHEMA.safeParse(raw, { error: genericMessage });
  if (!result.success) throw new ConfigError(problemsOf(result.error.issues, overrides));
  return result.data;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ConfigError([{ path: '', message: `cannot read ${file}: ${reason}` }], 'CONFIG_ERR_FILE');
  }
  return configDocumentFromYaml(text, file);
}

/**
 * The YAML text of a configuration file as a document for parseConfig
 * (`source` names the file in messages). Throws ConfigError
 * `CONFIG_ERR_YAML` for text that is not YAML or not a mapping.
 */
export function configDocumentFromYaml(text: string, source: string): Record<string, unknown> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: '', message: `${source}: YAML: ${e.message.split('\n')[0]}` })),
      'CONFIG_ERR_YAML',
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // Aliases are resolved here, not while parsing: an unknown anchor or an alias bomb
    // (the yaml package stops expanding past its maxAliasCount) throws a plain ReferenceError.
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError([{ path: '', message: `${source}: YAML: ${reason.split('\n')[0]}` }], 'CONFIG_ERR_YAML');
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([{ path: '', message: `${source}: expected a mapping of keys at the top level, got ${showValue(value)}` }], 'CONFIG_ERR_YAML');
  }
  return value as Record<string, unknown>;
}

/** Messages for issues whose schema did not word its own. */
function genericMessage(issue: { code?: string; input?: unknown; expected?: unknown; values?: unknown }): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${article(String(issue.expected))}, got ${showValue(issue.input)}`;
    case 'invalid_value':
      return `expected one of ${Array.isArray(issue.values) ? issue.values.map((v) => JSON.stringify(v)).join(', ') : '?'}, got ${showValue(issue.input)}`;
    case 'invalid_union':
      return `unexpected value ${showValue(issue.input)}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  if (expected === 'object') return 'a mapping';
  if (expected === 'array') return 'a list';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function problemsOf(issues: readonly z.core.$ZodIssue[], overrides: readonly EnvOverride[]): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(CONFIG_SCHEMA, issue.path as Array<string | number>);
      for (const key of issue.keys) {
        const meant = suggestKey(key, known);
        const message = meant === undefined ? 'unknown key' : `unknown key (did you mean ${[...base, meant].join('.')}?)`;
        out.push(withVariable({ path: [...base, key].join('.'), message }, [...base, key], overrides));
      }
    } else {
      out.push(withVariable({ path: base.join('.'), message: issue.message }, base, overrides));
    }
  }
  return out;
}

function withVariable(problem: ConfigProblem, path: readonly string[], overrides: readonly EnvOverride[]): ConfigProblem {
  // The longest override that is a prefix of the path is where the value came from.
  let best: EnvOverride | undefined;
  for (const o of overrides) {
    const p = o.path.map(String);
    if (p.length <= path.length && p.every((s, i) => s === path[i]) && (best === undefined || p.length > best.path.length)) best = o;
  }
  return best === undefined ? problem : { ...problem, variable: best.variable };
}
