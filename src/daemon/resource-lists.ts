import type { PresenceB2B } from '../b2b/create-presence-b2b.js';
import type { DaemonConfig } from '../config/config-schema.js';
import type { QsaBroker } from '../qsa/index.js';
import { ResourceListServer } from '../rls/index.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import type { Random } from '../util/random.js';
import type { TimerScheduler } from '../util/timer-scheduler.js';

export interface ResourceListDeps {
  b2b: PresenceB2B;
  broker: QsaBroker;
  scheduler: TimerScheduler;
  random: Random;
  config: Pick<DaemonConfig, 'resource_lists' | 'rls_min_notify_interval'>;
  /** Where SUBSCRIBEs that are not for a list go: the local agent, when it runs. */
  others?: (incoming: IncomingRequest) => void;
}

/**
 * Starts the resource list server (src/rls/) for `resource_lists` on the
 * B2BUA's user agent. It takes SUBSCRIBE from then on (start it after the
 * local agent) and hands what is not for a list to `others`.
 */
export function startResourceLists(deps: ResourceListDeps): ResourceListServer {
  const server = new ResourceListServer({
    ua: deps.b2b.ua,
    broker: deps.broker,
    scheduler: deps.scheduler,
    random: deps.random,
    lists: Object.entries(deps.config.resource_lists).map(([uri, list]) => ({
      uri,
      members: list.members,
      ...(list.owner !== undefined ? { owner: list.owner } : {}),
    })),
    minNotifyIntervalMs: deps.config.rls_min_notify_interval * 1000,
    ...(deps.others !== undefined ? { others: deps.others } : {}),
  });
  server.start();
  return server;
}
