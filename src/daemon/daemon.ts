import diagnosticsChannel from 'node:diagnostics_channel';
import { createPresenceB2B, type PresenceB2B } from '../b2b/create-presence-b2b.js';
import { b2bOptionsFromConfig, httpTlsFromConfig } from '../config/b2b-options.js';
import { ConfigError } from '../config/config-error.js';
import type { DaemonConfig } from '../config/config-schema.js';
import type { PresentityPublisher } from '../http/api-types.js';
import { HepExporter } from '../hep/hep-exporter.js';
import { createHttpApi, type HttpApi } from '../http/http-server.js';
import { createLogger, type Logger } from '../log/logger.js';
import { DaemonMetrics } from '../metrics/daemon-metrics.js';
import { NotifyLatencyTracker } from '../metrics/notify-latency-tracker.js';
import { QsaBroker } from '../qsa/index.js';
import { openStoreAsync } from '../store/open-store.js';
import type { StoreContents, SubscriptionStore } from '../store/subscription-store.js';
import { ENGINE_CHANNEL_NOTIFY_SOURCE, ENGINE_CHANNEL_STATE, type EngineNotifySourceEvent } from '../subscription/engine-diagnostics.js';
import { type Clock, systemClock } from '../util/clock.js';
import { CryptoRandom, type Random } from '../util/random.js';
import { TimerScheduler } from '../util/timer-scheduler.js';
import type { LocalPresenceAgent } from '../agent/index.js';
import type { ResourceListServer } from '../rls/index.js';
import { DaemonErrorReporter } from './error-reporter.js';
import { plainHttpWarning } from './http-exposure.js';
import { DaemonListenError, listenFailureOf, sipListenError } from './listen-error.js';
import { type LocalAgentHandle, startLocalAgent, userAgentSourcesFromConfig } from './local-agent.js';
import { startResourceLists } from './resource-lists.js';
import { StatusFeed } from './status-feed.js';
import { QueueHub } from './queue-hub.js';
import { startRelayedQueues } from './relayed-queues.js';
import { SubscriptionService } from './subscription-service.js';
import { ClusterNode } from './cluster-node.js';
import { PostgresSubscriptionStore } from '../store/postgres-store.js';

export const DAEMON_VERSION = '0.1.0';

/** The cluster part of a configuration, or undefined for a single node. */
function clusterSpecOf(config: DaemonConfig): { nodeId: string; leaseTtlMs: number; shards: number; url: string } | undefined {
  const c = config.cluster;
  if (c === undefined || config.store.type !== 'postgres') return undefined;
  return { nodeId: c.node_id, leaseTtlMs: Math.round(c.lease_ttl * 1000), shards: c.shards, url: config.store.url };
}

/** What /healthz says about a cluster node. */
function clusterHealth(node: ClusterNode): Record<string, unknown> {
  return { nodeId: node.nodeId, nodes: node.manager.nodes, shardsHeld: node.heldShards().length, leases: { ...node.manager.stats }, ...node.stats };
}

/** Published by the engine on every dialog state change. */

export interface StartDaemonOptions {
  logger?: Logger;
  clock?: Clock;
  random?: Random;
  /** A store to use instead of the one `config.store` names (it stays the caller's to close). */
  store?: SubscriptionStore;
  /**
   * Relay status messages through the PostgreSQL store's queue table even
   * without `cluster:` (src/daemon/relayed-queues.ts): for tests of several
   * nodes on one database, which then pass a store opened non-exclusive.
   */
  statusRelay?: boolean;
}

/** A running daemon. */
export interface DaemonHandle {
  readonly config: DaemonConfig;
  readonly b2b: PresenceB2B;
  readonly broker: QsaBroker;
  readonly metrics: DaemonMetrics;
  readonly subscriptions: SubscriptionService;
  readonly store: SubscriptionStore;
  readonly logger: Logger;
  /** The local presence agent, when `local_agent.enabled`. */
  readonly localAgent: LocalPresenceAgent | undefined;
  /** The resource list server, when `resource_lists` has lists. */
  readonly resourceLists: ResourceListServer | undefined;
  /** Where SIP listens (ports as bound). */
  readonly sip: ReadonlyArray<{ transport: string; host: string; port: number }>;
  /** The HEPv3 export of every SIP message, when `hep` is configured. */
  readonly hep: HepExporter | undefined;
  /** Where the HTTP API listens, when enabled. */
  readonly http: { host: string; port: number } | undefined;
  /** This node of a cluster (shard leases, takeover), when `cluster` is configured. */
  readonly cluster: ClusterNode | undefined;
  /**
   * Stops everything within about `shutdown.timeout_ms`: `unsubscribe` ends
   * every SIP subscription (SUBSCRIBE Expires: 0) first, `leave` just closes
   * the sockets and lets the dialogs expire at the servers.
   */
  close(mode?: DaemonConfig['shutdown']['mode']): Promise<void>;
}

