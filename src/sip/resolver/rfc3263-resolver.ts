import { isIP } from 'node:net';
import type { Clock } from '../../util/clock.js';
import type { Random } from '../../util/random.js';
import { parseSipUri } from '../codec/index.js';
import type { SipTransportName } from '../codec/message.js';
import { defaultPort } from '../transport/default-port.js';
import type { SipEndpoint } from '../transport/types.js';
import type { DnsClient, SrvRecord } from './dns-client.js';
import { SipDnsError } from './errors.js';
import { orderSrvRecords } from './srv-order.js';
import type { ResolvedTarget, TargetResolver } from './types.js';

export interface Rfc3263ResolverOptions {
  dns: DnsClient;
  random: Random;
  clock: Clock;
  /** How long a failed target stays at the end of the list (RFC 3263 §4.3), default 32000 ms (64·T1). */
  blacklistMs?: number;
  /**
   * Static host table, checked before DNS like /etc/hosts: name → addresses.
   * A name found here is used as is: no NAPTR or SRV lookup is made for it.
   */
  hosts?: Record<string, string[]>;
  /** Address record types to look up for a name, in this order (default A then AAAA). */
  addressFamilies?: ReadonlyArray<4 | 6>;
}

/** RFC 3263 §4.1: NAPTR services we understand and the transport each one means. */
const NAPTR_SERVICES: Readonly<Record<string, SipTransportName>> = {
  'sip+d2u': 'udp',
  'sip+d2t': 'tcp',
  'sips+d2t': 'tls',
};

/** Our preference among transports when the server does not state one (no NAPTR). */
const PREFERENCE: ReadonlyArray<SipTransportName> = ['udp', 'tcp', 'tls'];

const BLACKLIST_PRUNE_SIZE = 1024;

interface UriTarget {
  secure: boolean;
  host: string;
  port: number | undefined;
  transport: SipTransportName | undefined;
}

/**
 * RFC 3263 server location: NAPTR → SRV → A/AAAA, with RFC 2782 ordering and a
 * blacklist of targets that failed recently (moved to the end, not removed, so
 * that a request still has somewhere to go when every target failed).
 */
export class Rfc3263Resolver implements TargetResolver {
  private readonly dns: DnsClient;
  private readonly random: Random;
  private readonly clock: Clock;
  private readonly blacklistMs: number;
  private readonly hosts: Map<string, string[]>;
  private readonly families: ReadonlyArray<4 | 6>;
  /** `transport:host:port` → clock time the entry expires. */
  private readonly blacklist = new Map<string, number>();

  constructor(options: Rfc3263ResolverOptions) {
    this.dns = options.dns;
    this.random = options.random;
    this.clock = options.clock;
    this.blacklistMs = options.blacklistMs ?? 32_000;
    this.families = options.addressFamilies ?? [4, 6];
    this.hosts = new Map();
    for (const [name, addresses] of Object.entries(options.hosts ?? {})) this.hosts.set(normalizeName(name), addresses.slice());
  }

  resolve(uri: string, supportedTransports: ReadonlyArray<SipTransportName>): Promise<ResolvedTarget[]> {
    let target: UriTarget;
    let literal: ResolvedTarget[] | undefined;
    try {
      // `sip:user@192.0.2.1:5060`, the form of nearly every presence server's Contact and of a
      // dialog's remote target at every refresh, is read without the URI parser (issue 11).
      literal = plainLiteralTarget(uri, supportedTransports);
      if (literal !== undefined) return Promise.resolve(this.applyBlacklist(literal));
      target = readUri(uri, supportedTransports);
      literal = literalTarget(target, supportedTransports);
    } catch (error) {
      return Promise.reject(error);
    }
    // An IP literal needs no lookup (§4.1, §4.2): one target, settled at once, without the
    // promise hops of the lookups below (every SUBSCRIBE to a presence server named by address).
    if (literal !== undefined) return Promise.resolve(this.applyBlacklist(literal));
    return this.resolveName(uri, target, supportedTransports);
  }

