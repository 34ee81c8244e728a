/**
 * CPU per NOTIFY through presence-b2b's own code, without the kernel: the
 * real codec, transaction layer, UA core, engine, PIDF reader and QSA queue,
 * over an in-memory transport that parses what it is given and drops what it
 * sends (the transactions serialize it, as for the UDP transport). One dialog, N
 * NOTIFYs of the 1.3 KB kind (docs/benchmark-method.md §6.2), each a new transaction.
 *
 *   npm run build && node dist/bench/notify-path.js [N]        CPU µs per NOTIFY (best and median of 5 rounds)
 *   node --expose-gc --max-semi-space-size=256 --min-semi-space-size=256 dist/bench/notify-path.js --alloc [N]
 *       bytes allocated per NOTIFY: heap growth over N NOTIFYs with no GC in between
 *       (the young generation is made large enough; a round with a GC is repeated);
 *       then what each NOTIFY leaves alive after full GCs (the completed transaction)
 *   add --tracker to any of these: the daemon's NOTIFY-latency metric subscribed (diagnostics channels publishing per NOTIFY)
 *   node dist/bench/notify-path.js --alloc-profile [N]
 *       where those bytes are allocated, by function (NOTIFY_PROFILE_OUT=FILE keeps the profile)
 *   node --expose-gc --max-semi-space-size=256 --min-semi-space-size=256 dist/bench/notify-path.js --survivors [N]
 *        [--dialogs M] [--rate R] [--tcp] [--by-kind] [--minor-baseline]
 *       bytes each NOTIFY leaves alive for the scavenger (young-generation GC) to copy, at a
 *       simulated rate R/s over M dialogs (a ManualClock: Timer J as at that rate): rounds of N
 *       NOTIFYs (each on another dialog) after full GCs, then a minor GC (bench/support/scavenge-survivors.ts);
 *       --tcp: received over TCP (no Timer J); --by-kind: what they are, from two heap snapshots;
 *       --minor-baseline: two minor GCs before each round instead of full GCs (dead old objects stay, as
 *       in a running process; run it with the default young generation, without the semi-space flags);
 *       --steady (with node --expose-gc --trace-gc-nvp, default young generation): 20 s of simulated
 *       time with the GC left alone, for bench/gc-nvp-summary.ts --after 'steady: begin'
 *   node dist/bench/notify-path.js --again [N]
 *       CPU per NOTIFY against CPU per copy of an answered NOTIFY (the server's retransmission of a
 *       NOTIFY already answered, answered again from its Timer J record, RFC 3261 §17.2.2): rounds of
 *       N new NOTIFYs, each followed by the same N again; what a backlog adds per copy
 *       (docs/latency-tail.md, "The 10,000/s step: its stalls and its backlog")
 *   valgrind --tool=callgrind node --single-threaded dist/bench/notify-path.js --once N
 *       warm-up, then N NOTIFYs once, between two os.getPriority() calls that callgrind
 *       dumps at: instructions per NOTIFY, whatever the load (bench/callgrind-notify.sh)
 *
 * CPU time is inflated when the machine is busy (shared caches, frequency); the
 * allocation and instruction counts are not.
 */
import { getPriority } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { NotifyLatencyTracker } from '../src/metrics/notify-latency-tracker.js';
import { ManualClock, systemClock } from '../src/util/clock.js';
import { createPresenceB2BOnTransport } from './support/in-memory-b2b.js';
import { allocationProfile } from './support/allocation-profile.js';
import { roundsWithoutGc } from './support/rounds-without-gc.js';
import { endOfTask, measureSurvivors, survivorsByKind } from './support/scavenge-survivors.js';
import { threadTimes, threadTimesBetween } from './sut/thread-times.js';

const args = process.argv.slice(2);
const mode = args.includes('--alloc')
  ? 'alloc'
  : args.includes('--alloc-profile')
    ? 'profile'
    : args.includes('--once')
      ? 'once'
      : args.includes('--survivors')
        ? 'survivors'
        : args.includes('--again')
          ? 'again'
          : 'cpu';
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && ['--dialogs', '--rate'].includes(args[i - 1]!)));
const N = Number(positional[0] ?? (mode === 'alloc' ? 2_000 : mode === 'once' ? 1_000 : 20_000));
const WARMUP = 5000;

