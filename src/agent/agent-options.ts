import type { NotifierHost } from '../qsa/index.js';
import type { SipUserAgent } from '../sip/ua/types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';

/** What the local presence agent does for a presentity that has no publication. */
export type EmptyPresentityBody = 'none' | 'closed';

export interface LocalPresenceAgentOptions {
  ua: SipUserAgent;
  broker: NotifierHost;
  scheduler: TimerScheduler;
  random: Random;
  /** Domains served (host part of sip/sips URIs, compared case-insensitively). */
  domains: string[];
  /** Upper bound of a publication's lifetime in seconds (RFC 3903 §6 step 6); default 3600. */
  maxPublishExpires?: number;
  /** Lower bound of PUBLISH and SUBSCRIBE Expires, answered with 423 below it; default 60. */
  minExpires?: number;
  /** Upper bound of a subscription's lifetime in seconds; default 3600. */
  maxSubscribeExpires?: number;
  /**
   * Body of NOTIFYs (and QSA status) for a presentity with no publication:
   * `none` sends state only, as Kamailio's presence module does (default);
   * `closed` sends a PIDF document with one closed tuple.
   */
  emptyPresentityBody?: EmptyPresentityBody;
  /** QSA priority of the agent's notifier; default 100 (the B2BUA registers with 0). */
  qsaPriority?: number;
}

export interface AgentSettings {
  maxPublishExpires: number;
  minExpires: number;
  maxSubscribeExpires: number;
  emptyPresentityBody: EmptyPresentityBody;
  qsaPriority: number;
}

export const DEFAULT_AGENT_SETTINGS: Readonly<AgentSettings> = Object.freeze({
  maxPublishExpires: 3600,
  minExpires: 60,
  maxSubscribeExpires: 3600,
  emptyPresentityBody: 'none',
  qsaPriority: 100,
});

/** RFC 3856 §6.4 and RFC 3903 §6: 3600 s when the request has no Expires. */
export const DEFAULT_REQUESTED_EXPIRES = 3600;

export function agentSettings(options: LocalPresenceAgentOptions): AgentSettings {
  const settings: AgentSettings = {
    maxPublishExpires: options.maxPublishExpires ?? DEFAULT_AGENT_SETTINGS.maxPublishExpires,
    minExpires: options.minExpires ?? DEFAULT_AGENT_SETTINGS.minExpires,
    maxSubscribeExpires: options.maxSubscribeExpires ?? DEFAULT_AGENT_SETTINGS.maxSubscribeExpires,
    emptyPresentityBody: options.emptyPresentityBody ?? DEFAULT_AGENT_SETTINGS.emptyPresentityBody,
    qsaPriority: options.qsaPriority ?? DEFAULT_AGENT_SETTINGS.qsaPriority,
  };
  // A maximum below the minimum would answer every request with 423.
  if (settings.maxPublishExpires < settings.minExpires) settings.maxPublishExpires = settings.minExpires;
  if (settings.maxSubscribeExpires < settings.minExpires) settings.maxSubscribeExpires = settings.minExpires;
  return settings;
}