  private async resolveName(uri: string, target: UriTarget, supportedTransports: ReadonlyArray<SipTransportName>): Promise<ResolvedTarget[]> {
    const errors: unknown[] = [];
    const targets = await this.locate(target, supportedTransports, errors);
    if (targets.length === 0) {
      const last = errors[errors.length - 1];
      const detail = last instanceof Error ? `: ${last.message}` : '';
      throw new SipDnsError(`No SIP target found for ${uri}${detail}`, { cause: last });
    }
    return this.applyBlacklist(dedupe(targets));
  }

  markFailed(target: SipEndpoint): void {
    const now = this.clock.now();
    if (this.blacklist.size >= BLACKLIST_PRUNE_SIZE) {
      for (const [key, until] of this.blacklist) if (until <= now) this.blacklist.delete(key);
    }
    const key = endpointKey(target);
    // Re-inserting moves the entry to the end of the Map's order.
    this.blacklist.delete(key);
    this.blacklist.set(key, now + this.blacklistMs);
  }

  /** True while `target` is blacklisted. */
  isBlacklisted(target: SipEndpoint): boolean {
    const until = this.blacklist.get(endpointKey(target));
    return until !== undefined && until > this.clock.now();
  }

  private async locate(uri: UriTarget, supported: ReadonlyArray<SipTransportName>, errors: unknown[]): Promise<ResolvedTarget[]> {
    const staticAddresses = isIP(uri.host) !== 0 ? [uri.host] : this.hosts.get(normalizeName(uri.host));

    // RFC 3263 §4.1: a numeric host (or one we know statically) or an explicit port
    // fixes the transport to the URI's or the default; no NAPTR.
    if (staticAddresses !== undefined || uri.transport !== undefined || uri.port !== undefined) {
      const transport = uri.transport ?? defaultTransport(uri.secure, supported);
      const explicit = uri.transport !== undefined;
      if (staticAddresses !== undefined) return targetsFor(staticAddresses, transport, uri.port ?? defaultPort(transport), explicit);
      // §4.2: a name with a port → A/AAAA; without one → SRV for the transport, then A/AAAA.
      if (uri.port === undefined) {
        const viaSrv = await this.viaSrv(srvName(transport, uri.host), transport, errors);
        if (viaSrv.length > 0) return viaSrv;
      }
      return targetsFor(await this.addresses(uri.host, errors), transport, uri.port ?? defaultPort(transport), explicit);
    }

    // §4.1: NAPTR, keeping only the services we support (only SIPS+D2T for a sips URI).
    const naptr = await this.lookup(() => this.dns.resolveNaptr(uri.host), errors);
    const usable = naptr
      .map((record) => ({ record, transport: NAPTR_SERVICES[record.service.toLowerCase()] }))
      .filter(
        (entry): entry is { record: (typeof naptr)[number]; transport: SipTransportName } =>
          entry.transport !== undefined &&
          entry.record.flags.toLowerCase() === 's' &&
          supported.includes(entry.transport) &&
          (!uri.secure || entry.transport === 'tls'),
      )
      .sort((a, b) => a.record.order - b.record.order || a.record.preference - b.record.preference);
    const out: ResolvedTarget[] = [];
    for (const { record, transport } of usable) out.push(...(await this.viaSrv(record.replacement, transport, errors)));
    if (out.length > 0) return out;

    // No usable NAPTR: an SRV query per transport we support, in our preference order.
    const transports = PREFERENCE.filter((t) => supported.includes(t) && (!uri.secure || t === 'tls'));
    const perTransport = await Promise.all(transports.map((t) => this.viaSrv(srvName(t, uri.host), t, errors)));
    for (const list of perTransport) out.push(...list);
    if (out.length > 0) return out;

    // No SRV either: A/AAAA with the default port and transport.
    const transport = defaultTransport(uri.secure, supported);
    return targetsFor(await this.addresses(uri.host, errors), transport, defaultPort(transport), false);
  }

  /** The targets of an SRV name in RFC 2782 order, each target name expanded to its addresses. */
  private async viaSrv(name: string, transport: SipTransportName, errors: unknown[]): Promise<ResolvedTarget[]> {
    const records = orderSrvRecords(await this.lookup(() => this.dns.resolveSrv(name), errors), this.random);
    const addressLists = await Promise.all(records.map((r: SrvRecord) => this.addresses(r.name, errors)));
    const out: ResolvedTarget[] = [];
    for (let i = 0; i < records.length; i++) {
      for (const host of addressLists[i]!) out.push({ transport, host, port: records[i]!.port, transportExplicit: true });
    }
    return out;
  }