async function main(): Promise<void> {
  if (mode === 'survivors') return survivors();
  // Under callgrind, wall time runs ~50× slower: with the system clock, Timer J would fire
  // at a different point of each run. A clock that never moves makes the counts repeatable.
  const clock = mode === 'once' ? new ManualClock() : systemClock;
  const harness = await createPresenceB2BOnTransport(mode === 'once' ? { clock } : {});
  const { queue, nextNotify, deliver } = await harness.establish();
  // --tracker: as in the daemon, NOTIFY-to-queue latency metered through the engine's and the
  // broker's diagnostics channels (both then publish per NOTIFY) and taken() per message.
  const tracker = args.includes('--tracker') ? new NotifyLatencyTracker(clock, () => {}) : undefined;
  const run = (batch: Buffer[]): void => {
    for (let i = 0; i < batch.length; i++) {
      deliver(batch[i]!);
      const message = queue.poll();
      if (message === undefined) throw new Error('a NOTIFY produced no status message');
      tracker?.taken(message);
    }
  };
  // Warm-up, then the measured rounds; the NOTIFY bytes are made before each round.
  run(Array.from({ length: WARMUP }, nextNotify));
  if (mode === 'once') {
    const batch = Array.from({ length: N }, nextNotify);
    // os.getPriority() is a marker for callgrind (--dump-before=uv_os_getpriority): the
    // counts between the two calls are those of the N NOTIFYs alone.
    console.log('measured part: begin');
    getPriority();
    run(batch);
    getPriority();
    console.log('measured part: end');
    console.log(`NOTIFY path: warm-up ${WARMUP}, then ${N} NOTIFYs`);
  } else if (mode === 'alloc') {
    await measureAllocation(run, nextNotify);
  } else if (mode === 'again') {
    const firsts: number[] = [];
    const copies: number[] = [];
    for (let r = 0; r < 7; r++) {
      const batch = Array.from({ length: N }, nextNotify);
      let before = process.cpuUsage();
      run(batch);
      let used = process.cpuUsage(before);
      firsts.push((used.user + used.system) / N);
      before = process.cpuUsage();
      for (let i = 0; i < batch.length; i++) deliver(batch[i]!);
      used = process.cpuUsage(before);
      copies.push((used.user + used.system) / N);
      if (queue.poll() !== undefined) throw new Error('a copy of an answered NOTIFY reached the queue');
    }
    firsts.sort((a, b) => a - b);
    copies.sort((a, b) => a - b);
    console.log(
      `NOTIFY path (in memory, ${N} per round, 7 rounds): a NOTIFY median ${firsts[3]!.toFixed(1)} µs (best ${firsts[0]!.toFixed(1)}), ` +
        `a copy of it answered again from Timer J median ${copies[3]!.toFixed(1)} µs (best ${copies[0]!.toFixed(1)}) CPU`,
    );
  } else if (mode === 'profile') {
    const batch = Array.from({ length: N }, nextNotify);
    await allocationProfile(async () => run(batch), N, 'NOTIFY', process.env.NOTIFY_PROFILE_OUT);
  } else {
    const rounds: number[] = [];
    for (let r = 0; r < 5; r++) {
      const batch = Array.from({ length: N }, nextNotify);
      const before = process.cpuUsage();
      run(batch);
      const used = process.cpuUsage(before);
      rounds.push((used.user + used.system) / N);
    }
    rounds.sort((a, b) => a - b);
    console.log(`NOTIFY path (in memory, ${N} per round): best ${rounds[0]!.toFixed(1)} µs, median ${rounds[2]!.toFixed(1)} µs CPU per NOTIFY`);
  }
  tracker?.close();
  await harness.close();
}

