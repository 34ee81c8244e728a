import { NodeDnsClient, StaticDnsClient } from '../sip/resolver/dns-client.js';
import type { DnsClient } from '../sip/resolver/dns-client.js';
import { Rfc3263Resolver } from '../sip/resolver/rfc3263-resolver.js';
import type { TransactionTimerSettings } from '../sip/transaction/types.js';
import { SipTransportLayer } from '../sip/transport/transport-layer.js';
import type { OverloadOptions, TransportDiagnostic } from '../sip/transport/transport-options.js';
import type { SipMessageObserver } from '../sip/transport/message-observer.js';
import type { ListenSpec } from '../sip/transport/types.js';
import type { SipRequest } from '../sip/codec/message.js';
import { SipUserAgentCore } from '../sip/ua/user-agent-core.js';
import type { IncomingRequest } from '../sip/transaction/types.js';
import { QsaBroker } from '../qsa/index.js';
import { DEFAULT_KEPT_BODY_COMPACTION_MS } from '../qsa/kept-body-store.js';
import { DialogSnapshotWriter } from '../store/dialog-snapshot-writer.js';
import { MemorySubscriptionStore } from '../store/memory-store.js';
import type { StoredDialog } from '../store/stored-dialog.js';
import type { DialogWriteBatch, SubscriptionStore } from '../store/subscription-store.js';
import type { CredentialLookup, DialogOwnership, PresenceEngine } from '../subscription/presence-engine.js';
import { type AttachedPresenceEngine, attachPresenceEngine } from './attach-presence-engine.js';
import { checkPresenceB2BOptions } from './presence-b2b-options-check.js';
import { DEFAULT_ENGINE_SETTINGS, type EngineSettings } from '../subscription/engine-options.js';
import { BUILTIN_EVENT_PACKAGES, BUILTIN_PACKAGE_NAMES } from '../subscription/builtin-packages.js';
import { EVENTLIST } from '../subscription/notify-reader.js';
import { type Clock, systemClock } from '../util/clock.js';
import { CryptoRandom, type Random } from '../util/random.js';
import { TimerScheduler } from '../util/timer-scheduler.js';

/**
 * Options of `createPresenceB2B`. The seed's parameters keep their meaning and
 * default under camelCase names (default_expiration → defaultExpiration, …).
 */