  private async addresses(name: string, errors: unknown[]): Promise<string[]> {
    const host = stripBrackets(name);
    if (isIP(host) !== 0) return [host];
    const known = this.hosts.get(normalizeName(host));
    if (known !== undefined) return known;
    const lists = await Promise.all(
      this.families.map((family) =>
        this.lookup(() => (family === 4 ? this.dns.resolve4(host) : this.dns.resolve6(host)), errors),
      ),
    );
    return lists.flat();
  }

  /** A lookup whose failure (NXDOMAIN, NODATA, timeout) means "no records" here; the error is kept for the report. */
  private async lookup<T>(query: () => Promise<T[]>, errors: unknown[]): Promise<T[]> {
    try {
      return await query();
    } catch (error) {
      errors.push(error);
      return [];
    }
  }

  private applyBlacklist(targets: ResolvedTarget[]): ResolvedTarget[] {
    if (this.blacklist.size === 0) return targets;
    const now = this.clock.now();
    const good: ResolvedTarget[] = [];
    const bad: ResolvedTarget[] = [];
    for (const target of targets) {
      const key = endpointKey(target);
      const until = this.blacklist.get(key);
      if (until === undefined) good.push(target);
      else if (until <= now) {
        this.blacklist.delete(key);
        good.push(target);
      } else bad.push(target);
    }
    return bad.length === 0 ? good : good.concat(bad);
  }
}

/** The one target of a URI whose host is an IP literal (as locate() finds it), else undefined. */
function literalTarget(uri: UriTarget, supported: ReadonlyArray<SipTransportName>): ResolvedTarget[] | undefined {
  if (isIP(uri.host) === 0) return undefined;
  const transport = uri.transport ?? defaultTransport(uri.secure, supported);
  return [{ transport, host: uri.host, port: uri.port ?? defaultPort(transport), transportExplicit: uri.transport !== undefined }];
}

/**
 * @internal What `literalTarget(readUri(uri, supported), supported)` returns, for a URI of the
 * plain form `sip:` or `sips:`, an optional user of unreserved characters (RFC 3261 §25.1) and
 * `@`, an IPv4 address or a bracketed IPv6 reference, an optional port, nothing else (no
 * parameters: no `transport` or `maddr` to read); undefined for every other URI, which goes to
 * the parser. Read a character at a time: no parameter Maps, no slices but the host's.
 */
export function plainLiteralTarget(uri: string, supported: ReadonlyArray<SipTransportName>): ResolvedTarget[] | undefined {
  let i: number;
  if (uri.startsWith('sip:')) i = 4;
  else if (uri.startsWith('sips:')) i = 5;
  else return undefined;
  const secure = i === 5;
  const n = uri.length;
  const at = uri.indexOf('@', i);
  if (at >= 0) {
    if (at === i) return undefined;
    for (let k = i; k < at; k++) if (!isPlainUserChar(uri.charCodeAt(k))) return undefined;
    i = at + 1;
  }
  let host: string;
  let end: number;
  if (i < n && uri.charCodeAt(i) === 0x5b /* [ */) {
    const close = uri.indexOf(']', i);
    if (close < 0) return undefined;
    for (let k = i + 1; k < close; k++) {
      const c = uri.charCodeAt(k) | 0x20;
      if (!((c >= 0x30 && c <= 0x3a) || (c >= 0x61 && c <= 0x66) || c === 0x2e)) return undefined;
    }
    host = uri.slice(i + 1, close).toLowerCase();
    if (isIP(host) !== 6) return undefined;
    end = close + 1;
  } else {
    end = i;
    while (end < n) {
      const c = uri.charCodeAt(end);
      if ((c >= 0x30 && c <= 0x39) || c === 0x2e) end++;
      else break;
    }
    host = uri.slice(i, end);
    if (isIP(host) !== 4) return undefined;
  }
  let port: number | undefined;
  if (end < n) {
    if (uri.charCodeAt(end) !== 0x3a /* : */ || n - end - 1 < 1 || n - end - 1 > 5) return undefined;
    let v = 0;
    for (let k = end + 1; k < n; k++) {
      const d = uri.charCodeAt(k) - 0x30;
      if (d < 0 || d > 9) return undefined;
      v = v * 10 + d;
    }
    if (v > 65535) return undefined;
    port = v;
  }
  const transport = defaultTransport(secure, supported);
  return [{ transport, host, port: port ?? defaultPort(transport), transportExplicit: false }];
}

