/**
 * README's configuration-error example shows what really happens: its
 * config.yaml, validated, gives exactly the lines shown (and, with the
 * corrections it describes, the line shown next).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ConfigError, formatProblem } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/load-config.js';
import { readmeSection, repoRoot } from '../../support/repo-root.js';

function linesFor(document: Record<string, unknown>): string[] {
  try {
    parseConfig(document, {});
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map(formatProblem);
  }
  return [];
}

test("README's config-error example: the file gives exactly the lines shown", () => {
  const section = readmeSection(readFileSync(join(repoRoot(), 'README.md'), 'utf8'), 'Configuration');
  const start = section.indexOf('exits with status **2**');
  assert.ok(start > 0);
  const yamlBlock = /```yaml\n([\s\S]*?)```/.exec(section.slice(start));
  const outputs = [...section.slice(start).matchAll(/```text\n([\s\S]*?)```/g)].map((m) => m[1]!.trim().split('\n'));
  assert.ok(yamlBlock !== null && outputs.length >= 2);
  const document = parse(yamlBlock[1]!) as Record<string, unknown>;
  assert.deepEqual(linesFor(document), outputs[0]);
  const http = document.http as Record<string, unknown>;
  const corrected = { ...document, default_expiration: 600, http: { host: http.host, port: http.prot } };
  assert.deepEqual(linesFor(corrected), outputs[1]);
});
