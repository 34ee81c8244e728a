/**
 * The daemon's metrics follow Prometheus conventions (one metric per thing
 * counted, `_total` on counters, labels with closed lists of values, none
 * chosen by clients), and README.md's Metrics table lists exactly the
 * metrics that /metrics exposes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { emptyAgentStats } from '../../../src/agent/agent-stats.js';
import { DaemonMetrics, type MetricsSources } from '../../../src/metrics/daemon-metrics.js';
import { emptyTransportStats } from '../../../src/sip/transport/transport-options.js';
import { parsePrometheusText } from '../../support/prometheus-text.js';
import { readmeSection, repoRoot } from '../../support/repo-root.js';

function sources(): MetricsSources {
  return {
    dialogsByState: () => ({ active: 2 }),
    subscriptionsByState: () => ({ active: 2, none: 1 }),
    engineStats: () => ({
      subscribesSent: 3,
      unsubscribesSent: 0,
      responses: { '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 0, '6xx': 0 },
      notifiesAccepted: 2,
      notifiesRejected: 0,
      notifiesUnmatched: 1,
      statusMessages: 4,
      failures: 1,
      notifySourceMismatches: 2,
      refreshesAfterOverload: 0,
      notifiesAfterUnsubscribe: 8,
      confirmingRefreshes: 0,
    }),
    statusMessages: () => 7,
    queues: () => ({ count: 2, depth: 1, dropped: 5, coalesced: 6 }),
    sseClients: () => 1,
    localAgentStats: () => ({ ...emptyAgentStats(), publishesAccepted: 3, publishesRejected: 1, notifiesSent: 4, notifyFailures: 1 }),
    transportStats: () => ({ ...emptyTransportStats(), received: 10, sent: 9, parseErrors: 3, badRequestsAnswered: 1, malformedResponsesDropped: 1, malformedDropped: 1 }),
    internalErrors: () => ({ transport: 0, request_handler: 1 }),
    transportDiagnostics: () => ({ socket_error: 2, connection_rejected: 0 }),
  };
}

/** Our own metric families (prom-client's default process_* and nodejs_* aside). */
async function families(): Promise<{ types: Map<string, string>; samples: Map<string, number>; help: Set<string> }> {
  const parsed = parsePrometheusText(await new DaemonMetrics(sources()).render());
  const types = new Map([...parsed.types].filter(([name]) => name.startsWith('presence_b2b_')));
  return { types, samples: parsed.samples, help: parsed.help };
}

describe('daemon metrics', () => {
  test('Prometheus conventions: prefix, _total on counters only, HELP on each, no open or mixed labels', async () => {
    const { types, samples, help } = await families();
    assert.ok(types.size > 10);
    for (const [name, type] of types) {
      assert.match(name, /^presence_b2b_[a-z0-9_]+$/, name);
      assert.ok(help.has(name), `# HELP for ${name}`);
      if (type === 'counter') assert.match(name, /_total$/, `counter ${name} ends in _total`);
      else assert.doesNotMatch(name, /_total$/, `${type} ${name} does not end in _total`);
    }
    for (const key of samples.keys()) {
      if (!key.startsWith('presence_b2b_')) continue;
      const labels = [...key.matchAll(/([a-z_]+)="/g)].map((m) => m[1]);
      for (const label of labels) {
        // `event`/`kind` mixed unrelated events in one metric; `queue` took names that clients choose.
        assert.ok(!['event', 'kind', 'queue'].includes(label ?? ''), `${key}: label ${label}`);
      }
    }
  });

  test('values: each thing counted once, split by a closed label', async () => {
    const { samples } = await families();
    const expected: Record<string, number> = {
      presence_b2b_status_messages_total: 7,
      presence_b2b_notifies_after_unsubscribe_total: 8,
      presence_b2b_queues: 2,
      presence_b2b_queued_messages: 1,
      presence_b2b_queue_dropped_messages_total: 5,
      presence_b2b_queue_coalesced_messages_total: 6,
      'presence_b2b_local_agent_publishes_total{result="accepted"}': 3,
      'presence_b2b_local_agent_publishes_total{result="rejected"}': 1,
      presence_b2b_local_agent_notifies_sent_total: 4,
      presence_b2b_local_agent_notify_failures_total: 1,
      presence_b2b_sip_messages_received_total: 10,
      presence_b2b_sip_messages_sent_total: 9,
      'presence_b2b_sip_malformed_messages_total{action="answered_400"}': 1,
      'presence_b2b_sip_malformed_messages_total{action="dropped"}': 2,
      presence_b2b_sip_socket_errors_total: 2,
      'presence_b2b_internal_errors_total{component="request_handler"}': 1,
      'presence_b2b_dialogs{state="waiting"}': 0,
    };
    for (const [sample, value] of Object.entries(expected)) assert.equal(samples.get(sample), value, sample);
  });

  test("README's Metrics table lists exactly the metrics exposed", async () => {
    const { types } = await families();
    const section = readmeSection(readFileSync(join(repoRoot(), 'README.md'), 'utf8'), 'Metrics');
    const documented = new Map<string, string>();
    for (const m of section.matchAll(/^\| `(presence_b2b_[a-z0-9_]+)(?:\{([a-z_,]+)\})?` \| (counter|gauge|histogram) \|/gm)) documented.set(m[1]!, m[3]!);
    assert.deepEqual([...documented.keys()].sort(), [...types.keys()].sort());
    for (const [name, type] of types) assert.equal(documented.get(name), type, name);
  });
});
