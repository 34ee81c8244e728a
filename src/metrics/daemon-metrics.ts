import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineStats } from '../subscription/presence-engine.js';

/** What the metrics read at scrape time; the daemon wires it to the engine, the broker and the HTTP API. */
export interface MetricsSources {
  /** Dialog count per engine state (waiting, subscribing, active, …). */
  dialogsByState(): Record<string, number>;
  /** Internal (QSA) subscriptions per state of their last status message ('none' before the first). */
  subscriptionsByState(): Record<string, number>;
  engineStats(): EngineStats;
  /** The named queues the daemon serves over HTTP. */
  queues(): Iterable<{ name: string; depth: number; dropped?: number }>;
  /** Open Server-Sent Events streams. */
  sseClients(): number;
  /** Counters of the local presence agent, when it runs (camelCase names become snake_case labels). */
  localAgentStats?(): Record<string, number> | undefined;
  /** SIP transport counters, when available. */
  transportStats?(): { received: number; sent: number; parseErrors: number; sendErrors: number };
  /** Exceptions of our own code that were caught, per component (a closed list of labels). */
  internalErrors?(): Record<string, number>;
  /** Transport diagnostics per kind (a closed list of labels). */
  transportDiagnostics?(): Record<string, number>;
}

/** Every dialog state, so that a state with no dialog reads 0 instead of vanishing. */
const DIALOG_STATES = ['waiting', 'subscribing', 'active', 'refreshing', 'unsubscribing', 'terminating', 'final'];
const STATUS_STATES = ['none', 'pending', 'active', 'rejected', 'terminated'];
const RESPONSE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;

/**
 * The daemon's Prometheus metrics, in a registry of their own (nothing is
 * registered globally). Counters mirror the engine's own counters at scrape
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
    new Counter({
      name: 'presence_b2b_status_messages_total',
      help: 'Status messages the engine put into QSA queues',
      registers,
      collect() {
        this.reset();
        this.inc(sources.engineStats().statusMessages);
      },
    });
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
      name: 'presence_b2b_queue_depth',
      help: 'Status messages waiting in each named queue served by the HTTP API',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const q of sources.queues()) this.set({ queue: q.name }, q.depth);
      },
    });
    new Counter({
      name: 'presence_b2b_queue_dropped_total',
      help: 'Status messages dropped by a full named queue',
      labelNames: ['queue'],
      registers,
      collect() {
        this.reset();
        for (const q of sources.queues()) if (q.dropped !== undefined) this.inc({ queue: q.name }, q.dropped);
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
      new Counter({
        name: 'presence_b2b_sip_messages_total',
        help: 'SIP messages through the transport layer: received, sent, unparsable, failed to send',
        labelNames: ['event'],
        registers,
        collect() {
          this.reset();
          const t = transportStats();
          this.inc({ event: 'received' }, t.received);
          this.inc({ event: 'sent' }, t.sent);
          this.inc({ event: 'parse_error' }, t.parseErrors);
          this.inc({ event: 'send_error' }, t.sendErrors);
        },
      });
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
    const transportDiagnostics = sources.transportDiagnostics;
    if (transportDiagnostics !== undefined) {
      new Counter({
        name: 'presence_b2b_transport_diagnostics_total',
        help: 'Events reported by the SIP transport layer, by kind (malformed messages answered or dropped, socket and send errors, connections opened, closed or refused, handler errors)',
        labelNames: ['kind'],
        registers,
        collect() {
          this.reset();
          for (const [kind, n] of Object.entries(transportDiagnostics())) this.inc({ kind }, n);
        },
      });
    }
    const agentStats = sources.localAgentStats;
    if (agentStats !== undefined) {
      new Counter({
        name: 'presence_b2b_local_agent_events_total',
        help: 'Local presence agent: PUBLISH/SUBSCRIBE accepted or rejected, NOTIFYs sent or failed, publications and subscriptions expired',
        labelNames: ['event'],
        registers,
        collect() {
          this.reset();
          const stats = agentStats();
          if (stats === undefined) return;
          for (const [name, value] of Object.entries(stats)) {
            if (typeof value === 'number') this.inc({ event: name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, value);
          }
        },
      });
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
