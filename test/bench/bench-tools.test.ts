/** The benchmark's own pieces: stamps, the simulator's SIP reader, stream framing, the histogram, the profile summary. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyHistogram } from '../../bench/harness/latency-histogram.js';
import { decodeStampId, pidfBody, userIndexOf } from '../../bench/load/pidf-body.js';
import { StreamFramer, buildResponse, headerParam, hostPortOf, parseLite, uriOf } from '../../bench/load/sip-lite.js';
import { summarize } from '../../bench/profile-summary.js';
import { survivorSites } from '../../bench/survivor-summary.js';
import { stallsOf } from '../../bench/fine-timeline-summary.js';
import { FINE_BUCKET_MS, FineTimeline } from '../../bench/sut/fine-timeline.js';
import { StageProbe, stampSeqOfBytes } from '../../bench/sut/stage-probe.js';
import { threadTimes, threadTimesBetween } from '../../bench/sut/thread-times.js';
import { udpDropsIn } from '../../bench/sut/udp-drops.js';
import { wakeupInterruptsIn } from '../../bench/sut/wakeup-interrupts.js';
import { describeGcPause } from '../../bench/workloads/w0-hold.js';
import { medianPair } from '../../bench/workloads/w2-ramp.js';
import { SseProbe } from '../../bench/harness/sse-probe.js';
import { createServer } from 'node:http';

test('a PIDF stamp round-trips through the tuple id', () => {
  const body = pidfBody('sip:user7@127.0.0.1:5090', 123456, 98765432101234n, true);
  const id = /<tuple id="([^"]+)"/.exec(body)?.[1] ?? '';
  assert.deepEqual(decodeStampId(id), { seq: 123456, sentNs: 98765432101234 });
  assert.equal(decodeStampId('t8a7f2c1'), undefined);
  assert.ok(body.includes('<basic>open</basic>'));
  assert.equal(userIndexOf('sip:user42@127.0.0.1:5090', 'sip:user'), 42);
  assert.equal(userIndexOf('sip:alice@x', 'sip:user'), -1);
});

test('--stages reads the sequence number of a NOTIFY from its bytes and keeps the first read', () => {
  const body = pidfBody('sip:user7@127.0.0.1:5090', 4321, 555n, false);
  const bytes = Buffer.from(`NOTIFY sip:b2b@127.0.0.1 SIP/2.0\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
  assert.equal(stampSeqOfBytes(bytes), 4321);
  assert.equal(stampSeqOfBytes(new Uint8Array(bytes)), 4321);
  assert.equal(stampSeqOfBytes(Buffer.from('SIP/2.0 200 OK\r\n\r\n')), -1);
  const probe = new StageProbe(16);
  const seen = { direction: 'received', transport: 'udp', sourceAddress: '127.0.0.1', sourcePort: 1, destinationAddress: '127.0.0.1', destinationPort: 2, bytes } as const;
  probe.observe({ ...seen, direction: 'sent' });
  assert.equal(probe.readTime(4321), 0);
  probe.observe(seen);
  const first = probe.readTime(4321);
  assert.ok(first > 0);
  probe.observe(seen);
  assert.equal(probe.readTime(4321), first);
});

test('thread times are differences of the cumulative counters, and absent without /proc', () => {
  assert.deepEqual(threadTimesBetween({ mainRunMs: 10, mainWaitMs: 2, otherRunMs: 5 }, { mainRunMs: 25.04, mainWaitMs: 2.5, otherRunMs: 4 }), {
    mainRunMs: 15,
    mainWaitMs: 0.5,
    otherRunMs: 0,
  });
  assert.equal(threadTimesBetween(undefined, { mainRunMs: 1, mainWaitMs: 1, otherRunMs: 1 }), undefined);
  const now = threadTimes();
  if (now !== undefined) assert.ok(now.mainRunMs > 0);
});

const SUBSCRIBE =
  'SUBSCRIBE sip:user1@127.0.0.1:5090 SIP/2.0\r\n' +
  'Via: SIP/2.0/UDP 127.0.0.1:5092;branch=z9hG4bKabc;rport\r\n' +
  'v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdef\r\n' +
  'f: "W" <sip:w1@b2b.bench>;tag=ft1\r\n' +
  't: <sip:user1@127.0.0.1:5090>\r\n' +
  'i: cid1@x\r\n' +
  'CSeq: 7 SUBSCRIBE\r\n' +
  'm: <sip:b2b@127.0.0.1:5092;transport=tcp>\r\n' +
  'o: presence\r\n' +
  'Expires: 600\r\n' +
  'l: 0\r\n\r\n';

test('UDP drops: the drops column of the sockets on one port, summed; other ports and the header left out', () => {
  const text = [
    '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ',
    '10570: 0100007F:18F8 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2613406 2 00000000b843e711 22787   ',
    '10571: 00000000:18F8 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2613407 2 00000000b843e712 13   ',
    '10572: 0100007F:18F9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2612099 2 00000000584016ce 500   ',
    '',
  ].join('\n');
  assert.equal(udpDropsIn(text, 6392), 22800);
  assert.equal(udpDropsIn(text, 6393), 500);
  assert.equal(udpDropsIn(text, 5090), 0);
});

test('the largest GC pause described: its kind, its flags, its burst and when in it', () => {
  assert.equal(describeGcPause({ ms: 162.8, kind: 4, flags: 0, atMs: 3250, step: 50_000 }), 'mark-compact, in the 50k step, 3.3 s into it');
  assert.equal(describeGcPause({ ms: 40, kind: 4, flags: 40, atMs: 900 }), 'mark-compact (external memory), outside the bursts');
  // 32 alone: the GC V8's memory reducer starts (docs/establishment.md §11).
  assert.equal(describeGcPause({ ms: 77.2, kind: 4, flags: 32, atMs: 122_822 }), 'mark-compact (memory reducer), outside the bursts');
  assert.equal(describeGcPause({ ms: 5, kind: 4, flags: 12, atMs: 0 }), 'mark-compact (synchronous phantom callbacks, forced), outside the bursts');
  assert.equal(describeGcPause({ ms: 30, kind: 1, flags: 0, atMs: 0, step: 100_000 }), 'scavenge, in the 100k step, 0.0 s into it');
  assert.equal(describeGcPause({ ms: 1, kind: 32, flags: 0, atMs: 0 }), 'kind 32, outside the bursts');
});

test('the simulator reads compact headers and answers with the request echoed', () => {
  const m = parseLite(SUBSCRIBE);
  assert.ok(m !== undefined);
  assert.equal(m.method, 'SUBSCRIBE');
  assert.equal(m.viaLines.length, 2);
  assert.equal(m.topBranch, 'z9hG4bKabc');
  assert.equal(headerParam(m.from, 'tag'), 'ft1');
  assert.equal(uriOf(m.from), 'sip:w1@b2b.bench');
  assert.equal(m.callId, 'cid1@x');
  assert.equal(m.cseq, 7);
  assert.equal(m.expires, 600);
  assert.equal(m.event, 'presence');
  assert.deepEqual(hostPortOf(uriOf(m.contact)), { host: '127.0.0.1', port: 5092, transport: 'tcp' });
  const r = buildResponse(m, 200, 'OK', 'ps1', 'Expires: 600\r\n');
  assert.ok(r.startsWith('SIP/2.0 200 OK\r\n'));
  assert.ok(r.includes('t: <sip:user1@127.0.0.1:5090>;tag=ps1\r\n'));
  const back = parseLite(r);
  assert.equal(back?.isRequest, false);
  assert.equal(back?.status, 200);
  assert.equal(back?.method, 'SUBSCRIBE');
  assert.equal(parseLite('garbage'), undefined);
});

test('a URI parameter named tag is not the header parameter', () => {
  assert.equal(headerParam('<sip:a@h;tag=uri>;x=1', 'tag'), '');
  assert.equal(headerParam('<sip:a@h;tag=uri>;tag=hdr', 'tag'), 'hdr');
});

test('the stream framer splits by Content-Length across chunks and skips keep-alives', () => {
  const body = 'hello';
  const msg = `NOTIFY sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: c\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const bytes = Buffer.from(`\r\n\r\n${msg}${msg}`, 'latin1');
  const out: string[] = [];
  const f = new StreamFramer();
  for (let i = 0; i < bytes.length; i += 7) f.push(bytes.subarray(i, i + 7), (t) => out.push(t));
  assert.deepEqual(out, [msg, msg]);
});

test('the latency histogram reports quantiles within its bucket width', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 1000; i++) h.recordUs(i * 10); // 10 µs … 10 ms
  const s = h.summary();
  assert.equal(s.count, 1000);
  assert.ok(Math.abs(s.p50Ms - 5) < 0.02, `p50 ${s.p50Ms}`);
  assert.ok(Math.abs(s.p99Ms - 9.9) < 0.11, `p99 ${s.p99Ms}`);
  assert.equal(s.maxMs, 10);
  h.recordUs(25_000_000);
  assert.equal(h.summary().maxMs, 25_000);
  h.reset();
  assert.equal(h.summary().count, 0);
});

test('the profile summary charges self and inclusive time, leaving idle out', () => {
  const frame = (functionName: string) => ({ functionName, url: 'file:///x/src/a.js', lineNumber: 0 });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 4] },
      { id: 2, callFrame: frame('outer'), children: [3] },
      { id: 3, callFrame: frame('inner') },
      { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
    ],
    samples: [3, 3, 2, 4, 4],
    timeDeltas: [1000, 1000, 1000, 5000, 5000],
  };
  const s = summarize(profile);
  assert.equal(s.totalMs, 3);
  const inner = s.byFunction.find((h) => h.name.startsWith('inner'));
  const outer = s.byFunction.find((h) => h.name.startsWith('outer'));
  assert.ok(inner !== undefined && outer !== undefined);
  assert.equal(inner.selfMs, 2);
  assert.equal(outer.selfMs, 1);
  assert.equal(outer.totalMs, 3);
});

test('the cluster bench SSE probe times stamped statuses, counts each sequence number and the first active per subscription', async () => {
  const sentNs = process.hrtime.bigint();
  const view = (id: string, state: string, seq: number) => JSON.stringify({ subscriptionId: id, state, body: pidfBody('sip:user1@127.0.0.1:5090', seq, sentNs, true) });
  // Split across writes, with a keep-alive comment and a gap event in between.
  const text =
    `id: 1\nevent: status\ndata: ${view('a', 'pending', 3)}\n\n: keep-alive\n\n` +
    `id: 2\nevent: status\ndata: ${view('a', 'active', 4)}\n\nevent: gap\ndata: {"lastEventId":0,"reason":"dropped"}\n\n` +
    `id: 3\nevent: status\ndata: ${view('b', 'active', 5)}\n\nid: 4\nevent: status\ndata: ${view('a', 'active', 5)}\n\nid: 5\nevent: status\ndata: not json\n\n`;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(text.slice(0, 100));
    setTimeout(() => res.end(text.slice(100)), 20);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const probe = new SseProbe(`http://127.0.0.1:${port}/v1/queues/q/events`);
  probe.beginWindow(4);
  try {
    for (let i = 0; i < 100 && probe.events < 4; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(probe.status, 200);
    assert.equal(probe.events, 4);
    assert.equal(probe.gaps, 1);
    assert.deepEqual([...probe.firstActive.keys()], ['a', 'b']);
    assert.deepEqual([...probe.seenRange(3, 7)], [1, 1, 2, 0]);
    // Sequence numbers 4 and 5 timed once each (the repeat of 5 is a duplicate, not a second sample).
    assert.equal(probe.latency.summary().count, 2);
  } finally {
    probe.close();
    server.close();
  }
});

test('the fine timeline buckets reads, messages, GC and timer wake-ups by 10 ms, and a gap lands in the bucket that ends it', () => {
  const fine = new FineTimeline();
  const startNs = 1_000_000_000;
  fine.begin(startNs, 1000);
  fine.read(1001);
  fine.read(1002);
  fine.message(startNs + 2_500_000, 800);
  fine.gc(1003, 12, 1, 0);
  fine.gc(999, 50, 4, 64); // before the window: left out
  fine.tick(1004, 0.4, 3);
  fine.read(1031); // 29 ms without a read
  fine.message(startNs + 31_000_000, 29_000);
  fine.wakeup(1031);
  fine.callback('fire', 0.2);
  fine.callback('fire', 0.5);
  const s = fine.summary();
  assert.equal(s.bucketMs, FINE_BUCKET_MS);
  assert.deepEqual(s.reads, [2, 0, 0, 1]);
  assert.deepEqual(s.messages, [1, 0, 0, 1]);
  assert.deepEqual(s.maxLatencyMs, [0.8, 0, 0, 29]);
  assert.deepEqual(s.readGapMaxMs, [1, 0, 0, 29]);
  assert.deepEqual(s.gcMs, [12, 0, 0, 0]);
  assert.deepEqual(s.gcKinds, [1, 0, 0, 0]);
  assert.deepEqual(s.gcFlags, [0, 0, 0, 0]);
  assert.deepEqual(s.timersFired, [3, 0, 0, 0]);
  assert.deepEqual(s.wakeups, [0, 0, 0, 1]);
  assert.deepEqual(s.timerCallbacks, { fire: { count: 2, totalMs: 0.7, maxMs: 0.5 } });
  // The buckets without a read share the mark of the next read: what ran in the gap is in the gap's first bucket.
  assert.equal(s.mainRunMs[1], 0);
  assert.equal(s.mainRunMs[2], 0);
  // The core probe runs at the first read of a bucket only; wake-up interrupts are counted between marks.
  const probe = s.coreProbeUs ?? [];
  assert.equal(probe.length, 4);
  assert.ok(probe[0]! > 0 && probe[3]! > 0, 'probed at the buckets with a read');
  assert.equal(probe[1], 0);
  assert.equal(probe[2], 0);
  assert.equal(s.wakeupInterrupts?.length, 4);
});

test('wake-up interrupts: RES and CAL summed over every CPU; other lines left out', () => {
  const text = [
    '           CPU0       CPU1       ',
    '  0:         32          0   IO-APIC   2-edge      timer',
    'LOC:    2331265    2393603   Local timer interrupts',
    'RES:    1100385     468610   Rescheduling interrupts',
    'CAL:    8188476    1985890   Function call interrupts',
    'TLB:     104116     103070   TLB shootdowns',
    '',
  ].join('\n');
  assert.equal(wakeupInterruptsIn(text), 1100385 + 468610 + 8188476 + 1985890);
  assert.equal(wakeupInterruptsIn('LOC: 1 2 Local timer interrupts\n'), 0);
});

test('a read gap is put down to what covers half of it: preemption, the SUT\'s own threads, GC, a timer wake-up, or the generator', () => {
  const n = 10;
  const zeros = (): number[] => Array<number>(n).fill(0);
  const fine = {
    bucketMs: 10,
    startNs: 0,
    reads: Array<number>(n).fill(5),
    readGapMaxMs: zeros(),
    messages: zeros(),
    maxLatencyMs: zeros(),
    wakeups: zeros(),
    gcMs: zeros(),
    gcKinds: zeros(),
    gcFlags: zeros(),
    tickMaxMs: zeros(),
    timersFired: zeros(),
    mainRunMs: zeros(),
    mainWaitMs: zeros(),
    otherRunMs: zeros(),
    involuntarySwitches: zeros(),
    timerCallbacks: {},
  };
  const generator = { bucketMs: 10, startNs: 0, sent: Array<number>(n).fill(100), retransmitted: zeros(), lateMaxMs: zeros() };
  fine.readGapMaxMs[2] = 15; // GC 12 ms in bucket 1
  fine.gcMs[1] = 12;
  fine.gcKinds[1] = 1;
  fine.readGapMaxMs[5] = 18; // the main thread waited 17 ms in bucket 4
  fine.mainWaitMs[4] = 17;
  fine.readGapMaxMs[8] = 25; // nothing sent in buckets 6-7
  generator.sent[6] = 0;
  generator.sent[7] = 0;
  fine.readGapMaxMs[9] = 6; // nothing explains it
  fine.readGapMaxMs[3] = 8; // the generator's next sends 6 ms late
  generator.lateMaxMs[3] = 6;
  fine.readGapMaxMs[7] = 12; // the main thread waited while its own helper threads ran
  fine.mainWaitMs[6] = 11;
  fine.otherRunMs[6] = 10;
  const stalls = stallsOf(fine, generator, 5);
  assert.deepEqual(
    stalls.map((s) => [s.endBucket, s.cause]),
    [
      [2, 'gc'],
      [3, 'generator late (then a burst)'],
      [5, 'preempted'],
      [7, 'own helper threads'],
      [8, 'generator (nothing sent)'],
      [9, '?'],
    ],
  );
});

test('the survivor summary adds sampled bytes per allocation site, innermost frames first, largest first', () => {
  const frame = (functionName: string, line: number) => ({ functionName, url: `file:///x/dist/src/${functionName}.js`, lineNumber: line - 1 });
  type SamplingNode = Parameters<typeof survivorSites>[0];
  const node = (functionName: string, line: number, selfSize: number, children: SamplingNode[] = []): SamplingNode => ({ callFrame: frame(functionName, line), selfSize, children });
  const head = node('(root)', 0, 0, [
    node('emit', 10, 0, [node('unkeep', 3, 4096, [node('copy', 7, 8192)]), node('keep', 5, 4096)]),
    node('fire', 20, 0, [node('keep', 5, 4096)]),
  ]);
  const { total, sites } = survivorSites(head, 2);
  assert.equal(total, 20480);
  assert.deepEqual(sites, [
    { stack: 'copy dist/src/copy.js:7 < unkeep dist/src/unkeep.js:3', bytes: 8192 },
    { stack: 'unkeep dist/src/unkeep.js:3 < emit dist/src/emit.js:10', bytes: 4096 },
    { stack: 'keep dist/src/keep.js:5 < emit dist/src/emit.js:10', bytes: 4096 },
    { stack: 'keep dist/src/keep.js:5 < fire dist/src/fire.js:20', bytes: 4096 },
  ]);
});

test('the ratio judged at the target step is a measured pair of median ratio, the lower middle one of an even count', () => {
  const pair = (sut: number, sink: number) => ({ sutCpuUsPerNotify: sut, sinkCpuUsPerNotify: sink, ratio: sut / sink, sutP99Ms: 1 });
  const slowSutMinute = pair(86, 34);
  const slowSinkMinute = pair(56, 52);
  const usual = pair(56, 32);
  assert.equal(medianPair([slowSutMinute, usual, slowSinkMinute]), usual);
  assert.equal(medianPair([usual]), usual);
  assert.equal(medianPair([slowSutMinute, slowSinkMinute]), slowSinkMinute);
  assert.equal(medianPair([]), undefined);
});
