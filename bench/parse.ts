/**
 * `npm run bench:parse`: messages per second through parseSipMessage plus the
 * accessors a NOTIFY (or a 200 to SUBSCRIBE) handler calls. For scale, the
 * same run measures a minimal split-based header splitter (what
 * docs/benchmark-method.md §6.2 calls the floor, 394k/s on a quiet machine), so the
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
  /** Messages per CPU-second in the fastest round (what the code does on an undisturbed core). */
  best: number;
  /** Median over the rounds (what it did on this machine, other load included). */
  median: number;
}

/**
 * Rates on one core: each round runs a fixed number of iterations and is
 * timed by the CPU time this process used (process.cpuUsage), so other
 * processes on a shared machine distort it less than wall-clock time.
 * Bounded: rounds stop after the wall-clock budget or 400 rounds.
 */
function run(name: string, bytes: Buffer, fn: (b: Buffer) => void, budgetMs: number): Result {
  for (let i = 0; i < 30_000; i++) fn(bytes); // warm-up: let the JIT settle
  const perRound = 20_000;
  const rates: number[] = [];
  const wallStart = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - wallStart) < budgetMs * 1e6 && rates.length < 400) {
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < perRound; i++) fn(bytes);
    const cpu = process.cpuUsage(cpuStart);
    const micros = cpu.user + cpu.system;
    if (micros > 0) rates.push((perRound * 1e6) / micros);
  }
  rates.sort((a, b) => a - b);
  return { name, bytes: bytes.length, best: rates[rates.length - 1] ?? 0, median: rates[rates.length >> 1] ?? 0 };
}

const budgetMs = Number(process.env.BENCH_MS ?? 2500);
const results = [
  run('NOTIFY, full (parse + 8 accessors + body)', NOTIFY_1288, parseNotifyFully, budgetMs),
  run('200 OK to SUBSCRIBE, full (parse + 8 accessors)', OK_SUBSCRIBE, parseOkFully, budgetMs),
  run('floor: minimal splitter on the NOTIFY', NOTIFY_1288, minimalSplitter, budgetMs),
];

const format = (rate: number) => Math.round(rate).toLocaleString('en-US').padStart(10);
console.log(`${'case'.padEnd(50)} ${'octets'.padStart(6)} ${'best/s'.padStart(10)} ${'median/s'.padStart(10)} ${'µs (best)'.padStart(9)}`);
for (const r of results) {
  console.log(`${r.name.padEnd(50)} ${String(r.bytes).padStart(6)} ${format(r.best)} ${format(r.median)} ${(1e6 / r.best).toFixed(2).padStart(9)}`);
}
console.log('rates are messages per CPU-second of one core (process.cpuUsage), in rounds of 20,000 messages');
const notify = results[0]!;
const floor = results[2]!;
console.log(
  `NOTIFY full parse: ${Math.round(notify.best).toLocaleString('en-US')}/s best, ${Math.round((notify.best / floor.best) * 100)} % of the minimal splitter (goal: ≥ 200,000/s)`,
);
if (sink === -1) console.log('unreachable');
