import { parseNameAddr } from '../sip/codec/name-addr.js';
import { parseSipUri } from '../sip/codec/uri.js';
import { InvalidOptionError, type OptionProblem } from '../util/invalid-option-error.js';
import {
  booleanProblem,
  controlCharacterIndex,
  describeValue,
  headerTextProblem,
  MAX_DELTA_SECONDS,
  wholeNumberProblem,
} from '../util/option-checks.js';

/**
 * The B2BUA's parameters. Every SER presence_b2b parameter keeps its meaning
 * and default (docs/ser-presence-b2b.md §4); the camelCase name mirrors the seed's
 * snake_case one. Durations are in seconds, as in the seed.
 */
export interface EngineSettings {
  /** Expires requested in every SUBSCRIBE (seed: default_expiration, 3600). */
  defaultExpiration: number;
  /**
   * Delay before the first new attempt after a failure (seed: on_error_retry_time,
   * 120); each further consecutive failure doubles it (±20 %), up to maxErrorRetryTime.
   */
  onErrorRetryTime: number;
  /** Upper bound of the backoff and of a server's Retry-After, seconds (new; default 3600). */
  maxErrorRetryTime: number;
  /**
   * After a final answer (rejected, noresource, …), try again after this many
   * seconds; 0 = never: the subscription stays in its final state (new; default 0).
   */
  finalRetryTime: number;
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
  /**
   * Next hop for every SUBSCRIBE, a SIP URI (seed: presence_outbound_proxy,
   * empty): out-of-dialog ones, and in-dialog ones too unless their route set
   * already starts there.
   */
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
  /**
   * What to do with a NOTIFY, in one of our dialogs, whose source address is
   * none of the addresses the dialog expects it from (docs/hostile-input.md):
   * `off` no check; `log` count it and report it, accept it (default);
   * `reject` count it and answer 403 (RFC 3261 §21.4.4).
   */
  notifySourceCheck: NotifySourceCheck;
  /**
   * After a start with stored dialogs (issue 10): how long a stored dialog
   * waits for a subscription of its identity to claim it (and resume it
   * in-dialog) before it is unSUBSCRIBEd, seconds (new; default 60).
   */
  resumeGrace: number;
}

/** The values of `notify_source_check` / EngineSettings.notifySourceCheck. */
export const NOTIFY_SOURCE_CHECKS = ['off', 'log', 'reject'] as const;
export type NotifySourceCheck = (typeof NOTIFY_SOURCE_CHECKS)[number];

export const DEFAULT_ENGINE_SETTINGS: EngineSettings = {
  defaultExpiration: 3600,
  onErrorRetryTime: 120,
  maxErrorRetryTime: 3600,
  finalRetryTime: 0,
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
  notifySourceCheck: 'log',
  resumeGrace: 60,
};

/**
 * Header names the stack writes itself in every SUBSCRIBE (RFC 3261 §8.1.1,
 * RFC 6665 §4.1.2), by full and compact form: a second one would make the
 * request malformed or contradict ours. Route has its own option, presence_route.
 */
const RESERVED_HEADERS: ReadonlyMap<string, string> = new Map([
  ['via', 'Via'], ['v', 'Via'],
  ['from', 'From'], ['f', 'From'],
  ['to', 'To'], ['t', 'To'],
  ['call-id', 'Call-ID'], ['i', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['max-forwards', 'Max-Forwards'],
  ['contact', 'Contact'], ['m', 'Contact'],
  ['event', 'Event'], ['o', 'Event'],
  ['expires', 'Expires'],
  ['content-length', 'Content-Length'], ['l', 'Content-Length'],
  ['content-type', 'Content-Type'], ['c', 'Content-Type'],
  ['route', 'Route'],
]);

/** RFC 3261 §25.1 token characters: what a header name is made of. */
const HEADER_NAME = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/**
 * Splits additional_presence_headers ("Name: value" lines separated by CRLF
 * or LF, as in SER, where the lines had to carry their own CRLFs) into fields,
 * or says what is wrong with the first bad line.
 */
function splitAdditionalHeaders(text: string): { headers: Array<readonly [string, string]> } | { problem: string } {
  const headers: Array<readonly [string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const shown = JSON.stringify(line.length > 60 ? `${line.slice(0, 57)}...` : line);
    const colon = line.indexOf(':');
    if (colon <= 0) return { problem: `expected "Name: value" header lines, got ${shown}` };
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name)) return { problem: `expected a header name made of RFC 3261 token characters, got ${JSON.stringify(name)} in ${shown}` };
    const reserved = RESERVED_HEADERS.get(name.toLowerCase());
    if (reserved !== undefined) {
      const hint = reserved === 'Route' ? ' (use presence_route)' : '';
      return { problem: `${reserved} is written by presence-b2b itself and cannot be added${hint}, got ${shown}` };
    }
    if (controlCharacterIndex(value) >= 0) return { problem: `expected a header value without control characters, got ${shown}` };
    headers.push([name, value]);
  }
  return { headers };
}

/** What is wrong with additional_presence_headers, or undefined when every line is a usable header. */
export function additionalHeadersProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return `expected "Name: value" header lines in a string, got ${describeValue(text)}`;
  const split = splitAdditionalHeaders(text);
  return 'problem' in split ? split.problem : undefined;
}

/** additional_presence_headers as fields; throws InvalidOptionError (B2B_ERR_INVALID_OPTION) on a bad line. */
export function parseAdditionalHeaders(text: string): Array<readonly [string, string]> {
  const split = splitAdditionalHeaders(text);
  if ('problem' in split) throw new InvalidOptionError({ option: 'additionalPresenceHeaders', message: split.problem });
  return split.headers;
}

