import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LocalPresenceAgentStats } from '../agent/agent-stats.js';
import type { TransportStats } from '../sip/transport/transport-options.js';
import type { EngineStats } from '../subscription/presence-engine.js';

/** What the metrics read at scrape time; the daemon wires it to the engine, the broker and the HTTP API. */
export interface MetricsSources {
  /** Dialog count per engine state (waiting, subscribing, active, …). */
  dialogsByState(): Record<string, number>;
  /** Internal (QSA) subscriptions per state of their last status message ('none' before the first). */
  subscriptionsByState(): Record<string, number>;
  engineStats(): EngineStats;
  /** Status messages queued by the QSA broker since the start, whichever notifier reported them. */
  statusMessages(): number;
  /**
   * The named queues the daemon serves over HTTP, all together: how many, the
   * messages waiting in them, the messages they dropped since the start (never
   * decreasing). No per-queue figures: clients choose queue names, so a
   * per-queue label would grow without bound.
   */
  queues(): { count: number; depth: number; dropped: number; coalesced: number };
  /** Open Server-Sent Events streams. */
  sseClients(): number;
  /** Counters of the local presence agent, when it runs. */
  localAgentStats?(): LocalPresenceAgentStats | undefined;
  /** SIP transport counters, when available. */
  transportStats?(): TransportStats;
  /** Exceptions of our own code that were caught, per component (a closed list of labels). */
  internalErrors?(): Record<string, number>;
  /** Transport diagnostics per kind (a closed list of labels). */
  transportDiagnostics?(): Record<string, number>;
}

/** Every dialog state, so that a state with no dialog reads 0 instead of vanishing. */
const DIALOG_STATES = ['waiting', 'subscribing', 'active', 'refreshing', 'unsubscribing', 'terminating', 'final'];
const STATUS_STATES = ['none', 'pending', 'active', 'rejected', 'terminated'];
const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;

