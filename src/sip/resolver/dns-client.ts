import { Resolver } from 'node:dns/promises';

/** One NAPTR record (RFC 3403), as `node:dns` returns it. */
export interface NaptrRecord {
  flags: string;
  service: string;
  regexp: string;
  replacement: string;
  order: number;
  preference: number;
}

/** One SRV record (RFC 2782), as `node:dns` returns it. */
export interface SrvRecord {
  name: string;
  port: number;
  priority: number;
  weight: number;
}

/**
 * The DNS queries RFC 3263 needs, injected so that tests and DNS-less
 * configurations can answer from a table. Each method resolves the records
 * found, or rejects with an Error whose `code` is a `node:dns` code
 * (`ENOTFOUND` for NXDOMAIN, `ENODATA` for a name without records of that
 * type, `ETIMEOUT`, `ESERVFAIL`, …).
 */
export interface DnsClient {
  resolveNaptr(name: string): Promise<NaptrRecord[]>;
  resolveSrv(name: string): Promise<SrvRecord[]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

export interface NodeDnsClientOptions {
  /** Per-try timeout in milliseconds (default 2000). */
  timeoutMs?: number;
  /** Tries per server before giving up (default 2). */
  tries?: number;
  /** Name servers (`ip` or `ip:port`); the system's when absent. */
  servers?: string[];
}

/**
 * `DnsClient` over `node:dns/promises`' `Resolver` (c-ares: real DNS
 * queries, not getaddrinfo, so /etc/hosts is not consulted — see the
 * resolver's `hosts` option for that).
 */
export class NodeDnsClient implements DnsClient {
  private readonly resolver: Resolver;

  constructor(options: NodeDnsClientOptions = {}) {
    this.resolver = new Resolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 2 });
    if (options.servers && options.servers.length > 0) this.resolver.setServers(options.servers);
  }

  resolveNaptr(name: string): Promise<NaptrRecord[]> {
    return this.resolver.resolveNaptr(name);
  }

  resolveSrv(name: string): Promise<SrvRecord[]> {
    return this.resolver.resolveSrv(name);
  }

  resolve4(name: string): Promise<string[]> {
    return this.resolver.resolve4(name);
  }

  resolve6(name: string): Promise<string[]> {
    return this.resolver.resolve6(name);
  }

  /** Rejects every outstanding query with `ECANCELLED` (on shutdown). */
  cancel(): void {
    this.resolver.cancel();
  }
}

/** The records a `StaticDnsClient` answers with, by owner name. */
export interface StaticDnsRecords {
  naptr?: Record<string, NaptrRecord[]>;
  srv?: Record<string, SrvRecord[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
}

/** An Error shaped like the ones `node:dns` rejects with. */
export class DnsLookupError extends Error {
  readonly code: string;
  readonly hostname: string;

  constructor(code: string, syscall: string, hostname: string) {
    super(`${syscall} ${code} ${hostname}`);
    this.code = code;
    this.hostname = hostname;
    this.name = 'DnsLookupError';
  }
}

/**
 * A fixed zone: answers from the records it was given, `ENODATA` for a
 * known name without records of the asked type, `ENOTFOUND` (NXDOMAIN) for
 * an unknown name. Names are compared case-insensitively, a trailing dot ignored.
 * For tests and for configurations that must not use DNS.
 */
export class StaticDnsClient implements DnsClient {
  private readonly naptr: Map<string, NaptrRecord[]>;
  private readonly srv: Map<string, SrvRecord[]>;
  private readonly a: Map<string, string[]>;
  private readonly aaaa: Map<string, string[]>;
  private readonly known = new Set<string>();
  /** Every query made, as `type name`, in order (for tests that check what was asked). */
  readonly queries: string[] = [];

  constructor(records: StaticDnsRecords) {
    this.naptr = this.index(records.naptr);
    this.srv = this.index(records.srv);
    this.a = this.index(records.a);
    this.aaaa = this.index(records.aaaa);
  }

  resolveNaptr(name: string): Promise<NaptrRecord[]> {
    return this.answer('NAPTR', 'queryNaptr', name, this.naptr);
  }

  resolveSrv(name: string): Promise<SrvRecord[]> {
    return this.answer('SRV', 'querySrv', name, this.srv);
  }

  resolve4(name: string): Promise<string[]> {
    return this.answer('A', 'queryA', name, this.a);
  }

  resolve6(name: string): Promise<string[]> {
    return this.answer('AAAA', 'queryAaaa', name, this.aaaa);
  }

  private index<T>(table: Record<string, T[]> | undefined): Map<string, T[]> {
    const map = new Map<string, T[]>();
    if (!table) return map;
    for (const [name, records] of Object.entries(table)) {
      const key = normalizeName(name);
      map.set(key, records);
      this.known.add(key);
    }
    return map;
  }

  private answer<T>(type: string, syscall: string, name: string, table: Map<string, T[]>): Promise<T[]> {
    this.queries.push(`${type} ${name}`);
    const key = normalizeName(name);
    const records = table.get(key);
    if (records && records.length > 0) return Promise.resolve(records.map((r) => (typeof r === 'object' ? { ...r } : r)));
    const code = this.known.has(key) ? 'ENODATA' : 'ENOTFOUND';
    return Promise.reject(new DnsLookupError(code, syscall, name));
  }
}

function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
