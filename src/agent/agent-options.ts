import type { NotifierHost, QsaSubscriptionHandle, StatusQueue, StatusQueueOptions, SubscribeRequest } from '../qsa/index.js';
import type { SipUserAgent } from '../sip/ua/types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';

/** What the local presence agent does for a presentity that has no publication. */
export type EmptyPresentityBody = 'none' | 'closed';

/**
 * Where the state of a presentity that never PUBLISHes comes from: its own
 * user agent, which answers SUBSCRIBE (the seed's "UACs capable to process
 * SUBSCRIBE/NOTIFY but not using PUBLISH"), subscribed to through QSA and
 * the B2BUA while the presentity has watchers.
 */
export interface UserAgentSource {
  /**
   * The URI the B2BUA subscribes to: the UA's own address
   * (`sip:alice@192.0.2.7:5060`), or the presentity's URI itself, which the
   * B2BUA sends through `presence_outbound_proxy` to a registrar that routes
   * it to the UA.
   */
  record: string;
  /** The watcher identity (From) of that subscription; default: the presentity's URI. */
  subscriber?: string;
}

/** The subscriber side of QSA, where the agent subscribes to user agents (the daemon's QsaBroker). */
export interface UpstreamBroker {
  subscribe(request: SubscribeRequest): QsaSubscriptionHandle;
  unsubscribe(handle: QsaSubscriptionHandle): boolean;
  createQueue(options?: StatusQueueOptions): StatusQueue;
}

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
  /**
   * Presentities (URIs of served domains) whose state is taken from their
   * own user agent when they have no publication; needs `upstream`.
   */
  userAgents?: Readonly<Record<string, UserAgentSource>>;
  /** Where the subscriptions to `userAgents` are made (a QsaBroker whose B2BUA answers them). */
  upstream?: UpstreamBroker;
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
export { DEFAULT_REQUESTED_EXPIRES } from '../sip/notifier/expires-grant.js';

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
