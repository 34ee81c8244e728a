import type { PresenceB2B } from '../b2b/create-presence-b2b.js';
import type { PresentityPublisher } from '../http/api-types.js';
import type { Logger } from '../log/logger.js';
import type { QsaBroker } from '../qsa/index.js';
import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';

export interface LocalAgentDeps {
  b2b: PresenceB2B;
  broker: QsaBroker;
  scheduler: TimerScheduler;
  clock: Clock;
  random: Random;
  domains: string[];
  logger: Logger;
}

/** The local presence agent as the daemon uses it. */
export interface LocalAgentHandle extends PresentityPublisher {
  close(): void | Promise<void>;
}

/**
 * Starts the local presence agent (src/agent/) for `domains`: it answers QSA
 * subscriptions to local presentities, SIP SUBSCRIBE and PUBLISH for them on
 * the B2BUA's sockets, and takes PUT /v1/presentities. Undefined when the
 * agent is not part of this build.
 */
export async function startLocalAgent(_deps: LocalAgentDeps): Promise<LocalAgentHandle | undefined> {
  return undefined;
}
