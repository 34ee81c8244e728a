/**
 * deploy/: the Grafana dashboard and the Prometheus alert rules name only
 * metrics (and label values) that a running daemon exports on GET /metrics,
 * so that a rename breaks this test instead of a dashboard in production.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/index.js';
import { type DaemonHandle, startDaemon } from '../../../src/daemon/daemon.js';
import { createLogger } from '../../../src/log/logger.js';
import { repoRoot } from '../../support/repo-root.js';

const root = repoRoot();

/** Written by Prometheus for each scrape target, not by the daemon. */
const PROMETHEUS_OWN = new Set(['up']);
/** Labels Prometheus adds to every series (scrape config), not the daemon. */
const TARGET_LABELS = new Set(['job', 'instance']);

interface Selector {
  metric: string;
  matchers: Array<{ label: string; op: string; value: string }>;
  where: string;
}

/** Every metric a PromQL expression names, with its label matchers. */
function selectorsOf(expr: string, where: string): Selector[] {
  const out: Selector[] = [];
  const name = /\b((?:presence_b2b|nodejs|process)_[a-z0-9_]+|up)\b(\s*\{([^}]*)\})?/g;
  for (let m = name.exec(expr); m !== null; m = name.exec(expr)) {
    const matchers: Selector['matchers'] = [];
    const body = m[3] ?? '';
    const matcher = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;
    for (let x = matcher.exec(body); x !== null; x = matcher.exec(body)) matchers.push({ label: x[1]!, op: x[2]!, value: x[3]! });
    out.push({ metric: m[1]!, matchers, where });
  }
  return out;
}

function dashboardSelectors(): Selector[] {
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy', 'grafana-dashboard.json'), 'utf8')) as {
    panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ name: string; definition?: string }> };
  };
  const out: Selector[] = [];
  for (const panel of dashboard.panels) for (const target of panel.targets ?? []) out.push(...selectorsOf(target.expr, `dashboard panel "${panel.title}"`));
  for (const variable of dashboard.templating.list) if (variable.definition !== undefined) out.push(...selectorsOf(variable.definition, `dashboard variable $${variable.name}`));
  return out;
}

function alertSelectors(): Selector[] {
  const rules = parse(readFileSync(join(root, 'deploy', 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
  return rules.groups.flatMap((g) => g.rules.flatMap((r) => selectorsOf(r.expr, `alert ${r.alert}`)));
}

/** Sample names of the exposition text, each with the values seen for each label. */
function samplesOf(text: string): Map<string, Map<string, Set<string>>> {
  const samples = new Map<string, Map<string, Set<string>>>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? /.exec(line);
    if (m === null) continue;
    const labels = samples.get(m[1]!) ?? new Map<string, Set<string>>();
    samples.set(m[1]!, labels);
    const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let p = pair.exec(m[3] ?? ''); p !== null; p = pair.exec(m[3] ?? '')) {
      const values = labels.get(p[1]!) ?? new Set<string>();
      values.add(p[2]!);
      labels.set(p[1]!, values);
    }
  }
  return samples;
}

describe('deploy/ dashboards and alerts against GET /metrics', () => {
  let daemon: DaemonHandle;
  let exposition: string;

  before(async () => {
    const config = parseConfig({
      sip: { listen: [{ transport: 'udp', host: '127.0.0.1', port: 0 }] },
      http: { host: '127.0.0.1', port: 0 },
      store: { type: 'memory' },
      log_level: 'silent',
    });
    daemon = await startDaemon(config, { logger: createLogger({ level: 'silent' }) });
    const response = await fetch(`http://127.0.0.1:${daemon.http!.port}/metrics`);
    assert.equal(response.status, 200);
    exposition = await response.text();
  });
  after(async () => {
    await daemon?.close('leave');
  });

  test('both files parse and name metrics at all', () => {
    assert.ok(dashboardSelectors().length >= 30, 'the dashboard queries metrics');
    assert.ok(alertSelectors().length >= 15, 'the alerts query metrics');
  });

  test('every metric and every label value they select is exported', () => {
    const samples = samplesOf(exposition);
    const problems: string[] = [];
    for (const s of [...dashboardSelectors(), ...alertSelectors()]) {
      if (PROMETHEUS_OWN.has(s.metric)) continue;
      const labels = samples.get(s.metric);
      if (labels === undefined) {
        problems.push(`${s.where}: ${s.metric} is not in /metrics`);
        continue;
      }
      for (const { label, op, value } of s.matchers) {
        if (TARGET_LABELS.has(label)) continue;
        const values = labels.get(label);
        if (values === undefined) {
          problems.push(`${s.where}: ${s.metric} has no label ${label}`);
          continue;
        }
        // A literal value, or an alternation of literals, must name values the daemon exports.
        if ((op === '=' || op === '=~') && /^[\w.]+(\|[\w.]+)*$/.test(value)) {
          for (const wanted of value.split('|')) if (!values.has(wanted)) problems.push(`${s.where}: ${s.metric}{${label}} never takes the value "${wanted}" (it takes ${[...values].join(', ')})`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
