/**
 * The B2BUA's parameters. Every SER presence_b2b parameter keeps its meaning
 * and default (docs/ser-presence-b2b.md §4); the camelCase name mirrors the seed's
 * snake_case one. Durations are in seconds, as in the seed.
 */
export interface EngineSettings {
  /** Expires requested in every SUBSCRIBE (seed: default_expiration, 3600). */
  defaultExpiration: number;
  /** Delay before a new attempt after an error (seed: on_error_retry_time, 120). */
  onErrorRetryTime: number;
  /** Route header value(s) preloaded on the initial SUBSCRIBE (seed: presence_route, empty). */
  presenceRoute: string;
  /** Raw header lines appended to every SUBSCRIBE (seed: additional_presence_headers, empty). */
  additionalPresenceHeaders: string;
  /** How long to wait for the terminating NOTIFY after Expires: 0 (seed: wait_for_term_notify, 30). */
  waitForTermNotify: number;
  /** Refresh this long before the granted expiry (seed: resubscribe_delta, 30). */
  resubscribeDelta: number;
  /** Minimum time between consecutive SUBSCRIBEs of one dialog (seed: min_resubscribe_time, 30). */
  minResubscribeTime: number;
  /** Whether the engine answers presence subscriptions at all (seed: handle_presence_subscriptions, 1). */
  handlePresenceSubscriptions: boolean;
  /** Next hop for out-of-dialog SUBSCRIBEs, a SIP URI (seed: presence_outbound_proxy, empty). */
  presenceOutboundProxy: string;
  /** Spread first SUBSCRIBEs uniformly over 1..N s; 0 sends at once (seed: max_subscribe_delay, 0). */
  maxSubscribeDelay: number;
  /** Identical (record, subscriber, package) subscriptions share one dialog (new; default on). */
  shareIdenticalSubscriptions: boolean;
  /** Upper bound of the random amount taken off each refresh delay, seconds (new; default 5). */
  refreshJitter: number;
  /** New (out-of-dialog) SUBSCRIBEs per second at most, bursts of one second's worth; 0 = unlimited (new; default 1000). */
  maxSubscribeRate: number;
  /** How many 3xx redirects one subscription attempt follows (new; SER had no cap; default 5). */
  maxRedirects: number;
  /** User part of our Contact (new; default "b2b"). */
  contactUser: string;
  /** RFC 3261 T1 in milliseconds, for Timer N = 64·T1 (RFC 6665 §4.1.2.4). */
  t1Ms: number;
}

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = {
  defaultExpiration: 3600,
  onErrorRetryTime: 120,
  presenceRoute: '',
  additionalPresenceHeaders: '',
  waitForTermNotify: 30,
  resubscribeDelta: 30,
  minResubscribeTime: 30,
  handlePresenceSubscriptions: true,
  presenceOutboundProxy: '',
  maxSubscribeDelay: 0,
  shareIdenticalSubscriptions: true,
  refreshJitter: 5,
  maxSubscribeRate: 1000,
  maxRedirects: 5,
  contactUser: 'b2b',
  t1Ms: 500,
};

/**
 * Splits additional_presence_headers ("Name: value" lines separated by CRLF
 * or LF, as in SER, where the lines had to carry their own CRLFs) into fields.
 */
export function parseAdditionalHeaders(text: string): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`additional_presence_headers: "${line}" is not a "Name: value" header line`);
    out.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return out;
}

/** Splits presence_route ("<sip:a;lr>, <sip:b;lr>") into Route header values. */
export function parseRouteList(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (c === ',' && depth === 0) {
      if (text.slice(start, i).trim()) out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (text.slice(start).trim()) out.push(text.slice(start).trim());
  return out;
}