export interface PresenceB2BOptions extends Partial<EngineSettings> {
  /** SIP listening sockets; default UDP and TCP on 127.0.0.1:5060. */
  listen?: ListenSpec[];
  /** A QSA broker to plug into (the daemon shares one with the local presence agent); a new one by default. */
  qsa?: QsaBroker;
  /** Digest credentials per subscriber (and realm), for 401/407 challenges. */
  credentials?: CredentialLookup;
  /** Static host table for the resolver (name → addresses), checked before DNS. */
  hosts?: Record<string, string[]>;
  /** A DNS client; NodeDnsClient by default. */
  dns?: DnsClient;
  /** RFC 3261 timer values in ms (T1, T2, T4). */
  timers?: Partial<TransactionTimerSettings>;
  /** Limits of the SIP transport against peers that hold or flood it (docs/hostile-input.md); each has a default. */
  sipLimits?: SipLimits;
  /**
   * Load shedding: while the UDP receive backlog is over `backlogLimitBytes`
   * (`auto`: half the UDP receive buffer), new requests are answered 503 with
   * `Retry-After: retryAfterSeconds` (docs/hostile-input.md, "Floods"). Off
   * unless given (the daemon turns it on).
   */
  overload?: Pick<OverloadOptions, 'backlogLimitBytes' | 'retryAfterSeconds'>;
  /**
   * Outgoing TLS: `ca` (PEM) replaces the system's trusted CAs; `verify`
   * (default true) checks the server's certificate and its identity (RFC 5922).
   * A certificate that fails is SIP_ERR_TRANSPORT_TLS_VERIFY below and
   * `B2B_ERR_TLS_CERTIFICATE` in the subscriber's status: never a silent connection.
   * Without `ca`, the `ca` of the first TLS `listen` entry is used, if any.
   */
  tlsClient?: { ca?: string | Buffer; verify?: boolean };
  userAgent?: string;
  clock?: Clock;
  random?: Random;
  /**
   * For the broker made here (without `qsa`): ms a subscription's last status
   * body stays unchanged before it is kept compacted against a frame, off the
   * NOTIFY path (reads give the same bytes); 0 = never. Default
   * DEFAULT_KEPT_BODY_COMPACTION_MS (src/qsa/kept-body-store.ts).
   */
  keptBodyCompactionMs?: number;
  /** Scheduler shared with other components; one is made on `clock` by default. */
  scheduler?: TimerScheduler;
  /**
   * Where dialog snapshots go for in-dialog resume after a restart (issue 10,
   * docs/persistence.md): any SubscriptionStore, e.g.
   * `SqliteSubscriptionStore.open(file)`. With one, the engine stores each
   * confirmed dialog (at most a second behind, one transaction per second),
   * reads the snapshots once at start, and resumes each when a subscription
   * of its identity (package, record, subscriber) comes; those nobody claims
   * within `resumeGrace` seconds are unSUBSCRIBEd. Without one nothing is
   * persisted (a MemorySubscriptionStore is made, for `b2b.store`). A store
   * passed in stays the caller's to close; the default one is closed by `close()`.
   */
  store?: SubscriptionStore;
  /**
   * The dialog snapshots of `store` when the caller has read it already (the
   * daemon reads the store once at start); read from `store` when absent.
   */
  resumeFrom?: readonly StoredDialog[];
  /** Told when a batch of dialog snapshots could not be written (it is retried at the next tick). */
  onSnapshotError?: (error: unknown) => void;
  /**
   * How the snapshot writer writes a batch, instead of `store.writeDialogs`
   * (cluster mode: the fenced write, docs/cluster.md §4).
   */
  writeDialogs?: (batch: DialogWriteBatch) => Promise<void>;
  /**
   * Cluster mode: whether this node still owns the dialog of (package,
   * record, subscriber), asked before each SUBSCRIBE the engine would send on
   * its own (PresenceEngineDeps.holds: `'unconfirmed'` makes it wait). Always true without it.
   */
  holds?: (pkg: string, record: string, subscriber: string, members: readonly string[]) => DialogOwnership;
  /**
   * Told about everything worth logging below the transactions: malformed
   * messages dropped or answered 400, socket and send errors, connections
   * opened and closed, exceptions thrown into the transport by the layers above.
   */
  onTransportDiagnostic?: (event: TransportDiagnostic) => void;
  /**
   * Told about exceptions the user-agent core caught: in a request handler
   * (`handler`, the request was answered 500; `request` is the one being
   * handled) or in a callback of an outgoing request or transaction (`callback`).
   */
  onUserAgentError?: (error: unknown, where: 'handler' | 'callback', request?: SipRequest) => void;
  /**
   * Told of every SIP message sent and received (octets, transport, real
   * addresses): packet capture, e.g. a `HepExporter` towards Homer. None by default.
   */
  observer?: SipMessageObserver;
  /**
   * The event packages the B2BUA answers QSA subscriptions for, among
   * `presence` (RFC 3856), `reg` (RFC 3680) and `dialog` (RFC 4235); all three
   * by default. One engine serves them all; each gets its QSA notifier
   * registration (see `qsa.servedPackages()`).
   */
  packages?: readonly string[];
  /**
   * Records (SIP URIs, compared as written) that are resource lists
   * (RFC 4662): subscribed to with `Supported: eventlist` and Accept
   * `multipart/related, application/rlmi+xml` and the package's type; each
   * member's state becomes a status message of its own (`record` = the
   * member, `list` = the list). Needed for servers that answer a list
   * SUBSCRIBE without `Supported: eventlist` with an error other than 421
   * (Kamailio: 404); any other record becomes a list when a 421 or a 2xx says
   * `Require: eventlist`.
   */
  resourceListRecords?: readonly string[];
}

/** See PresenceB2BOptions.sipLimits. */
export interface SipLimits {
  /** Most TCP+TLS connections open at once, inbound and outbound (default unlimited; the daemon: 1024). */
  maxConnections?: number;
  /** A TCP/TLS connection without traffic for this long is closed (default 300000 ms). */
  idleTimeoutMs?: number;
  /** A TCP/TLS peer must send a whole message within this long of its first octet (default 10000 ms; 0 = no limit). */
  messageTimeoutMs?: number;
  /** Largest message per transport, octets (default 65535 each). */
  maxMessageBytes?: Partial<Record<'udp' | 'tcp' | 'tls', number>>;
  /**
   * SO_RCVBUF asked for each UDP socket, octets (default 4 MiB; 0 = the kernel's default). The kernel
   * caps it at net.core.rmem_max and doubles it for its bookkeeping; a 1.3 KB NOTIFY takes about
   * 2.3 KB of it, so 8 MiB granted hold about 3,600 NOTIFYs (docs/latency-tail.md,
   * "Between the socket and the NOTIFY path").
   */
  udpReceiveBufferBytes?: number;
}