/**
 * What is wrong with presence_route, or undefined: each comma-separated element
 * must be a Route value, a name-addr with a sip/sips URI (RFC 3261 §20.34:
 * `route-param = name-addr *( SEMI rr-param )`), e.g. `<sip:proxy.example.com;lr>`,
 * or a bare SIP URI, taken as that URI in `<>` (`sip:proxy.example.com;lr`).
 */
export function routeListProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return `expected Route values such as "<sip:proxy.example.com;lr>", got ${describeValue(text)}`;
  if (controlCharacterIndex(text) >= 0) return `expected Route values without line breaks or control characters, got ${describeValue(text)}`;
  for (const element of splitRouteList(text)) {
    try {
      parseSipUri(parseNameAddr(asRouteValue(element), 'Route').uri);
    } catch {
      // The codec's reason is about a received header; ours names the option and the form expected.
      return `expected Route values such as "<sip:proxy.example.com;lr>" or "sip:proxy.example.com;lr" (comma-separated), got ${describeValue(element)}`;
    }
  }
  return undefined;
}

/** What is wrong with presence_outbound_proxy, or undefined: "" (none) or a sip/sips URI such as `sip:proxy.example.com:5060;transport=tcp`. */
export function outboundProxyProblem(text: unknown): string | undefined {
  if (text === '') return undefined;
  const expected = `expected a SIP URI such as "sip:proxy.example.com:5060" or "", got ${describeValue(text)}`;
  if (typeof text !== 'string' || controlCharacterIndex(text) >= 0) return expected;
  try {
    parseSipUri(text.trim());
  } catch {
    // As above: the option's own wording is clearer than the codec's.
    return expected;
  }
  return undefined;
}

/** Numeric settings: inclusive ranges (seconds are RFC 3261 delta-seconds at most). */
export const ENGINE_NUMBER_LIMITS: Readonly<Record<NumericEngineSetting, { min: number; max: number }>> = {
  defaultExpiration: { min: 1, max: MAX_DELTA_SECONDS },
  onErrorRetryTime: { min: 1, max: MAX_DELTA_SECONDS },
  waitForTermNotify: { min: 0, max: MAX_DELTA_SECONDS },
  // ≥ 1: with 0, a grant shorter than resubscribe_delta was refreshed in a zero-delay loop (issue 9).
  resubscribeDelta: { min: 1, max: MAX_DELTA_SECONDS },
  minResubscribeTime: { min: 1, max: MAX_DELTA_SECONDS },
  maxErrorRetryTime: { min: 1, max: MAX_DELTA_SECONDS },
  finalRetryTime: { min: 0, max: MAX_DELTA_SECONDS },
  maxSubscribeDelay: { min: 0, max: MAX_DELTA_SECONDS },
  refreshJitter: { min: 0, max: MAX_DELTA_SECONDS },
  maxSubscribeRate: { min: 0, max: 1_000_000 },
  maxRedirects: { min: 0, max: 100 },
  t1Ms: { min: 1, max: 60_000 },
  resumeGrace: { min: 1, max: MAX_DELTA_SECONDS },
};

type NumericEngineSetting = {
  [K in keyof EngineSettings]: EngineSettings[K] extends number ? K : never;
}[keyof EngineSettings];

/**
 * Every problem of the settings given (undefined ones are left to their
 * defaults), each naming the setting; an empty list when all can be used.
 */
export function engineSettingsProblems(settings: { readonly [K in keyof EngineSettings]?: unknown }): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const check = (option: keyof EngineSettings, problem: string | undefined): void => {
    if (settings[option] !== undefined && problem !== undefined) problems.push({ option, message: problem });
  };
  for (const [option, { min, max }] of Object.entries(ENGINE_NUMBER_LIMITS) as Array<[NumericEngineSetting, { min: number; max: number }]>) {
    check(option, wholeNumberProblem(settings[option], min, max));
  }
  check('handlePresenceSubscriptions', booleanProblem(settings.handlePresenceSubscriptions));
  check('shareIdenticalSubscriptions', booleanProblem(settings.shareIdenticalSubscriptions));
  check('presenceRoute', routeListProblem(settings.presenceRoute));
  check('additionalPresenceHeaders', additionalHeadersProblem(settings.additionalPresenceHeaders));
  check('presenceOutboundProxy', outboundProxyProblem(settings.presenceOutboundProxy));
  check('contactUser', headerTextProblem(settings.contactUser, { nonEmpty: true }));
  const sourceCheck = settings.notifySourceCheck;
  check(
    'notifySourceCheck',
    typeof sourceCheck === 'string' && (NOTIFY_SOURCE_CHECKS as readonly string[]).includes(sourceCheck)
      ? undefined
      : `expected one of ${NOTIFY_SOURCE_CHECKS.join(', ')}, got ${describeValue(sourceCheck)}`,
  );
  return problems;
}

/** The comma-separated elements of presence_route as written, trimmed (commas inside `<>` do not split). */
function splitRouteList(text: string): string[] {
  const out: string[] = [];
  const push = (element: string) => {
    const value = element.trim();
    if (value !== '') out.push(value);
  };
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (c === ',' && depth === 0) {
      push(text.slice(start, i));
      start = i + 1;
    }
  }
  push(text.slice(start));
  return out;
}

/** A presence_route element as a Route value: a bare URI ("sip:a;lr") is put in `<>`, its parameters (lr) the URI's. */
function asRouteValue(element: string): string {
  return element.includes('<') ? element : `<${element}>`;
}

/**
 * Splits presence_route ("<sip:a;lr>, <sip:b;lr>") into Route header values.
 * A bare URI ("sip:a;lr", as the seed's users often wrote it) is taken as
 * `<sip:a;lr>`: its parameters are the URI's, `lr` included.
 */
export function parseRouteList(text: string): string[] {
  return splitRouteList(text).map(asRouteValue);
}
