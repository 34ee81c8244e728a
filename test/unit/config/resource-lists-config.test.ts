import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../../../src/config/index.js';
import { userAgentSourcesFromConfig } from '../../../src/daemon/local-agent.js';

function problems(document: Record<string, unknown>): string[] {
  try {
    parseConfig(document);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('expected a ConfigError');
}

test('resource_lists and rls_min_notify_interval: defaults and a valid list', () => {
  const none = parseConfig({});
  assert.deepEqual(none.resource_lists, {});
  assert.equal(none.rls_min_notify_interval, 1);
  const config = parseConfig({
    resource_lists: {
      'sip:friends@example.com': { owner: 'sip:bob@example.com', members: ['sip:alice@example.com', 'sip:family@example.com'] },
      'sip:family@example.com': { members: ['sip:dave@example.com'] },
    },
    rls_min_notify_interval: 0.5,
  });
  assert.equal(config.resource_lists['sip:friends@example.com']?.owner, 'sip:bob@example.com');
  assert.equal(config.rls_min_notify_interval, 0.5);
});

test('resource_lists: a cycle through nested lists, a non-SIP member, a list named twice, a bad interval', () => {
  assert.deepEqual(
    problems({
      resource_lists: {
        'sip:a@example.com': { members: ['sip:b@example.com'] },
        'sip:b@example.com': { members: ['sip:c@example.com'] },
        'sip:c@example.com': { members: ['sip:A@example.com', 'sip:a@EXAMPLE.com'] },
      },
    }),
    ['resource_lists.sip:a@example.com: nested lists form a cycle: sip:a@example.com → sip:b@example.com → sip:c@example.com → sip:a@example.com'],
  );
  assert.deepEqual(problems({ resource_lists: { 'sip:self@example.com': { members: ['sip:self@example.com'] } } }), [
    'resource_lists.sip:self@example.com: nested lists form a cycle: sip:self@example.com → sip:self@example.com',
  ]);
  assert.deepEqual(problems({ resource_lists: { 'sip:l@example.com': { members: ['alice'] } } }), [
    'resource_lists.sip:l@example.com.members.0: expected a SIP URI (sip:… or sips:…), got "alice"',
  ]);
  assert.deepEqual(problems({ resource_lists: { 'sip:l@example.com': { members: [] }, 'sips:l@Example.COM': { members: [] } } }), [
    'resource_lists.sips:l@Example.COM: the same list as sip:l@example.com',
  ]);
  assert.deepEqual(problems({ resource_lists: { 'sip:l@example.com': { members: [], owner: 'bob' } } }), [
    'resource_lists.sip:l@example.com.owner: expected a SIP URI (sip:… or sips:…), got "bob"',
  ]);
  assert.deepEqual(problems({ rls_min_notify_interval: -1 }), ['rls_min_notify_interval: expected a number of seconds from 0 to 3600, got -1']);
});

test('local_agent.user_agents: the three shapes, the watcher identity, and what is refused', () => {
  const config = parseConfig({
    presence_outbound_proxy: 'sip:127.0.0.1:5070',
    local_agent: {
      domains: ['localhost'],
      subscriber: 'sip:pa@localhost',
      user_agents: {
        'sip:alice@localhost': 'sip:alice@127.0.0.1:5080',
        'sip:bob@localhost': { address: 'sip:bob@192.0.2.7', subscriber: 'sip:bob@localhost' },
        'sip:carol@localhost': { via_proxy: true },
      },
    },
  });
  assert.deepEqual(userAgentSourcesFromConfig(config.local_agent), {
    'sip:alice@localhost': { record: 'sip:alice@127.0.0.1:5080', subscriber: 'sip:pa@localhost' },
    'sip:bob@localhost': { record: 'sip:bob@192.0.2.7', subscriber: 'sip:bob@localhost' },
    'sip:carol@localhost': { record: 'sip:carol@localhost', subscriber: 'sip:pa@localhost' },
  });
  // Without local_agent.subscriber the presentity watches itself.
  const plain = parseConfig({ local_agent: { user_agents: { 'sip:alice@localhost': 'sip:alice@127.0.0.1:5080' } } });
  assert.deepEqual(userAgentSourcesFromConfig(plain.local_agent), { 'sip:alice@localhost': { record: 'sip:alice@127.0.0.1:5080' } });

  assert.deepEqual(problems({ local_agent: { user_agents: { 'sip:carol@localhost': { via_proxy: true } } } }), [
    'local_agent.user_agents.sip:carol@localhost.via_proxy: needs presence_outbound_proxy (where the SUBSCRIBE to the presentity goes)',
  ]);
  assert.deepEqual(problems({ local_agent: { user_agents: { 'sip:carol@localhost': {} } } }), [
    'local_agent.user_agents.sip:carol@localhost: expected address: <the UA’s SIP URI> or via_proxy: true',
  ]);
  assert.deepEqual(problems({ local_agent: { user_agents: { 'sip:carol@elsewhere.org': 'sip:carol@192.0.2.9' } } }), [
    'local_agent.user_agents.sip:carol@elsewhere.org: not in a domain of local_agent.domains (localhost)',
  ]);
});
