import { parseSipUri } from '../sip/codec/uri.js';
import type { SipUri } from '../sip/codec/uri.js';
import { ownString } from '../util/copy-string.js';

function safeSipUri(uri: string): SipUri | undefined {
  try {
    return parseSipUri(uri.trim());
  } catch {
    // Not a sip/sips URI: never local (the caller answers or refuses accordingly).
    return undefined;
  }
}

/**
 * The domains the agent serves. A URI is local when it is a sip or sips URI
 * whose host equals (case-insensitively, RFC 3261 §19.1.4) one of them.
 */
export class LocalDomains {
  private readonly hosts: ReadonlySet<string>;

  constructor(domains: Iterable<string>) {
    const hosts = new Set<string>();
    for (const d of domains) {
      const host = d.trim().toLowerCase();
      if (host !== '') hosts.add(host);
    }
    this.hosts = hosts;
  }

  /** The served domains, lower-cased. */
  list(): string[] {
    return [...this.hosts];
  }

  isLocal(uri: string): boolean {
    const parsed = safeSipUri(uri);
    return parsed !== undefined && this.hosts.has(parsed.host);
  }

  /**
   * The presentity key of a local URI, or undefined for any other: `sip:user@host`
   * without port, parameters or headers, sips folded into sip, as the
   * Kamailio presence module keys presentities by user and domain. The user
   * part stays as written (it is case-sensitive, RFC 3261 §19.1.4).
   */
  presentityOf(uri: string): { key: string; user: string | undefined } | undefined {
    const parsed = safeSipUri(uri);
    if (parsed === undefined || !this.hosts.has(parsed.host)) return undefined;
    const key = parsed.user === undefined ? `sip:${parsed.host}` : `sip:${parsed.user}@${parsed.host}`;
    return { key: ownString(key), user: parsed.user === undefined ? undefined : ownString(parsed.user) };
  }
}