/** RFC 3261 §25.1 `unreserved` and the user-unreserved marks but `;`, `?`, `/` (those need the parser's reading). */
function isPlainUserChar(c: number): boolean {
  const l = c | 0x20;
  return (
    (l >= 0x61 && l <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x21 || c === 0x2a || c === 0x27 || c === 0x28 || c === 0x29 ||
    c === 0x26 || c === 0x3d || c === 0x2b || c === 0x24 || c === 0x2c
  );
}

/** @internal The parser's reading of a URI's one target when its host is an IP literal (the reference for plainLiteralTarget). */
export function parsedLiteralTarget(uri: string, supported: ReadonlyArray<SipTransportName>): ResolvedTarget[] | undefined {
  return literalTarget(readUri(uri, supported), supported);
}

function readUri(uri: string, supported: ReadonlyArray<SipTransportName>): UriTarget {
  let parsed: ReturnType<typeof parseSipUri>;
  try {
    parsed = parseSipUri(uri);
  } catch (error) {
    throw new SipDnsError(`Cannot resolve ${JSON.stringify(uri)}: not a sip/sips URI`, { cause: error });
  }
  const secure = parsed.scheme === 'sips';
  // RFC 3263 §4: maddr, when present, replaces the host as the target.
  const maddr = parsed.params.get('maddr');
  const host = stripBrackets(maddr ? maddr : parsed.host);
  if (host === '') throw new SipDnsError(`Cannot resolve ${JSON.stringify(uri)}: empty host`);
  const param = parsed.params.get('transport');
  let transport: SipTransportName | undefined;
  if (param) {
    const name = param.toLowerCase();
    if (name === 'udp' && !secure) transport = 'udp';
    // RFC 3261 §26.2.2: sips with transport=tcp means TLS over TCP.
    else if (name === 'tcp') transport = secure ? 'tls' : 'tcp';
    else if (name === 'tls') transport = 'tls';
    else throw new SipDnsError(`Cannot resolve ${uri}: transport ${param} is not supported${secure ? ' for sips' : ''}`);
    if (!supported.includes(transport)) throw new SipDnsError(`Cannot resolve ${uri}: transport ${transport} is not enabled`);
  }
  return { secure, host, port: parsed.port, transport };
}

/** RFC 3263 §4.1: UDP for sip, TLS for sips; a sip URI falls back to TCP, then TLS, when UDP is not enabled. */
function defaultTransport(secure: boolean, supported: ReadonlyArray<SipTransportName>): SipTransportName {
  if (secure) {
    if (supported.includes('tls')) return 'tls';
    throw new SipDnsError('Cannot resolve a sips URI: TLS is not enabled');
  }
  for (const t of PREFERENCE) if (supported.includes(t)) return t;
  throw new SipDnsError('Cannot resolve: no transport is enabled');
}

function srvName(transport: SipTransportName, host: string): string {
  if (transport === 'tls') return `_sips._tcp.${host}`;
  return transport === 'tcp' ? `_sip._tcp.${host}` : `_sip._udp.${host}`;
}

function targetsFor(addresses: ReadonlyArray<string>, transport: SipTransportName, port: number, explicit: boolean): ResolvedTarget[] {
  return addresses.map((host) => ({ transport, host: stripBrackets(host), port, transportExplicit: explicit }));
}

function dedupe(targets: ResolvedTarget[]): ResolvedTarget[] {
  const seen = new Set<string>();
  const out: ResolvedTarget[] = [];
  for (const t of targets) {
    const key = endpointKey(t);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}

function endpointKey(target: SipEndpoint): string {
  return `${target.transport}:${stripBrackets(target.host).toLowerCase()}:${target.port}`;
}

function stripBrackets(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 0x5b /* [ */ && host.endsWith(']') ? host.slice(1, -1) : host;
}

function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
