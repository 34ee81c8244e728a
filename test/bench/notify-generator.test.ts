/** The simulator's NOTIFY send path: a template patched in place is the NOTIFY built as text, and its client transactions keep RFC 3261's timers. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tailByGenerator } from '../../bench/fine-timeline-summary.js';
import { type NotifyFields, NotifyTemplate, notifyText } from '../../bench/load/notify-template.js';
import { NotifyTransactions, T1, T2, TIMER_F } from '../../bench/load/notify-transactions.js';
import { decodeStampId } from '../../bench/load/pidf-body.js';
import { parseLite } from '../../bench/load/sip-lite.js';
import { FineTimeline } from '../../bench/sut/fine-timeline.js';

function fields(over: Partial<NotifyFields> = {}): NotifyFields {
  return {
    target: 'sip:w7@127.0.0.1:5092;transport=udp',
    transport: 'udp',
    host: '127.0.0.1',
    port: 5090,
    branchPrefix: 'z9hG4bKsimabc123',
    txId: 42,
    localUri: 'sip:user7@127.0.0.1:5090',
    localTag: 'ps1a',
    remoteUri: 'sip:w7@b2b.bench',
    remoteTag: 'ft7',
    callId: 'cid7@bench',
    cseq: 10,
    stateText: 'active;expires=',
    expires: 3599,
    seq: 100_000,
    sentNs: 1_234_567_890_123,
    open: true,
    ...over,
  };
}

test('a NOTIFY template patched in place gives the bytes of the NOTIFY built as text, across every number that changes', () => {
  const t = new NotifyTemplate(fields());
  const steps: Array<Partial<NotifyFields>> = [
    { txId: 43, cseq: 11, seq: 100_001, sentNs: 1_234_567_899_999, expires: 3598 },
    { txId: 9_999_999_999, cseq: 12, seq: 100_002, sentNs: 9_999_999_999_999, expires: 1000 },
    { txId: 0, cseq: 99, seq: 999_999, sentNs: 1_000_000_000_000, expires: 9999 },
  ];
  for (const step of steps) {
    const f = fields(step);
    assert.ok(t.fits(f), JSON.stringify(step));
    assert.equal(t.patch(f).toString('latin1'), notifyText(f));
  }
  // A number one digit longer or shorter moves what follows it within the same template: the CSeq,
  // the expires, the stamp's sequence number (twice, and so the Content-Length) and its time.
  const widths: Array<Partial<NotifyFields>> = [
    { cseq: 100, seq: 999_999 },
    { cseq: 100, seq: 1_000_000, expires: 999 },
    { cseq: 1_000, seq: 1_000_001, expires: 99, sentNs: 12_345_678_901_234 },
    { cseq: 9, seq: 7, expires: 0, sentNs: 5 },
    { cseq: 123_456, seq: 10_000_000_000, expires: 3600, sentNs: 1_234_567_890_123 },
  ];
  for (const step of widths) {
    const f = fields(step);
    assert.ok(t.fits(f), JSON.stringify(step));
    assert.equal(t.patch(f).toString('latin1'), notifyText(f), JSON.stringify(step));
  }
  // Anything else that changes, or more digits than its room, needs a new template.
  assert.equal(t.fits(fields({ cseq: 1e15, seq: 1e15 })), false);
  assert.equal(t.fits(fields({ expires: -1, stateText: 'terminated;reason=timeout' })), false);
  assert.equal(t.fits(fields({ open: false })), false);
  assert.equal(t.fits(fields({ target: 'sip:w7@127.0.0.1:6000' })), false);
  // A constant state is carried as it is.
  const terminated = fields({ stateText: 'terminated;reason=deactivated', expires: -1, open: false });
  const t2 = new NotifyTemplate(terminated);
  assert.equal(t2.patch({ ...terminated, seq: 123_456 }).toString('latin1'), notifyText({ ...terminated, seq: 123_456 }));
});

test('the NOTIFY as text: a request the simulator\'s reader parses, the branch carrying the transaction number, the stamp in the body', () => {
  const text = notifyText(fields({ txId: 7 }));
  const msg = parseLite(text);
  assert.ok(msg !== undefined);
  assert.equal(msg.isRequest, true);
  assert.equal(msg.method, 'NOTIFY');
  assert.equal(msg.topBranch, 'z9hG4bKsimabc1230000000007');
  assert.ok(text.includes('\r\nCSeq: 10 NOTIFY\r\n'));
  assert.ok(text.includes('\r\nSubscription-State: active;expires=3599\r\n'));
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  assert.ok(text.includes(`\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`));
  const id = /<tuple id="([^"]+)"/.exec(body)?.[1] ?? '';
  assert.deepEqual(decodeStampId(id), { seq: 100_000, sentNs: 1_234_567_890_123 });
});

function record(seq: number): { owner: string; dest: string; target: string; stateText: string; expires: number; cseq: number; seq: number; sentNs: number; open: boolean } {
  return { owner: `d${seq}`, dest: 'udp', target: 't', stateText: 'active;expires=', expires: 60, cseq: seq + 1, seq, sentNs: 1000 + seq, open: seq % 2 === 0 };
}

test('NOTIFY client transactions: Timer E from T1 doubling to T2 over UDP, none over TCP, Timer F at 64·T1, an answer ends them', () => {
  const txs = new NotifyTransactions<string, string>(4);
  const retransmitted: Array<[number, number]> = [];
  const timedOut: Array<[number, number]> = [];
  let now = 0;
  const on = { retransmit: (id: number) => retransmitted.push([id, now]), timeout: (id: number) => timedOut.push([id, now]) };
  const a = txs.begin(0, true, record(0)); // never answered
  const b = txs.begin(0, true, record(1)); // answered at 700 ms
  const c = txs.begin(0, false, record(2)); // TCP: no retransmission
  assert.deepEqual([a, b, c], [0, 1, 2]);
  for (now = 0; now <= TIMER_F + 100; now += 10) {
    if (now === 700) assert.equal(txs.answer(b), true);
    txs.tick(now, on);
  }
  const times = retransmitted.filter(([id]) => id === a).map(([, t]) => t);
  // 500, 1500, 3500, 7500, then every 4 s (T2) until Timer F at 32 s.
  assert.deepEqual(times.slice(0, 5), [T1, 3 * T1, 7 * T1, 7 * T1 + T2, 7 * T1 + 2 * T2]);
  assert.ok(times.every((t) => t < TIMER_F));
  assert.deepEqual(retransmitted.filter(([id]) => id === b).map(([, t]) => t), [T1]);
  assert.equal(retransmitted.some(([id]) => id === c), false);
  assert.deepEqual(timedOut, [
    [a, TIMER_F],
    [c, TIMER_F],
  ]);
  assert.equal(txs.pending, 0);
  assert.equal(txs.answer(b), false); // answered twice: stray
  assert.equal(txs.answer(12345), false);
});

test('NOTIFY client transactions: the ring grows past its capacity without losing a pending one, and keeps each record\'s fields', () => {
  const txs = new NotifyTransactions<string, string>(4);
  for (let i = 0; i < 10; i++) txs.begin(i, true, record(i));
  assert.equal(txs.capacity, 16);
  assert.equal(txs.pending, 10);
  const f = fields();
  for (let i = 0; i < 10; i++) {
    assert.equal(txs.ownerOf(i), `d${i}`);
    assert.ok(txs.fieldsOf(i, f));
    assert.deepEqual([f.txId, f.seq, f.cseq, f.sentNs, f.open], [i, i, i + 1, 1000 + i, i % 2 === 0]);
  }
  for (let i = 0; i < 10; i++) assert.equal(txs.answer(i), true);
  // Answered slots are reused without growing.
  for (let i = 10; i < 26; i++) txs.begin(100, true, record(i));
  assert.equal(txs.capacity, 16);
});

test('the tail by the generator: NOTIFYs sent in or just after a late burst are told apart from those sent on time', () => {
  const fine = new FineTimeline();
  const startNs = 5_000_000_000;
  fine.begin(startNs, 1000);
  // Sent in bucket 0 (on time, 1 ms), bucket 3 (after a late burst: 12 ms and 30 ms).
  fine.message(startNs + 3_000_000, 1000, startNs + 2_000_000);
  fine.message(startNs + 45_000_000, 12_000, startNs + 33_000_000);
  fine.message(startNs + 65_000_000, 30_000, startNs + 35_000_000);
  fine.message(startNs + 66_000_000, 9_000, startNs - 1); // sent before the window: not by send time
  const s = fine.summary();
  assert.deepEqual(s.bySend, { messages: [1, 0, 0, 2], slow: [0, 0, 0, 2], maxLatencyMs: [1, 0, 0, 30] });
  const generator = { bucketMs: 10, startNs, sent: [10, 0, 0, 30, 10], retransmitted: [0, 0, 0, 0, 0], lateMaxMs: [1.2, 0, 0, 21, 0.5], burstMax: [10, 0, 0, 30, 10], gcMs: [0, 0, 15, 0, 0] };
  const tail = tailByGenerator(s, generator);
  assert.ok(tail !== undefined);
  assert.deepEqual(
    tail.rows.map((r) => [r.lateness, r.buckets, r.notifies, r.slow]),
    [
      ['< 2 ms', 3, 1, 0],
      ['2-5 ms', 0, 0, 0],
      ['≥ 5 ms', 1, 2, 2],
    ],
  );
  assert.deepEqual([tail.lateOver1ms, tail.lateOver2ms, tail.lateOver5ms, tail.burstMax, tail.gcMs, tail.gcBuckets], [2, 1, 1, 30, 15, 1]);
});

test('the simulator sends each NOTIFY of a rate run once, reads the answers from their bytes, and leaves an unreadable answer unanswered', async () => {
  const { PresenceServerSim } = await import('../../bench/load/presence-server-sim.js');
  const dgram = await import('node:dgram');
  const peer = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', () => resolve()));
  const received: string[] = [];
  peer.on('message', (buf, rinfo) => {
    const text = buf.toString('latin1');
    received.push(text);
    const header = (name: string): string => new RegExp(`\\r\\n${name}: ([^\\r]*)`).exec(text)?.[1] ?? '';
    // The first NOTIFY gets an answer without a Call-ID (unreadable: dropped, then retransmitted); the others a 200.
    const callId = received.length === 1 ? '' : `Call-ID: ${header('Call-ID')}\r\n`;
    const answer = `SIP/2.0 200 OK\r\nVia: ${header('Via')}\r\nFrom: ${header('From')}\r\nTo: ${header('To')};tag=x\r\n${callId}CSeq: ${header('CSeq')}\r\nContent-Length: 0\r\n\r\n`;
    peer.send(answer, rinfo.port, rinfo.address);
  });
  const sim = new PresenceServerSim({ host: '127.0.0.1', port: 0, transports: ['udp'], maxExpires: 3600 });
  try {
    await sim.start();
    sim.addFakeDialogs({ count: 2, host: '127.0.0.1', port: peer.address().port, transport: 'udp' });
    const r = await sim.runRate({ rate: 1000, durationMs: 4, set: 'fake', state: 'active;expires=3600' });
    assert.equal(r.sent, 4);
    const left = await sim.drain(3000);
    assert.equal(left, 0);
    const s = sim.snapshot();
    assert.equal(s.notifiesSent, 4);
    assert.deepEqual(s.notifyResponses, { '200': 4 });
    // The unreadable answer left its NOTIFY pending: Timer E sent it again, byte for byte.
    assert.equal(s.notifyRetransmissions, 1);
    assert.equal(received.length, 5);
    assert.equal(received[4], received[0]);
    const branches = new Set(received.slice(0, 4).map((t) => /branch=([^;\r]+)/.exec(t)?.[1]));
    assert.equal(branches.size, 4);
    // Each dialog's CSeq rises by one per NOTIFY.
    assert.deepEqual(
      received.slice(0, 4).map((t) => /\r\nCSeq: (\d+) NOTIFY/.exec(t)?.[1]),
      ['101', '101', '102', '102'],
    );
  } finally {
    await sim.close();
    peer.close();
  }
});