/** Heap and ArrayBuffer growth over N NOTIFYs, in rounds with no GC at all (repeated otherwise). */
async function measureAllocation(run: (batch: Buffer[]) => void, nextNotify: () => Buffer): Promise<void> {
  const results = await roundsWithoutGc(N, () => {
    const batch = Array.from({ length: N }, nextNotify);
    const before = process.memoryUsage();
    run(batch);
    const after = process.memoryUsage();
    return { heapBytes: after.heapUsed - before.heapUsed, arrayBytes: after.arrayBuffers - before.arrayBuffers };
  });
  if (results.length === 0) {
    console.log('NOTIFY path: every round had a GC; run with --max-semi-space-size=256 --min-semi-space-size=256 or a smaller N');
    return;
  }
  const best = results[0]!;
  console.log(
    `NOTIFY path allocation (${N} per round, ${results.length} rounds without GC): ` +
      `${best.heap.toFixed(0)} B of JS heap + ${best.external.toFixed(0)} B of ArrayBuffer per NOTIFY`,
  );
  // What stays alive after each NOTIFY for Timer J (RFC 3261 §17.2.2: 32 s on UDP), i.e.
  // what 32 s × the NOTIFY rate completed transactions cost: heap after full GCs, with
  // the NOTIFY bytes themselves gone (the batch is dropped before measuring).
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return;
  let batch: Buffer[] | undefined = Array.from({ length: N }, nextNotify);
  const arrayBytes = batch.reduce((sum, b) => sum + b.length, 0);
  for (let k = 0; k < 3; k++) gc();
  const before = process.memoryUsage();
  run(batch);
  batch = undefined;
  // End the task first, as the event loop does after each datagram: a WeakRef made in a task keeps
  // its target until the task ends (a status message's document after poll(), issue 11).
  await new Promise((resolve) => setImmediate(resolve));
  for (let k = 0; k < 3; k++) gc();
  const after = process.memoryUsage();
  console.log(
    `kept per NOTIFY after GC (the completed transaction until Timer J): ${((after.heapUsed - before.heapUsed) / N).toFixed(0)} B of JS heap + ` +
      `${((after.arrayBuffers - before.arrayBuffers + arrayBytes) / N).toFixed(0)} B of ArrayBuffer`,
  );
}

/**
 * Bytes per NOTIFY that a scavenge finds alive, at R NOTIFY/s over M dialogs: after a
 * warm-up of 40 s of simulated time (Timer J, 32 s, in its steady state), rounds of N
 * NOTIFYs on N different dialogs (as at 2,500/s over 5,000 dialogs, where a scavenge
 * comes every few hundred NOTIFYs and each dialog's last status is still the newest).
 */
