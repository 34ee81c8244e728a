import { LocalPresenceAgent, type UserAgentSource } from '../agent/index.js';
import type { PresenceB2B } from '../b2b/create-presence-b2b.js';
import type { DaemonConfig } from '../config/config-schema.js';
import type { PresentityDocument, PresentityPublisher } from '../http/api-types.js';
import type { QsaBroker } from '../qsa/index.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';

export interface LocalAgentDeps {
  b2b: PresenceB2B;
  broker: QsaBroker;
  scheduler: TimerScheduler;
  random: Random;
  domains: string[];
  /** Presentities whose state comes from their own user agent (see userAgentSourcesFromConfig). */
  userAgents?: Record<string, UserAgentSource>;
}

/**
 * `local_agent.user_agents` as the agent takes it. Each presentity names its
 * user agent's address (`"sip:alice@192.0.2.7:5060"` or `{ address: … }`),
 * or `{ via_proxy: true }`: subscribe to the presentity's own URI, which the
 * B2BUA sends to presence_outbound_proxy. The watcher identity is the
 * entry's `subscriber`, else `local_agent.subscriber`, else the presentity.
 */
export function userAgentSourcesFromConfig(localAgent: DaemonConfig['local_agent']): Record<string, UserAgentSource> {
  const out: Record<string, UserAgentSource> = {};
  for (const [presentity, entry] of Object.entries(localAgent.user_agents)) {
    const record = typeof entry === 'string' ? entry : entry.via_proxy === true ? presentity : (entry.address ?? presentity);
    const subscriber = (typeof entry === 'string' ? undefined : entry.subscriber) ?? localAgent.subscriber;
    out[presentity] = subscriber === undefined ? { record } : { record, subscriber };
  }
  return out;
}

/** The local presence agent as the daemon uses it. */
export interface LocalAgentHandle extends PresentityPublisher {
  readonly agent: LocalPresenceAgent;
  /** Stops serving: SIP watchers get a terminating NOTIFY (reason deactivated). */
  close(): void;
}

/**
 * Starts the local presence agent (src/agent/) for `domains` on the B2BUA's
 * user agent: it takes SIP PUBLISH and SUBSCRIBE for local presentities,
 * answers QSA subscriptions to them ahead of the B2BUA (higher priority),
 * and publishes what PUT /v1/presentities sends.
 */
export function startLocalAgent(deps: LocalAgentDeps): LocalAgentHandle {
  const agent = new LocalPresenceAgent({
    ua: deps.b2b.ua,
    broker: deps.broker,
    scheduler: deps.scheduler,
    random: deps.random,
    domains: deps.domains,
    ...(deps.userAgents !== undefined && Object.keys(deps.userAgents).length > 0 ? { userAgents: deps.userAgents, upstream: deps.broker } : {}),
  });
  agent.start();
  return {
    agent,
    publish(uri: string, document: PresentityDocument): void {
      agent.publish(uri, document.note !== undefined ? { basic: document.basic, note: document.note } : { basic: document.basic });
    },
    close(): void {
      agent.stop();
    },
  };
}
