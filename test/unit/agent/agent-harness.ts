/** Set-up for the local presence agent unit tests (not a test file itself). */
import { LocalPresenceAgent } from '../../../src/agent/local-presence-agent.js';
import type { LocalPresenceAgentOptions } from '../../../src/agent/agent-options.js';
import { QsaBroker } from '../../../src/qsa/index.js';
import { createResponse } from '../../../src/sip/codec/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/codec/message.js';
import { StaticDnsClient } from '../../../src/sip/resolver/dns-client.js';
import { Rfc3263Resolver } from '../../../src/sip/resolver/rfc3263-resolver.js';
import { SipUserAgentCore } from '../../../src/sip/ua/user-agent-core.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { FakeTransport, flushMicrotasks } from '../../support/fake-transport.js';

export const PIDF_OPEN = pidf('sip:alice@example.com', 't1', 'open', 'at my desk');
export const PIDF_CLOSED = pidf('sip:alice@example.com', 't1', 'closed');

export function pidf(entity: string, tupleId: string, basic: 'open' | 'closed', note?: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="${entity}">`,
    `<tuple id="${tupleId}"><status><basic>${basic}</basic></status>${note === undefined ? '' : `<note>${note}</note>`}</tuple>`,
    '</presence>',
    '',
  ].join('\r\n');
}

export interface RequestSpec {
  uri?: string;
  fromUri?: string;
  fromTag?: string;
  toUri?: string;
  toTag?: string;
  callId?: string;
  cseq?: number;
  headers?: Array<readonly [string, string]>;
  body?: string;
  contentType?: string | null;
}

let branchCounter = 0;

/** SIP text of a request as a peer at 192.0.2.10 would send it. */
export function requestText(method: string, spec: RequestSpec = {}): string {
  const uri = spec.uri ?? 'sip:alice@example.com';
  const lines = [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKagent${++branchCounter}`,
    'Max-Forwards: 70',
    `From: <${spec.fromUri ?? 'sip:watcher@example.org'}>;tag=${spec.fromTag ?? 'wtag1'}`,
    `To: <${spec.toUri ?? uri}>${spec.toTag === undefined ? '' : `;tag=${spec.toTag}`}`,
    `Call-ID: ${spec.callId ?? `call-${branchCounter}@192.0.2.10`}`,
    `CSeq: ${spec.cseq ?? 1} ${method}`,
  ];
  for (const [name, value] of spec.headers ?? []) lines.push(`${name}: ${value}`);
  const body = spec.body ?? '';
  if (body.length > 0 && spec.contentType !== null) lines.push(`Content-Type: ${spec.contentType ?? 'application/pidf+xml'}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, '', body);
  return lines.join('\r\n');
}

export function agentHarness(options: Partial<LocalPresenceAgentOptions> = {}) {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const random = new SeededRandom(11);
  const transport = new FakeTransport({ clock });
  const resolver = new Rfc3263Resolver({ dns: new StaticDnsClient({}), random, clock });
  const ua = new SipUserAgentCore({ transport, resolver, scheduler, random });
  const broker = new QsaBroker({ clock });
  // userAgents are subscribed to through the same broker unless the test says otherwise.
  const upstream = options.userAgents !== undefined ? { upstream: broker } : {};
  const agent = new LocalPresenceAgent({ ua, broker, scheduler, random, domains: ['example.com', 'Example.NET'], ...upstream, ...options });
  agent.start();

  /** Delivers a request and returns the final response the agent sent for it. */
  function send(method: string, spec: RequestSpec = {}): SipResponse {
    const before = transport.sent.length;
    transport.receive(requestText(method, spec));
    const answers = transport.sent
      .slice(before)
      .map((s) => s.message)
      .filter((m): m is SipResponse => m.kind === 'response' && m.status >= 200);
    if (answers.length !== 1) throw new Error(`expected one final response, got ${answers.length}`);
    return answers[0]!;
  }

  /** Lets the resolver promises run, then returns the NOTIFYs sent since `from` (an index into transport.sent). */
  async function notifiesSince(from: number): Promise<SipRequest[]> {
    await flushMicrotasks(10);
    return transport.sent
      .slice(from)
      .map((s) => s.message)
      .filter((m): m is SipRequest => m.kind === 'request' && m.method === 'NOTIFY');
  }

  /** Answers a NOTIFY we sent (status 200 by default). */
  async function answer(notify: SipRequest, status = 200): Promise<void> {
    transport.receive(createResponse(notify, status));
    await flushMicrotasks(10);
  }

  /** SUBSCRIBE from a watcher; returns the 200 and the first NOTIFY. */
  async function subscribe(spec: RequestSpec = {}): Promise<{ response: SipResponse; notify: SipRequest }> {
    const mark = transport.sent.length;
    const extra = spec.headers ?? [];
    const has = (name: string) => extra.some(([n]) => n.toLowerCase() === name);
    const headers: Array<readonly [string, string]> = [];
    if (!has('event')) headers.push(['Event', 'presence']);
    if (!has('contact')) headers.push(['Contact', '<sip:watcher@192.0.2.10:5060>']);
    if (!has('expires')) headers.push(['Expires', '600']);
    const response = send('SUBSCRIBE', { ...spec, headers: [...headers, ...extra] });
    if (response.status !== 200) throw new Error(`SUBSCRIBE answered ${response.status}`);
    const notifies = await notifiesSince(mark);
    if (notifies.length !== 1) throw new Error(`expected one NOTIFY, got ${notifies.length}`);
    return { response, notify: notifies[0]! };
  }

  return { clock, scheduler, random, transport, ua, broker, agent, send, notifiesSince, answer, subscribe };
}

export function bodyText(message: { body: Uint8Array }): string {
  return Buffer.from(message.body).toString('utf8');
}

/** The tag parameter of a From/To value. */
export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /;\s*tag=([^;\s]+)/i.exec(value);
  return match?.[1];
}