async function survivors(): Promise<void> {
  const dialogs = option('--dialogs', 5_000);
  const rate = option('--rate', 2_500);
  const via = args.includes('--tcp') ? 'tcp' : 'udp';
  const perRound = Math.min(N === 20_000 ? 1_000 : N, dialogs);
  // The wall clock in whole ms, as Date.now() gives it to the broker in the daemon: a fractional
  // timestamp would make each kept status keep a small object of its own (KeptStatus.rare).
  const wallStart = Date.now();
  const clock = new ManualClock(0, wallStart);
  clock.wallTime = () => wallStart + Math.floor(clock.now());
  const harness = await createPresenceB2BOnTransport({ clock, settings: { maxSubscribeRate: 0 } });
  const { queue, nextNotify, deliver } = await harness.establishMany(dialogs, via);
  while (queue.poll() !== undefined);
  const step = 1000 / rate;
  const one = (bytes: Buffer): void => {
    clock.advance(step);
    deliver(bytes);
    if (queue.poll() === undefined) throw new Error('a NOTIFY produced no status message');
  };
  const warmup = Math.ceil(rate * 40);
  for (let i = 0; i < warmup; i++) {
    one(nextNotify[i % dialogs]!());
    if (i % 32 === 31) await endOfTask();
  }
  if (args.includes('--steady')) {
    // As in the SUT: the GC left alone, NOTIFYs made and handled one by one, for 20 s of simulated
    // time; with --trace-gc-nvp, bench/gc-nvp-summary.ts reads the scavenges after the marker.
    const count = rate * 20;
    console.log(`steady: begin (${count} NOTIFYs)`);
    let gcMs = 0;
    let gcCount = 0;
    const gcs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        gcMs += e.duration;
        gcCount++;
      }
    });
    gcs.observe({ entryTypes: ['gc'] });
    const cpu0 = process.cpuUsage();
    const threads0 = threadTimes();
    for (let i = 0; i < count; i++) {
      one(nextNotify[(warmup + i) % dialogs]!());
      if (i % 32 === 31) await endOfTask();
    }
    const cpu = process.cpuUsage(cpu0);
    const threads = threadTimesBetween(threads0, threadTimes());
    await endOfTask();
    gcs.disconnect();
    console.log('steady: end');
    // CPU of the whole process, V8's helper threads included (as W2 counts the SUT); the NOTIFY
    // octets are made in the loop, so the harness's own share is in it (the same for UDP and TCP).
    console.log(
      `steady: ${((cpu.user + cpu.system) / count).toFixed(1)} µs CPU per NOTIFY over ${via.toUpperCase()}, ${rate}/s simulated over ${dialogs} dialogs ` +
        `(main thread ${threads === undefined ? '-' : ((threads.mainRunMs * 1000) / count).toFixed(1)} µs, other threads ${threads === undefined ? '-' : ((threads.otherRunMs * 1000) / count).toFixed(2)} µs); GC pauses ${((gcMs * 1000) / count).toFixed(1)} µs per NOTIFY (${gcCount} pauses)`,
    );
    await harness.close();
    return;
  }
  // The NOTIFY bytes of a round are made before its baseline GC (they are not what the path keeps).
  let prepared: Buffer[] = [];
  let cursor = 0;
  const rounds = await measureSurvivors(
    {
      prepare: (i: number) => prepared.push(nextNotify[i % dialogs]!()),
      notify: () => one(prepared[cursor++]!),
      discard: () => {
        prepared = [];
        cursor = 0;
      },
    },
    warmup,
    perRound,
    7,
    args.includes('--minor-baseline') ? 'minor' : 'full',
  );
  if (rounds.length === 0) {
    console.log('NOTIFY survivors: every round had a GC; run with --max-semi-space-size=256 --min-semi-space-size=256');
  } else {
    const median = (pick: (r: (typeof rounds)[number]) => number): string => {
      const sorted = rounds.map(pick).sort((a, b) => a - b);
      return `${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} (${sorted[0]!.toFixed(0)}–${sorted.at(-1)!.toFixed(0)})`;
    };
    console.log(
      `NOTIFY survivors over ${via.toUpperCase()}, ${rate}/s over ${dialogs} dialogs, ${rounds.length} rounds of ${perRound} after ${args.includes('--minor-baseline') ? 'minor' : 'full'} GCs: per NOTIFY, median (min–max), bytes\n` +
        `  alive at a scavenge (copied by it): ${median((r) => r.young)}\n` +
        `  old-generation growth meanwhile:    ${median((r) => r.old)}\n` +
        `  left alive (full GC):               ${median((r) => r.live)}\n` +
        `  ArrayBuffer bytes left alive:       ${median((r) => r.external)}`,
    );
  }
  if (args.includes('--by-kind')) {
    const first = warmup + perRound * 7;
    const batch: Buffer[] = [];
    for (let k = 0; k < perRound; k++) batch.push(nextNotify[(first + k) % dialogs]!());
    const groups = await survivorsByKind(async () => {
      for (let k = 0; k < perRound; k++) {
        one(batch[k]!);
        if (k % 32 === 31) await endOfTask();
      }
      batch.length = 0;
      await endOfTask();
    });
    const total = groups.reduce((sum, g) => sum + g.bytes, 0);
    console.log(`alive after ${perRound} NOTIFYs, by kind and owner: ${(total / perRound).toFixed(0)} B per NOTIFY`);
    for (const g of groups.slice(0, 40)) {
      console.log(`  ${(g.bytes / perRound).toFixed(1).padStart(8)} B  ${(g.count / perRound).toFixed(2).padStart(6)} ×  ${g.name}`);
    }
  }
  await harness.close();
}

await main();
