/** Shared set-up for the transaction and UA-core tests (not a test file itself). */
import { createRequest, createResponse } from '../../../src/sip/codec/index.js';
import type { SipRequest, SipResponse } from '../../../src/sip/codec/message.js';
import type { ResolvedTarget, TargetResolver } from '../../../src/sip/resolver/types.js';
import { PresenceB2BError } from '../../../src/util/errors.js';
import { TransactionLayer } from '../../../src/sip/transaction/transaction-layer.js';
import type { ClientTransactionUser } from '../../../src/sip/transaction/types.js';
import type { SipEndpoint } from '../../../src/sip/transport/types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { SeededRandom } from '../../../src/util/random.js';
import { TimerScheduler } from '../../../src/util/timer-scheduler.js';
import { FakeTransport, type FakeTransportOptions } from '../../support/fake-transport.js';

export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;

export function harness(transportOptions: FakeTransportOptions = {}) {
  const clock = new ManualClock();
  const scheduler = new TimerScheduler(clock);
  const random = new SeededRandom(7);
  const transport = new FakeTransport({ clock, ...transportOptions });
  return { clock, scheduler, random, transport };
}

export function layerHarness(transportOptions: FakeTransportOptions = {}) {
  const h = harness(transportOptions);
  const layer = new TransactionLayer({ transport: h.transport, scheduler: h.scheduler, random: h.random });
  return { ...h, layer };
}

/** A request as the UA core would send it: our Via on top. */
export function outgoingRequest(method: string, branch: string, viaTransport = 'UDP'): SipRequest {
  return createRequest({
    method,
    uri: 'sip:bob@example.com',
    headers: [
      ['Via', `SIP/2.0/${viaTransport} 127.0.0.1:5060;branch=${branch};rport`],
      ['Max-Forwards', '70'],
      ['From', '<sip:alice@example.org>;tag=a1'],
      ['To', '<sip:bob@example.com>'],
      ['Call-ID', 'call-1@example.org'],
      ['CSeq', `1 ${method}`],
    ],
  });
}

/** A request as a peer would send it to us. */
export function incomingRequest(
  method: string,
  options: { branch?: string | null; sentBy?: string; cseq?: number; toTag?: string; maxForwards?: string; extra?: Array<[string, string]> } = {},
): SipRequest {
  const branch = options.branch === undefined ? 'z9hG4bKpeer1' : options.branch;
  const via = `SIP/2.0/UDP ${options.sentBy ?? '192.0.2.10:5060'}${branch === null ? '' : `;branch=${branch}`}`;
  return createRequest({
    method,
    uri: 'sip:b2b@127.0.0.1',
    headers: [
      ['Via', via],
      ['Max-Forwards', options.maxForwards ?? '70'],
      ['From', '<sip:server@example.com>;tag=s1'],
      ['To', `<sip:b2b@example.org>${options.toTag ? `;tag=${options.toTag}` : ''}`],
      ['Call-ID', 'peer-call@example.com'],
      ['CSeq', `${options.cseq ?? 10} ${method}`],
      ...(options.extra ?? []),
    ],
  });
}

/** A response from the peer to a request we sent (copies our Via, as a real peer does). */
export function responseTo(request: SipRequest, status: number, reason?: string): SipResponse {
  return createResponse(request, status, reason, status > 100 ? { toTag: 'peer-tag' } : undefined);
}

export interface RecordedFinal {
  status: number;
  reason: string;
  local: boolean;
  at: number;
}

/** A ClientTransactionUser that records what it is told. */
export function recordingUser(clock: ManualClock) {
  const finals: RecordedFinal[] = [];
  const provisionals: number[] = [];
  const user: ClientTransactionUser = {
    onProvisional: (response) => provisionals.push(response.status),
    onFinal: (response, local) => finals.push({ status: response.status, reason: response.reason, local, at: clock.now() }),
  };
  return { user, finals, provisionals };
}

/** A resolver that answers from a table and records markFailed calls. */
export class FakeResolver implements TargetResolver {
  readonly resolved: string[] = [];
  readonly failed: SipEndpoint[] = [];
  constructor(private readonly table: Record<string, ResolvedTarget[]>) {}

  async resolve(uri: string): Promise<ResolvedTarget[]> {
    this.resolved.push(uri);
    const targets = this.table[uri];
    if (targets === undefined) throw new PresenceB2BError('SIP_ERR_DNS', `no DNS records for ${uri}`);
    return targets.map((t) => ({ ...t }));
  }

  markFailed(target: SipEndpoint): void {
    this.failed.push({ transport: target.transport, host: target.host, port: target.port });
  }
}

export function udpTarget(host: string, port = 5060): ResolvedTarget {
  return { transport: 'udp', host, port, transportExplicit: false };
}

/** The branch of the top Via of a sent request. */
export function branchOf(request: SipRequest): string {
  const via = request.headers.get('via') ?? '';
  const match = /;branch=([^;,\s]+)/.exec(via);
  return match?.[1] ?? '';
}