/** A counter that mirrors one number read at scrape time. */
function counter(registers: Registry[], name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

/**
 * The daemon's Prometheus metrics, in a registry of their own (nothing is
 * registered globally). Prometheus conventions: one metric per thing counted
 * (a label only splits that thing, e.g. `result="accepted|rejected"`, and
 * its values form a closed list), counters end in `_total`, no label takes
 * values that clients choose. Counters mirror the engine's own counters at scrape
 * time; the only value fed from outside is the NOTIFY-to-queue latency
 * (`observeNotifyLatency`).
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly notifyLatency: Histogram;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: 'presence_b2b_dialogs',
      help: 'SIP subscription dialogs of the B2BUA per state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const counts = sources.dialogsByState();
        for (const state of DIALOG_STATES) this.set({ state }, counts[state] ?? 0);
        for (const [state, n] of Object.entries(counts)) if (!DIALOG_STATES.includes(state)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'presence_b2b_subscriptions',
      help: 'Internal (QSA) subscriptions per state of their last status message',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const counts = sources.subscriptionsByState();
        for (const state of STATUS_STATES) this.set({ state }, counts[state] ?? 0);
        for (const [state, n] of Object.entries(counts)) if (!STATUS_STATES.includes(state)) this.set({ state }, n);
      },
    });
    new Counter({
      name: 'presence_b2b_subscribe_requests_total',
      help: 'SUBSCRIBE requests sent (initial, refresh and unsubscribe)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.engineStats().subscribesSent);
      },
    });
    new Counter({
      name: 'presence_b2b_subscribe_responses_total',
      help: 'Final and provisional responses to our SUBSCRIBEs per class (locally generated 408/503 included)',
      labelNames: ['class'],
      registers,
      collect() {
        this.reset();
        const responses = sources.engineStats().responses;
        for (const cls of RESPONSE_CLASSES) this.inc({ class: cls }, responses[cls]);
      },
    });
    new Counter({
      name: 'presence_b2b_notify_requests_total',
      help: 'NOTIFY requests received: accepted (200), rejected (481/489/500 in one of our dialogs), unmatched (no dialog: 481)',
      labelNames: ['result'],
      registers,
      collect() {
        this.reset();
        const s = sources.engineStats();
        this.inc({ result: 'accepted' }, s.notifiesAccepted);
        this.inc({ result: 'rejected' }, s.notifiesRejected);
        this.inc({ result: 'unmatched' }, s.notifiesUnmatched);
      },
    });
    counter(
      registers,
      'presence_b2b_notifies_after_unsubscribe_total',
      'Of the accepted NOTIFYs, those other than terminated that came after the application ended the subscription: answered 200, delivered to nobody (a state change crossing the unsubscribe)',
      () => sources.engineStats().notifiesAfterUnsubscribe,
    );
    counter(
      registers,
      'presence_b2b_notify_source_mismatches_total',
      "NOTIFYs of one of our dialogs from an address it does not expect them from (notify_source_check log or reject)",
      () => sources.engineStats().notifySourceMismatches,
    );
    counter(
      registers,
      'presence_b2b_refreshes_after_overload_total',
      'In-dialog refreshes sent after an overload period (requests shed with 503), to find the subscriptions a server dropped meanwhile and its current state',
      () => sources.engineStats().refreshesAfterOverload,
    );
    counter(
      registers,
      'presence_b2b_confirming_refreshes_total',
      'In-dialog refreshes brought forward because our answers may not have reached the server (a NOTIFY came again after we answered it, or the SUBSCRIBE making the dialog was answered only after two retransmissions)',
      () => sources.engineStats().confirmingRefreshes,
    );
    counter(
      registers,
      'presence_b2b_status_messages_total',
      'Status messages delivered to QSA queues, whichever notifier reported them (the B2BUA, the local presence agent, the resource list server)',
      () => sources.statusMessages(),
    );
    new Counter({
      name: 'presence_b2b_subscription_failures_total',
      help: 'Subscription attempts that ended in an error reported to the subscribers',
      registers,
      collect() {
        this.reset();
        this.inc(sources.engineStats().failures);
      },
    });
    new Gauge({
      name: 'presence_b2b_queues',
      help: 'Named queues served by the HTTP API',
      registers,
      collect() {
        this.set(sources.queues().count);
      },
    });
    new Gauge({
      name: 'presence_b2b_queued_messages',
      help: 'Status messages waiting in the named queues of the HTTP API, all queues together (the daemon drains them at once: normally 0)',
      registers,
      collect() {
        this.set(sources.queues().depth);
      },
    });
    new Counter({
      name: 'presence_b2b_queue_dropped_messages_total',
      help: 'Status messages a full named queue dropped, all queues together',
      registers,
      collect() {
        this.reset();
        this.inc(sources.queues().dropped);
      },
    });
    new Counter({
      name: 'presence_b2b_queue_coalesced_messages_total',
      help: 'Status messages a full named queue merged into a newer one of the same subscription, all queues together (the consumer falls behind)',
      registers,
      collect() {
        this.reset();
        this.inc(sources.queues().coalesced);
      },
    });
    new Gauge({
      name: 'presence_b2b_sse_clients',
      help: 'Open Server-Sent Events streams',
      registers,
      collect() {
        this.set(sources.sseClients());
      },
    });
    const transportStats = sources.transportStats;
    if (transportStats !== undefined) {
      counter(registers, 'presence_b2b_sip_messages_received_total', 'SIP messages received by the transport layer (malformed ones included, keep-alives not)', () => transportStats().received);
      counter(registers, 'presence_b2b_sip_messages_sent_total', 'SIP messages sent by the transport layer (retransmissions and stateless 400s included)', () => transportStats().sent);
      new Counter({
        name: 'presence_b2b_sip_malformed_messages_total',
        help: 'SIP messages received that did not parse, by what was done: answered_400 (a request answered with a stateless 400) or dropped (a response, a request without a usable Via, a stream framing error)',
        labelNames: ['action'],
        registers,
        collect() {
          this.reset();
          const t = transportStats();
          this.inc({ action: 'answered_400' }, t.badRequestsAnswered);
          this.inc({ action: 'dropped' }, t.malformedResponsesDropped + t.malformedDropped);
        },
      });
      counter(registers, 'presence_b2b_sip_send_errors_total', 'SIP messages the transport layer could not send (no route, connection refused or closed, socket error)', () => transportStats().sendErrors);
      counter(registers, 'presence_b2b_sip_connections_opened_total', 'TCP/TLS connections opened, inbound and outbound', () => transportStats().connectionsOpened);
      counter(registers, 'presence_b2b_sip_connections_closed_total', 'TCP/TLS connections closed, inbound and outbound', () => transportStats().connectionsClosed);
      counter(registers, 'presence_b2b_sip_requests_shed_total', 'Requests answered 503 with Retry-After, unprocessed, while the UDP receive backlog was over sip.overload.backlog_limit', () => transportStats().requestsShed);
      counter(registers, 'presence_b2b_sip_oversize_messages_total', 'SIP messages over sip.max_message_size of their transport (a datagram answered 513, a connection closed)', () => transportStats().oversizeMessages);
      counter(registers, 'presence_b2b_sip_message_timeouts_total', 'TCP/TLS connections closed because a message did not arrive whole within sip.message_timeout', () => transportStats().messageTimeouts);
    }
    const transportDiagnostics = sources.transportDiagnostics;
    if (transportDiagnostics !== undefined) {
      counter(registers, 'presence_b2b_sip_socket_errors_total', 'Errors reported by a listening SIP socket or a connection (logged at warn level)', () => transportDiagnostics().socket_error ?? 0);
      counter(registers, 'presence_b2b_sip_connections_rejected_total', 'Inbound TCP/TLS connections refused because the connection limit was reached', () => transportDiagnostics().connection_rejected ?? 0);
    }
    const internalErrors = sources.internalErrors;
    if (internalErrors !== undefined) {
      new Counter({
        name: 'presence_b2b_internal_errors_total',
        help: 'Exceptions thrown by our own code and caught (logged at error level), by the component that caught them: transport, request_handler, response_callback, notifier, timer, queue_consumer',
        labelNames: ['component'],
        registers,
        collect() {
          this.reset();
          for (const [component, n] of Object.entries(internalErrors())) this.inc({ component }, n);
        },
      });
    }
    const agentStats = sources.localAgentStats;
    if (agentStats !== undefined) {
      const agent = (read: (stats: LocalPresenceAgentStats) => number) => () => {
        const stats = agentStats();
        return stats === undefined ? 0 : read(stats);
      };
      new Counter({
        name: 'presence_b2b_local_agent_publishes_total',
        help: 'Publications the local presence agent took (SIP PUBLISH and HTTP PUT /v1/presentities), by result: accepted or rejected',
        labelNames: ['result'],
        registers,
        collect() {
          this.reset();
          this.inc({ result: 'accepted' }, agent((s) => s.publishesAccepted)());
          this.inc({ result: 'rejected' }, agent((s) => s.publishesRejected)());
        },
      });
      new Counter({
        name: 'presence_b2b_local_agent_subscribes_total',
        help: 'SUBSCRIBE requests the local presence agent answered, by result: accepted or rejected',
        labelNames: ['result'],
        registers,
        collect() {
          this.reset();
          this.inc({ result: 'accepted' }, agent((s) => s.subscribesAccepted)());
          this.inc({ result: 'rejected' }, agent((s) => s.subscribesRejected)());
        },
      });
      counter(registers, 'presence_b2b_local_agent_notifies_sent_total', 'NOTIFY requests the local presence agent sent to its watchers', agent((s) => s.notifiesSent));
      counter(registers, 'presence_b2b_local_agent_notify_failures_total', 'NOTIFY requests of the local presence agent answered with a non-2xx response or not at all', agent((s) => s.notifyFailures));
      counter(registers, 'presence_b2b_local_agent_publications_expired_total', 'Publications of the local presence agent that expired without a refresh', agent((s) => s.publicationsExpired));
      counter(registers, 'presence_b2b_local_agent_subscriptions_expired_total', 'Subscriptions to the local presence agent that expired without a refresh', agent((s) => s.subscriptionsExpired));
    }
    this.notifyLatency = new Histogram({
      name: 'presence_b2b_notify_to_queue_seconds',
      help: 'From a NOTIFY being accepted to its status message being taken from a named queue by the daemon',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
  }

  /** Records one NOTIFY-to-queue latency, in seconds. */
  observeNotifyLatency(seconds: number): void {
    if (Number.isFinite(seconds) && seconds >= 0) this.notifyLatency.observe(seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
