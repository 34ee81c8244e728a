import { LocalPresenceAgent } from '../agent/index.js';
import type { PresenceB2B } from '../b2b/create-presence-b2b.js';
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
