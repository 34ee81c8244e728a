/**
 * The flood mechanism (docs/hostile-input.md, "Floods"), asserted on a short
 * flood: the presence-server simulator (a child process) sends in-dialog
 * NOTIFYs over UDP faster than the B2BUA takes them (the B2BUA is blocked
 * for 0.4 s during the flood, so that this holds on a fast machine too), with a
 * sip.overload.backlog_limit of 1 MiB so that shedding starts within the
 * first samples of the flood. It checks that the transport answered 503 (Retry-After is checked
 * on the wire in test/wire/transport/limits.test.ts), that the stalled
 * consumer's queue stayed at its capacity and coalesced instead of dropping,
 * that shedding ended after the flood, that the engine then refreshed every
 * dialog (PresenceEngine.overloadEnded) and that no subscription was lost.
 * It asserts the mechanism, never a speed: the 30 s flood at ten times the
 * capacity is `npm run bench:flood`. Bounded: 2 s of flood, about 15 s in all.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFlood, runFlood } from '../../bench/flood.js';

test('NOTIFY flood: 503s while the backlog is over the limit, the queue coalesces at its capacity, recovery with no subscription lost', { timeout: 120_000 }, async (t) => {
  const n = 100;
  const report = await runFlood({
    rate: 5000,
    durationMs: 2000,
    n,
    // Away from the peers' ports (5070-5085), the bench smoke (5110) and a manual bench run (5190).
    portBase: 5150,
    // Over what the set-up's 100 initial NOTIFYs queue at once (about 0.3 MiB as the kernel counts), far under what the flood does.
    backlogLimitBytes: 1024 * 1024,
    retryAfterSeconds: 5,
    t1Ms: 50,
    queueCapacity: 2 * n,
    stallConsumer: true,
    pin: false,
    // The B2BUA (this process) blocked for 0.4 s half a second into the flood: 2,000 NOTIFYs (several MiB as the
    // kernel counts, under the 8 MiB receive buffer) wait, so the backlog passes its limit on any machine. Without
    // it a fast enough machine handled the 5,000/s with no backlog and nothing to shed ("shedding started" failed
    // in a CI run: 10,000 handled, backlog max 0.0 MiB).
    stallMs: 400,
    say: (line) => t.diagnostic(line),
  });
  for (const line of describeFlood(report).split('\n')) t.diagnostic(line);
  const f = report.flood;
  assert.ok(f.overloadPeriods >= 1, 'shedding started');
  assert.ok(f.shed > 0, 'requests were shed');
  assert.ok((f.responses['503'] ?? 0) > 0, 'the simulator got 503s');
  assert.ok(f.handled > 0, 'NOTIFYs were still handled between and around the shedding');
  assert.ok(f.maxQueueDepth <= 2 * n, `queue depth ${f.maxQueueDepth} within its capacity`);
  assert.ok(f.coalesced > 0, 'the stalled queue coalesced');
  assert.equal(f.dropped, 0, 'nothing dropped: capacity above the subscriptions sharing the queue');
  const r = report.recovery;
  assert.equal(r.dialogsActive, n);
  // Every dialog sent a SUBSCRIBE once the overload was over (the B2BUA passes the overload events of the transport on):
  // the refresh after the overload, or a confirming refresh that went first (docs/behaviour.md §3.7; then it is skipped).
  assert.ok(r.refreshedAfterOverload <= n * f.overloadPeriods, `${r.refreshedAfterOverload} refreshes after ${f.overloadPeriods} overload periods, at most one per dialog and period`);
  assert.ok(r.refreshedAfterOverload + r.confirmingAfterOverload >= n, `every dialog refreshed after the overload (${r.refreshedAfterOverload} + ${r.confirmingAfterOverload} confirming)`);
  assert.equal(r.simLiveDialogs, n);
  assert.equal(r.deliveredAfter, n, 'the NOTIFY after the flood reached every queue');
  assert.equal(r.subscriptionsLost, 0);
});

test('NOTIFY flood from the generator processes: a capacity step, the flood at a multiple of it, 503s (if any) with Retry-After, CSeqs above the flood after it, nothing lost', { timeout: 120_000 }, async (t) => {
  const n = 100;
  const report = await runFlood({
    rate: 5000,
    durationMs: 2000,
    n,
    portBase: 5154,
    backlogLimitBytes: 1024 * 1024,
    retryAfterSeconds: 5,
    t1Ms: 50,
    queueCapacity: 2 * n,
    stallConsumer: true,
    pin: false,
    blasters: 1,
    blasterSockets: 4,
    // A step every machine handles; the flood then goes at fifty times it (10,000/s), over what this set-up takes here.
    capacityRates: [200],
    capacityStepMs: 1000,
    floodFactor: 50,
    say: (line) => t.diagnostic(line),
  });
  for (const line of describeFlood(report).split('\n')) t.diagnostic(line);
  const g = report.generator;
  assert.ok(g !== undefined, 'the generator processes ran');
  assert.equal(g.processes, 1);
  assert.equal(g.capacitySteps[0]?.passed, true, 'the capacity step was fully handled (every NOTIFY answered 200, none shed)');
  assert.equal(g.measuredCapacity, 200);
  assert.equal(report.options.rate, 10_000, 'the flood at the factor times the measured capacity');
  const f = report.flood;
  assert.ok(f.sent > 0);
  assert.equal((f.responses['200'] ?? 0) + (f.responses['503'] ?? 0) <= f.sent, true, 'no answer to a NOTIFY that was not sent');
  if ((f.responses['503-checked'] ?? 0) > 0) assert.equal(f.responses['503+retry-after'], f.responses['503-checked'], 'every 503 read has a Retry-After');
  const r = report.recovery;
  // The simulator's NOTIFY after the flood went above the generator's CSeqs: answered 200, not 500.
  assert.deepEqual(r.answersAfter, { '200': n });
  assert.equal(r.deliveredAfter, n);
  assert.equal(r.subscriptionsLost, 0);
});