/**
 * Starts presence-b2b as a service: the store, the shared QSA broker, the
 * B2BUA (createPresenceB2B), the local presence agent when enabled, the API
 * subscriptions and queues restored from the store, and the HTTP API. The
 * configuration must be validated already (loadConfig). A store that cannot
 * be used is a StoreError, thrown before anything binds.
 */
export async function startDaemon(config: DaemonConfig, options: StartDaemonOptions = {}): Promise<DaemonHandle> {
  const logger = options.logger ?? createLogger({ level: config.log_level });
  const clock = options.clock ?? systemClock;
  const random = options.random ?? new CryptoRandom();
  // Reads TLS files and runs createPresenceB2B's checks: a bad option is a ConfigError, thrown before anything binds.
  const b2bOptions = b2bOptionsFromConfig(config);
  // http.tls files are read and checked before anything binds, as the SIP ones.
  const httpTls = config.http.enabled ? httpTlsFromConfig(config) : undefined;
  // The store next, still before anything binds: a bad file stops the start here (exit 2).
  const clusterSpec = clusterSpecOf(config);
  if (clusterSpec !== undefined && options.store !== undefined && !(options.store instanceof PostgresSubscriptionStore)) {
    throw new ConfigError([{ path: 'cluster', message: 'needs the PostgreSQL store (the nodes share the database)' }]);
  }
  const ownStore = options.store === undefined;
  const store =
    options.store ??
    (clusterSpec !== undefined
      ? // Shared by the nodes (no one-daemon lock), each API subscription change announced to them.
        await PostgresSubscriptionStore.open({ url: clusterSpec.url, shards: clusterSpec.shards, exclusive: false, announce: true })
      : await openStoreAsync(config.store));
  const closeStore = async (): Promise<void> => {
    if (ownStore) await store.close().catch((error: unknown) => logger.warn({ err: error }, 'store close failed'));
  };
  let stored: StoreContents;
  try {
    stored = await store.load();
    // A cluster node makes only what its shards hold, once it holds them (ClusterNode): nothing is resumed at start.
    if (clusterSpec !== undefined) stored = { queues: stored.queues, apiSubscriptions: [], dialogs: [] };
  } catch (error) {
    await closeStore();
    throw error;
  }
  logger.info(
    { store: store.kind, location: store.location ?? null, subscriptions: stored.apiSubscriptions.length, queues: stored.queues.length, dialogs: stored.dialogs.length },
    'store opened',
  );
  let hep: HepExporter | undefined;
  if (config.hep !== undefined) {
    try {
      const { address, port, capture_id: captureId, password } = config.hep;
      hep = await HepExporter.start({ address, port, captureId, clock, ...(password !== undefined ? { password } : {}) });
    } catch (error) {
      await closeStore();
      throw error;
    }
    logger.info({ hep: hep.destination, captureId: config.hep.capture_id }, 'HEP capture export on');
  }
  // Whatever the layers below catch instead of crashing is logged and counted here (GET /metrics).
  const errors = new DaemonErrorReporter(logger);
  const scheduler = new TimerScheduler(clock, { onError: errors.timerError });
  const broker = new QsaBroker({
    clock,
    random,
    onNotifierError: errors.notifierError,
    keptBodyCompactionMs: config.kept_body_compaction_ms,
  });
  let cluster: ClusterNode | undefined;
  if (clusterSpec !== undefined) {
    try {
      cluster = await ClusterNode.open({
        nodeId: clusterSpec.nodeId,
        leaseTtlMs: clusterSpec.leaseTtlMs,
        store: store as PostgresSubscriptionStore,
        url: clusterSpec.url,
        scheduler,
        random,
        logger,
      });
    } catch (error) {
      scheduler.close();
      await hep?.close();
      await closeStore();
      throw error;
    }
  }

  let b2b: PresenceB2B;
  try {
    b2b = await createPresenceB2B({
      ...b2bOptions,
      qsa: broker,
      clock,
      random,
      scheduler,
      store,
      // Read once: the dialogs of the last run, resumed in-dialog as their subscriptions come back (below).
      resumeFrom: stored.dialogs,
      onSnapshotError: (error) => logger.error({ err: error }, 'dialog snapshots not stored (retried at the next tick)'),
      ...(cluster !== undefined ? { writeDialogs: cluster.writeDialogs, holds: cluster.holds } : {}),
      onTransportDiagnostic: errors.transportDiagnostic,
      onUserAgentError: errors.userAgentError,
      ...(hep !== undefined ? { observer: hep } : {}),
    });
  } catch (error) {
    // createPresenceB2B closed its own sockets; the scheduler and the store are ours.
    await cluster?.stop();
    scheduler.close();
    await hep?.close();
    await closeStore();
    // A socket that cannot be bound is named by its configuration key (one line from `start`).
    throw sipListenError(error, config.sip.listen) ?? error;
  }
  const cleanups: Array<() => void | Promise<void>> = [];
  // Closed last of all (cleanups run in reverse): the B2BUA's final unSUBSCRIBEs are captured too.
  if (hep !== undefined) cleanups.push(() => hep.close());
  // The kept bodies' compaction timer is the broker's own (the B2BUA stops only a broker it made).
  cleanups.push(() => broker.stopCompaction());
  let agent: LocalAgentHandle | undefined;
  let rls: ResourceListServer | undefined;
  try {
    const sip = b2b.transport.listening().map((l) => ({ transport: l.transport, host: l.host, port: l.port }));
    logger.info({ sip }, 'SIP listening');

    if (config.local_agent.enabled) {
      const userAgents = userAgentSourcesFromConfig(config.local_agent);
      agent = startLocalAgent({ b2b, broker, scheduler, random, domains: config.local_agent.domains, userAgents });
      logger.info({ domains: agent.agent.servedDomains(), userAgents: Object.keys(userAgents).length }, 'local presence agent serving');
    }
    if (Object.keys(config.resource_lists).length > 0) {
      const localAgent = agent?.agent;
      rls = startResourceLists({
        b2b,
        broker,
        scheduler,
        random,
        config,
        ...(localAgent !== undefined ? { others: (incoming) => localAgent.handleSubscribe(incoming) } : {}),
      });
      logger.info({ lists: rls.listUris() }, 'resource list server serving');
    }

    let httpApi: HttpApi | undefined;
    const metrics = new DaemonMetrics({
      dialogsByState: () => b2b.engine.countByState(),
      subscriptionsByState: () => {
        const counts: Record<string, number> = {};
        for (const s of broker.subscriptions()) {
          const state = s.lastState ?? 'none';
          counts[state] = (counts[state] ?? 0) + 1;
        }
        return counts;
      },
      engineStats: () => b2b.engine.stats,
      statusMessages: () => broker.messagesQueued,
      queues: () => hub.totals(),
      sseClients: () => httpApi?.sseClients ?? 0,
      transportStats: () => b2b.transport.stats,
      internalErrors: () => errors.internalErrors,
      transportDiagnostics: () => errors.transportDiagnostics,
      localAgentStats: () => agent?.agent.stats,
    });
    const tracker = new NotifyLatencyTracker(clock, (seconds) => metrics.observeNotifyLatency(seconds));
    cleanups.push(() => tracker.close());
    // Cluster mode: statuses go through the database to the SSE clients of every node.
    const relay = await startRelayedQueues({
      config,
      store,
      scheduler,
      requested: options.statusRelay === true,
      onError: (error, what) => logger.error({ err: error, what }, 'status relay: retried'),
    });
    if (relay !== undefined) {
      cleanups.push(() => relay.close());
      logger.info({ keep: config.http.sse_buffer }, 'status relay on: queues numbered and delivered through the store');
    }
    // The consumer of every named queue: measure, log per subscription, then the SSE ring.
    const hub = new QueueHub({
      ...(relay !== undefined ? { relay } : {}),
      broker,
      store,
      ringSize: config.http.sse_buffer,
      onMessage: (message) => {
        tracker.taken(message);
        subscriptions.logStatus(message);
      },
      onStoreError: (error) => logger.error({ err: error }, 'event-id reservation not stored'),
      onError: errors.queueConsumerError,
    });
    cleanups.push(() => hub.close());
    const subscriptions = new SubscriptionService(broker, hub, b2b.engine, logger, store, cluster?.placement(clock));
    // The desired state of the last run, before the API takes requests: same ids, same queues,
    // event ids above those handed out before. (After the local agent: it must answer its domains.)
    // Relayed: an SSE client may ask for a queue made on another node, or resume after another node's id.
    if (relay !== undefined) subscriptions.resumeEvents = async (queue) => (await hub.resume(queue))?.ring;
    await hub.restore(stored.queues);
    const restored = await subscriptions.restore(stored.apiSubscriptions);
    const restart = b2b.engine.restartStats;
    // Claimed dialogs resume in-dialog (paced by max_subscribe_rate); unclaimed ones are unSUBSCRIBEd after resume_grace.
    logger.info({ subscriptions: restored, queues: stored.queues.length, dialogsStored: restart.stored, dialogsClaimed: restart.claimed }, 'subscriptions restored');
    if (cluster !== undefined) {
      const node = cluster;
      cleanups.push(() => node.stop());
      // Joins (a second live process with this node id stops the start here), then takes shards from its next round.
      await node.start({ b2b, broker, subscriptions });
    }

    const onState = (payload: unknown): void => {
      if (logger.isLevelEnabled('debug')) logger.debug({ dialog: payload }, 'dialog state');
    };
    diagnosticsChannel.subscribe(ENGINE_CHANNEL_STATE, onState);
    cleanups.push(() => {
      diagnosticsChannel.unsubscribe(ENGINE_CHANNEL_STATE, onState);
    });
    // notify_source_check: each NOTIFY from an address its dialog does not expect (counted in the engine's stats).
    const onNotifySource = (payload: unknown): void => {
      const event = payload as EngineNotifySourceEvent;
      logger.warn(
        { subscriber: event.subscriber, record: event.record, callId: event.callId, source: event.source, expected: event.expected, action: event.action },
        event.action === 'rejected' ? 'NOTIFY from an unexpected address refused (403)' : 'NOTIFY from an unexpected address accepted (notify_source_check: log)',
      );
    };
    diagnosticsChannel.subscribe(ENGINE_CHANNEL_NOTIFY_SOURCE, onNotifySource);
    cleanups.push(() => {
      diagnosticsChannel.unsubscribe(ENGINE_CHANNEL_NOTIFY_SOURCE, onNotifySource);
    });

    let httpAddress: { host: string; port: number } | undefined;
    if (config.http.enabled) {
      const presentities: PresentityPublisher | undefined = agent;
      const statusFeed = new StatusFeed(subscriptions, scheduler);
      cleanups.push(() => statusFeed.close());
      const tls = httpTls;
      httpApi = createHttpApi({
        statusFeed,
        ...(tls !== undefined ? { tls } : {}),
        limits: {
          maxSubscriptions: config.http.max_subscriptions,
          maxQueues: config.http.max_queues,
          maxSseClients: config.http.max_sse_clients,
          maxBodyBytes: config.http.max_body,
          rateLimit: { requestsPerSecond: config.http.rate_limit.requests_per_second, burst: config.http.rate_limit.burst },
        },
        counts: () => ({ subscriptions: broker.size, queues: hub.totals().count }),
        subscriptions,
        ...(presentities !== undefined ? { presentities } : {}),
        metrics,
        ...(config.http.token !== undefined ? { token: config.http.token } : {}),
        scheduler,
        logger,
        version: DAEMON_VERSION,
        health: () => ({
          subscriptions: broker.size,
          dialogs: b2b.engine.size,
          localAgent: agent !== undefined,
          store: store.kind,
          ...(relay !== undefined ? { relay: { ...relay.relay.stats } } : {}),
          // What the last start did with the stored dialogs (issue 10).
          restart: { ...b2b.engine.restartStats },
          ...(cluster !== undefined ? { cluster: { ...clusterHealth(cluster), unsubscribesSent: b2b.engine.stats.unsubscribesSent } } : {}),
        }),
      });
      const api = httpApi;
      cleanups.push(() => api.close());
      try {
        httpAddress = await api.listen(config.http.host, config.http.port);
      } catch (error) {
        const failure = listenFailureOf(error);
        if (failure === undefined) throw error;
        throw new DaemonListenError(failure === 'not-local' ? 'http.host' : 'http.port', `http ${config.http.host}:${config.http.port}`, failure, error);
      }
      logger.info({ http: httpAddress, auth: config.http.token !== undefined, https: tls !== undefined }, 'HTTP API listening');
      const warning = plainHttpWarning(config);
      if (warning !== undefined) logger.warn({ http: httpAddress }, warning);
    }

    let closing: Promise<void> | undefined;
    const handle: DaemonHandle = {
      config,
      b2b,
      broker,
      metrics,
      subscriptions,
      store,
      logger,
      localAgent: agent?.agent,
      resourceLists: rls,
      sip,
      hep,
      http: httpAddress,
      cluster,
      close(mode = config.shutdown.mode) {
        closing ??= (async () => {
          const started = clock.now();
          let dialogsLeft = 0;
          logger.info({ mode, timeoutMs: config.shutdown.timeout_ms, subscriptions: broker.size, dialogs: b2b.engine.size }, 'shutting down');
          // Stop taking requests first: nothing new may start while we unsubscribe.
          if (httpApi !== undefined) await httpApi.close().catch((error: unknown) => logger.warn({ err: error }, 'HTTP close failed'));
          // A cluster node hands its shards over at once (snapshots written, dialogs left to the next owner, leases
          // released), whatever shutdown.mode says: the subscriptions live on in the cluster.
          await cluster?.stop().catch((error: unknown) => logger.warn({ err: error }, 'cluster: stop failed (the leases expire instead)'));
          if (mode === 'unsubscribe') {
            const n = subscriptions.removeAll();
            logger.info({ subscriptions: n }, 'unsubscribed');
            // List and agent watchers hear `terminated;reason=deactivated` while the sockets are still open.
            rls?.stop();
            agent?.close();
            await b2b.close(config.shutdown.timeout_ms);
            const report = b2b.engine.closeReport;
            if (report !== undefined && report.unanswered + report.awaitingNotify + report.inFlight > 0) {
              // The servers that never answered keep those subscriptions until they expire.
              logger.warn({ ...report, timeoutMs: config.shutdown.timeout_ms }, 'shutdown: unSUBSCRIBEs left unanswered at shutdown.timeout_ms');
            }
          } else {
            dialogsLeft = b2b.engine.size;
            // Leave the dialogs to expire at the servers: their snapshots are written, then the
            // sockets close without a word; the next start resumes them in-dialog.
            await b2b.close(config.shutdown.timeout_ms, 'leave');
          }
          for (const cleanup of cleanups.reverse()) {
            try {
              await cleanup();
            } catch (error) {
              logger.warn({ err: error }, 'cleanup failed');
            }
          }
          scheduler.close();
          // Last: whatever the B2BUA flushed on its way out is in.
          await closeStore();
          // unsubscribe: what close() sent and what was never answered; leave: the dialogs left to expire at the servers.
          const report = b2b.engine.closeReport;
          logger.info(
            mode === 'unsubscribe' && report !== undefined
              ? { ms: Math.round(clock.now() - started), mode, ...report }
              : { ms: Math.round(clock.now() - started), mode, dialogsLeft },
            'stopped',
          );
        })();
        return closing;
      },
    };
    return handle;
  } catch (error) {
    // The start failed (e.g. the HTTP port is in use): undo what was done, report
    // anything that fails on the way at warn level, and rethrow the first error.
    const undo = async (what: string, step: () => void | Promise<void>): Promise<void> => {
      try {
        await step();
      } catch (cleanupError) {
        logger.warn({ err: cleanupError, step: what }, 'cleanup after a failed start failed');
      }
    };
    for (const cleanup of cleanups.reverse()) await undo('cleanup', cleanup);
    await undo('resource list server', () => rls?.stop());
    await undo('local agent', () => agent?.close());
    await undo('SIP', () => b2b.ua.close());
    scheduler.close();
    await closeStore();
    throw error;
  }
}
