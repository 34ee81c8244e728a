/**
 * The fuzzing engine (fuzz/engine): it finds an input that crashes and one
 * that hangs, reports them with their octets, stops a synchronous infinite
 * loop with its watchdog and goes on; replay runs each input once under the
 * same watchdog. Bounded: a few hundred inputs of trivial targets.
 */
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, test } from 'node:test';
import { crashSignature } from '../../../fuzz/engine/protocol.js';
import { type Finding, replayInputs, runTarget } from '../../../fuzz/engine/runner.js';
import { crashing, hanging, wellBehaved } from './support/misbehaving-targets.js';

const moduleUrl = new URL('./support/misbehaving-targets.js', import.meta.url).href;

describe('fuzzing engine', () => {
  test('a crashing input is reported with its octets and where it crashed', async () => {
    const findings: Finding[] = [];
    const stats = await runTarget({
      target: crashing,
      moduleUrl,
      seed: 1,
      durationMs: 20_000,
      maxRuns: 300,
      timeoutMs: 1000,
      coverage: 'guide',
      onFinding: (f) => findings.push(f),
    });
    assert.equal(stats.runs, 300);
    assert.ok(stats.crashingInputs >= 1);
    assert.equal(stats.hangs, 0);
    const first = findings[0]!;
    assert.equal(first.kind, 'crash');
    assert.match(Buffer.from(first.input).toString('latin1'), /boom/);
    assert.equal(first.error.name, 'TypeError');
    assert.match(crashSignature(first.error), /^TypeError at .*misbehaving-targets\.js/);
  });

  test('an input stuck in a synchronous loop is a hang; the fuzzer goes on in a new worker without it', async () => {
    const findings: Finding[] = [];
    const stats = await runTarget({
      target: hanging,
      moduleUrl,
      seed: 1,
      durationMs: 20_000,
      maxRuns: 200,
      timeoutMs: 300,
      coverage: 'off',
      onFinding: (f) => findings.push(f),
    });
    const hangs = findings.filter((f) => f.kind === 'hang');
    assert.ok(hangs.length >= 1);
    assert.equal(stats.hangs, hangs.length);
    assert.equal(Buffer.from(hangs[0]!.input).toString('latin1'), 'spin');
    assert.ok(stats.restarts >= 1);
    assert.equal(stats.crashingInputs, 0);
  });

  test('a target that keeps its promise finds nothing', async () => {
    const findings: Finding[] = [];
    const stats = await runTarget({ target: wellBehaved, moduleUrl, seed: 7, durationMs: 20_000, maxRuns: 500, timeoutMs: 1000, coverage: 'guide', onFinding: (f) => findings.push(f) });
    assert.deepEqual(findings, []);
    assert.equal(stats.runs, 500);
    assert.ok(stats.corpus >= 2);
  });

  test('replay: each input once, in order, crashes and hangs named by index', async () => {
    const inputs = ['fine', 'spin', 'boom', 'x'].map((s) => Buffer.from(s));
    assert.deepEqual(
      (await replayInputs({ target: hanging, moduleUrl, inputs, timeoutMs: 300 })).map((r) => [r.index, r.outcome]),
      [
        [0, 'ok'],
        [1, 'hang'],
        [2, 'ok'],
        [3, 'ok'],
      ],
    );
    assert.deepEqual(
      (await replayInputs({ target: crashing, moduleUrl, inputs, timeoutMs: 1000 })).map((r) => [r.index, r.outcome]),
      [
        [0, 'expected-error'],
        [1, 'expected-error'],
        [2, 'crash'],
        [3, 'expected-error'],
      ],
    );
  });
});
