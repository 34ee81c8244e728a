/**
 * deploy/presence-b2b.service, the systemd unit example, agrees with the
 * CLI: the command it runs, the exit status that means "do not restart"
 * (a configuration error), and a stop timeout above the daemon's own bound.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXIT_CONFIG } from '../../../src/cli/start-command.js';
import { parseConfig } from '../../../src/config/index.js';
import { repoRoot } from '../../support/repo-root.js';

const root = repoRoot();

describe('deploy/presence-b2b.service', () => {
  const unit = readFileSync(join(root, 'deploy', 'presence-b2b.service'), 'utf8');
  const value = (key: string): string | undefined => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1]?.trim();

  test('runs `start -c`, restarts on failure but not on a configuration error, waits out the graceful stop', () => {
    assert.match(value('ExecStart') ?? '', /^\/\S+\/presence-b2b start -c \/etc\/presence-b2b\/config\.yaml$/);
    assert.equal(value('Restart'), 'on-failure');
    assert.equal(value('RestartPreventExitStatus'), String(EXIT_CONFIG));
    assert.equal(value('KillSignal'), 'SIGTERM');
    // shutdown.timeout_ms (default 5000) plus the 3 s the CLI allows on top of it.
    const config = parseConfig({});
    assert.ok(Number(value('TimeoutStopSec')) * 1000 >= config.shutdown.timeout_ms + 3000, 'systemd waits longer than the daemon needs');
    assert.equal(value('StateDirectory'), 'presence-b2b');
    assert.equal(value('WorkingDirectory'), '/var/lib/presence-b2b');
  });
});