/** A running B2BUA. */
export interface PresenceB2B {
  /** The Query Status API: `qsa.subscribe({ record, subscriber, queue })`. */
  readonly qsa: QsaBroker;
  /** The equivalent of SER's handle_notify(): 1 = handled (answered), -1 = not ours. */
  handleNotify(incoming: IncomingRequest): 1 | -1;
  /** The subscription engine, for inspection (`engine.list()`, `engine.stats`). */
  readonly engine: PresenceEngine;
  /** The store given in the options, or the default memory store. */
  readonly store: SubscriptionStore;
  readonly ua: SipUserAgentCore;
  readonly transport: SipTransportLayer;
  /**
   * Writes the dialog snapshots pending now (cluster mode: before shards are
   * released, so that their new owner resumes from the latest state).
   */
  flushSnapshots(): Promise<void>;
  /**
   * `unsubscribe` (the default): unsubscribes everything within `boundMs`,
   * then closes the sockets; the dialogs' snapshots are deleted with them.
   * `leave`: writes the pending snapshots, then closes the sockets without a
   * word: the servers keep the dialogs until they expire, and the next start
   * with the same store resumes them.
   */
  close(boundMs?: number, mode?: 'unsubscribe' | 'leave'): Promise<void>;
}

/**
 * Starts a presence B2BUA: binds its SIP sockets and registers as the QSA
 * notifier for its event packages (`presence`, `reg`, `dialog`). Every option is checked first: a bad one throws
 * InvalidOptionError (`B2B_ERR_INVALID_OPTION`, naming it) before any socket
 * is bound. A start that fails later (a port in use) closes what it opened
 * and rejects with the cause (a SipTransportError for a socket).
 */
