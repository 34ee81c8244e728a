/**
 * `npm run bench:parse`: messages per second through parseSipMessage plus the
 * accessors a NOTIFY (or a 200 to SUBSCRIBE) handler calls. For scale, the
 * same run measures a minimal split-based header splitter (what
 * performance.md §0 calls the floor, 394k/s on a quiet machine), so the
 * ratio holds even when the machine is busy.
 */
import type { Buffer } from 'node:buffer';
import {
  callIdOf,
  contactsOf,
  contentTypeOf,
  cseqOf,
  eventOf,
  expiresOf,
  fromHeader,
  parseSipMessage,
  routeSetOf,
  subscriptionStateOf,
  toHeader,
  topVia,
} from '../src/sip/codec/index.js';
import { NOTIFY_1288 } from './fixtures/notify-1288.js';
import { OK_SUBSCRIBE } from './fixtures/ok-subscribe.js';

let sink = 0;

function parseNotifyFully(bytes: Buffer): void {
  const m = parseSipMessage(bytes);
  const via = topVia(m);
  const from = fromHeader(m);
  const to = toHeader(m);
  const cseq = cseqOf(m);
  const callId = callIdOf(m);
  const event = eventOf(m);
  const state = subscriptionStateOf(m);
  const type = contentTypeOf(m);
  sink +=
    (via.branch?.length ?? 0) +
    (from.tag?.length ?? 0) +
    (to.tag?.length ?? 0) +
    cseq.seq +
    callId.length +
    (event?.package.length ?? 0) +
    (state?.expires ?? 0) +
    (type?.mediaType.length ?? 0) +
    m.body.length;
}

function parseOkFully(bytes: Buffer): void {
  const m = parseSipMessage(bytes);
  const via = topVia(m);
  const from = fromHeader(m);
  const to = toHeader(m);
  const cseq = cseqOf(m);
  const callId = callIdOf(m);
  const expires = expiresOf(m) ?? 0;
  const contacts = contactsOf(m);
  const routes = routeSetOf(m, 'record-route');
  sink +=
    (via.branch?.length ?? 0) +
    (from.tag?.length ?? 0) +
    (to.tag?.length ?? 0) +
    cseq.seq +
    callId.length +
    expires +
    (contacts === '*' ? 1 : contacts.length) +
    routes.length;
}

/** A deliberately minimal splitter: decode, split lines, map names, pull tags/branch. The floor, not a parser. */
function minimalSplitter(bytes: Buffer): void {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, end).split('\r\n');
  const map = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    map.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const pick = (value: string | undefined, name: string): number => {
    if (value === undefined) return 0;
    const at = value.indexOf(name);
    if (at < 0) return 0;
    const semi = value.indexOf(';', at);
    return (semi < 0 ? value.length : semi) - at;
  };
  sink +=
    pick(map.get('from'), 'tag=') +
    pick(map.get('to'), 'tag=') +
    pick(map.get('via'), 'branch=') +
    Number.parseInt(map.get('cseq') ?? '0', 10) +
    bytes.subarray(end + 4).length;
}

interface Result {
  name: string;
  bytes: number;
  perSecond: number;
  microseconds: number;
}

/**
 * Rate on one core: iterations divided by the CPU time this process used
 * (process.cpuUsage), so that other processes on a shared machine inflate it
 * less than wall-clock time would. Bounded by a wall-clock budget and an
 * iteration cap.
 */
function run(name: string, bytes: Buffer, fn: (b: Buffer) => void, budgetMs: number): Result {
  for (let i = 0; i < 30_000; i++) fn(bytes); // warm-up: let the JIT settle
  let count = 0;
  const wallStart = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  while (Number(process.hrtime.bigint() - wallStart) < budgetMs * 1e6 && count < 20_000_000) {
    for (let i = 0; i < 2000; i++) fn(bytes);
    count += 2000;
  }
  const cpu = process.cpuUsage(cpuStart);
  const seconds = (cpu.user + cpu.system) / 1e6;
  return { name, bytes: bytes.length, perSecond: count / seconds, microseconds: (seconds * 1e6) / count };
}

const budgetMs = Number(process.env.BENCH_MS ?? 2500);
const results = [
  run('NOTIFY, full (parse + 8 accessors + body)', NOTIFY_1288, parseNotifyFully, budgetMs),
  run('200 OK to SUBSCRIBE, full (parse + 8 accessors)', OK_SUBSCRIBE, parseOkFully, budgetMs),
  run('floor: minimal splitter on the NOTIFY', NOTIFY_1288, minimalSplitter, budgetMs),
];

console.log(`${'case'.padEnd(50)} ${'octets'.padStart(6)} ${'msgs/s'.padStart(10)} ${'µs/msg'.padStart(7)}  (per core, CPU time)`);
for (const r of results) {
  console.log(
    `${r.name.padEnd(50)} ${String(r.bytes).padStart(6)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(10)} ${r.microseconds.toFixed(2).padStart(7)}`,
  );
}
const ratio = results[0]!.perSecond / results[2]!.perSecond;
console.log(`NOTIFY full parse at ${(ratio * 100).toFixed(0)} % of the minimal splitter's rate (goal: ≥ 200,000/s)`);
if (sink === -1) console.log('unreachable');