export async function createPresenceB2B(options: PresenceB2BOptions = {}): Promise<PresenceB2B> {
  checkPresenceB2BOptions(options);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? new CryptoRandom();
  const settings: EngineSettings = { ...DEFAULT_ENGINE_SETTINGS };
  for (const key of Object.keys(DEFAULT_ENGINE_SETTINGS) as Array<keyof EngineSettings>) {
    const value = options[key];
    if (value !== undefined) (settings as unknown as Record<string, unknown>)[key] = value;
  }
  if (options.timers?.t1 !== undefined) settings.t1Ms = options.timers.t1;
  const scheduler = options.scheduler ?? new TimerScheduler(clock);
  const listen = options.listen ?? [
    { transport: 'udp', host: '127.0.0.1', port: 5060 },
    { transport: 'tcp', host: '127.0.0.1', port: 5060 },
  ];
  const limits = options.sipLimits ?? {};
  // The engine is made after the transport has started; the transport's overload events reach it from then on.
  let engineOfOverload: PresenceEngine | undefined;
  const transport = new SipTransportLayer({
    listen,
    scheduler,
    random,
    tlsClient: tlsClientSettings(options.tlsClient, listen),
    ...(limits.maxConnections !== undefined ? { maxConnections: limits.maxConnections } : {}),
    ...(limits.idleTimeoutMs !== undefined ? { idleTimeoutMs: limits.idleTimeoutMs } : {}),
    ...(limits.messageTimeoutMs !== undefined ? { messageTimeoutMs: limits.messageTimeoutMs } : {}),
    ...(limits.maxMessageBytes !== undefined ? { maxMessageBytes: limits.maxMessageBytes } : {}),
    ...(limits.udpReceiveBufferBytes !== undefined ? { udpReceiveBufferBytes: limits.udpReceiveBufferBytes } : {}),
    ...(options.overload !== undefined ? { overload: { ...options.overload } } : {}),
    onDiagnostic: (event) => {
      // After an overload period every dialog is refreshed: its server may have dropped it meanwhile (PresenceEngine.overloadEnded).
      if (event.kind === 'overload-started') engineOfOverload?.overloadStarted();
      else if (event.kind === 'overload-ended') engineOfOverload?.overloadEnded();
      options.onTransportDiagnostic?.(event);
    },
    ...(options.observer !== undefined ? { observer: options.observer } : {}),
  });
  try {
    // The transport closes its own sockets when one of them fails to bind.
    await transport.start();
  } catch (error) {
    if (options.scheduler === undefined) scheduler.close();
    throw error;
  }
  const qsa = options.qsa ?? new QsaBroker({ clock, random, keptBodyCompactionMs: options.keptBodyCompactionMs ?? DEFAULT_KEPT_BODY_COMPACTION_MS });
  const store = options.store ?? new MemorySubscriptionStore();
  let ua: SipUserAgentCore | undefined;
  let attached: AttachedPresenceEngine;
  let snapshots: DialogSnapshotWriter | undefined;
  try {
    // Persistence only with a store given: the default memory store could not outlive the process anyway.
    let stored: readonly StoredDialog[] = [];
    if (options.store !== undefined) {
      stored = options.resumeFrom ?? (await store.load()).dialogs;
      snapshots = new DialogSnapshotWriter({
        store,
        scheduler,
        ...(options.onSnapshotError !== undefined ? { onError: options.onSnapshotError } : {}),
        ...(options.writeDialogs !== undefined ? { write: options.writeDialogs } : {}),
      });
    }
    const dns = options.dns ?? new NodeDnsClient();
    const resolver = new Rfc3263Resolver({ dns, random, clock, ...(options.hosts ? { hosts: options.hosts } : {}) });
    ua = new SipUserAgentCore({
      transport,
      resolver,
      scheduler,
      random,
      // RFC 4662: resource list NOTIFYs carry `Require: eventlist`; without it they would get 420.
      supportedExtensions: [EVENTLIST],
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.userAgent ? { userAgentHeader: options.userAgent } : {}),
      ...(options.onUserAgentError !== undefined ? { onError: options.onUserAgentError } : {}),
    });
    attached = attachPresenceEngine({
      ua,
      broker: qsa,
      scheduler,
      random,
      settings,
      packages: BUILTIN_EVENT_PACKAGES.filter((p) => (options.packages ?? BUILTIN_PACKAGE_NAMES).includes(p.name)),
      resourceListRecords: options.resourceListRecords ?? [],
      ...(options.credentials ? { credentials: options.credentials } : {}),
      ...(snapshots !== undefined ? { snapshots, stored } : {}),
      ...(options.holds !== undefined ? { holds: options.holds } : {}),
    });
  } catch (error) {
    // Nothing may stay bound after a failed start: close the sockets (through the UA when there is one).
    await (ua ?? transport).close();
    if (options.scheduler === undefined) scheduler.close();
    if (options.store === undefined) await store.close();
    throw error;
  }
  const userAgent = ua;
  const engine = attached.engine;
  engineOfOverload = engine;
  let closing: Promise<void> | undefined;
  return {
    qsa,
    engine,
    store,
    ua: userAgent,
    transport,
    handleNotify: (incoming) => engine.handleNotify(incoming),
    async flushSnapshots() {
      await snapshots?.flush();
    },
    close(boundMs = 5000, mode = 'unsubscribe') {
      // Every caller waits for the same shutdown (a second call used to resolve at once, mid-shutdown).
      closing ??= (async () => {
        if (mode === 'leave') {
          // The snapshots first (the dialogs stay at their servers), then forget the dialogs here.
          await snapshots?.close().catch((error: unknown) => options.onSnapshotError?.(error));
          attached.abandon();
        } else {
          await attached.detach(boundMs);
          // The unSUBSCRIBEd dialogs' snapshots are deleted in the store before it closes.
          await snapshots?.close().catch((error: unknown) => options.onSnapshotError?.(error));
        }
        await userAgent.close();
        if (options.scheduler === undefined) scheduler.close();
        if (options.qsa === undefined) qsa.stopCompaction();
        if (options.store === undefined) await store.close();
      })();
      return closing;
    },
  };
}

/**
 * The transport's outgoing TLS settings: verification on unless `verify` is
 * false (it no longer follows a listener's `rejectUnauthorized`, which is
 * about client certificates of inbound connections); the CA given, else the
 * first TLS listener's.
 */
function tlsClientSettings(given: PresenceB2BOptions['tlsClient'], listen: readonly ListenSpec[]): { ca?: string | Buffer; rejectUnauthorized: boolean } {
  const ca = given?.ca ?? listen.find((l) => l.transport === 'tls' && l.tls?.ca !== undefined)?.tls?.ca;
  return { ...(ca !== undefined ? { ca } : {}), rejectUnauthorized: given?.verify ?? true };
}

export { StaticDnsClient };
