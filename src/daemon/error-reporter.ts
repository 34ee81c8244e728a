import type { Logger } from 'pino';
import type { QsaNotifierErrorEvent } from '../qsa/qsa-diagnostics.js';
import type { SipRequest } from '../sip/codec/message.js';
import { TRANSPORT_DIAGNOSTIC_KINDS, type TransportDiagnostic, type TransportDiagnosticKind } from '../sip/transport/transport-options.js';

/**
 * Where an exception thrown by our own code was caught (the `component` label
 * of presence_b2b_internal_errors_total):
 * - transport          a message or send-error handler above the transport threw into it
 * - request_handler    a SIP request handler threw (the request was answered 500)
 * - response_callback  a callback of an outgoing request or client transaction threw
 * - notifier           a QSA notifier's subscribe/unsubscribe/accepts threw
 * - timer              a timer callback threw
 * - queue_consumer     the daemon's consumer of a named queue threw on a message
 */
export const INTERNAL_ERROR_COMPONENTS = ['transport', 'request_handler', 'response_callback', 'notifier', 'timer', 'queue_consumer'] as const;
export type InternalErrorComponent = (typeof INTERNAL_ERROR_COMPONENTS)[number];

/** Log level of each transport diagnostic: our failures warn, what peers send us is info, connection churn debug. */
const DIAGNOSTIC_LEVEL: Readonly<Record<TransportDiagnosticKind, 'error' | 'warn' | 'info' | 'debug'>> = {
  'handler-error': 'error',
  'socket-error': 'warn',
  'send-error': 'warn',
  'connection-rejected': 'warn',
  'framing-error': 'info',
  'parse-error': 'info',
  'bad-request-answered': 'info',
  'malformed-response-dropped': 'info',
  'malformed-dropped': 'info',
  'connection-opened': 'debug',
  'connection-closed': 'debug',
  // Limits and load shedding: a peer's doing (info), the process defending itself (warn).
  'message-timeout': 'info',
  'message-too-large': 'info',
  'overload-started': 'warn',
  'overload-ended': 'warn',
};

/** `bad-request-answered` → `bad_request_answered`: the metric's label value. */
export function diagnosticLabel(kind: TransportDiagnosticKind): string {
  return kind.replace(/-/g, '_');
}

/**
 * The daemon's sink for everything the layers below catch instead of letting
 * it crash the process: transport diagnostics, exceptions in SIP request
 * handlers and callbacks, in QSA notifiers, in timers and in queue consumers.
 * Each is logged once (pino, with what is known of its context: the
 * subscription's id, record and subscriber for a notifier) and counted; the
 * metrics read the counts at scrape time.
 */
export class DaemonErrorReporter {
  /** Exceptions caught, per component (every component present, 0 at first). */
  readonly internalErrors: Record<InternalErrorComponent, number>;
  /** Transport diagnostics, per kind label (every kind present, 0 at first). */
  readonly transportDiagnostics: Record<string, number>;

  constructor(private readonly logger: Logger) {
    this.internalErrors = Object.fromEntries(INTERNAL_ERROR_COMPONENTS.map((c) => [c, 0])) as Record<InternalErrorComponent, number>;
    this.transportDiagnostics = Object.fromEntries(TRANSPORT_DIAGNOSTIC_KINDS.map((k) => [diagnosticLabel(k), 0]));
  }

  /** For createPresenceB2B's `onTransportDiagnostic`. */
  readonly transportDiagnostic = (event: TransportDiagnostic): void => {
    const label = diagnosticLabel(event.kind);
    this.transportDiagnostics[label] = (this.transportDiagnostics[label] ?? 0) + 1;
    if (event.kind === 'handler-error') this.internalErrors.transport++;
    const fields: Record<string, unknown> = { component: 'transport', kind: label, transport: event.transport, detail: event.detail };
    if (event.remoteAddress !== undefined) fields.remote = `${event.remoteAddress}:${event.remotePort ?? 0}`;
    if (event.connectionId !== undefined) fields.connection = event.connectionId;
    if (event.error !== undefined) fields.err = event.error;
    this.logger[DIAGNOSTIC_LEVEL[event.kind] ?? 'warn'](fields, `transport: ${event.kind}`);
  };

  /** For createPresenceB2B's `onUserAgentError`. */
  readonly userAgentError = (error: unknown, where: 'handler' | 'callback', request?: SipRequest): void => {
    const component: InternalErrorComponent = where === 'handler' ? 'request_handler' : 'response_callback';
    this.internalErrors[component]++;
    const fields: Record<string, unknown> = { component, err: error };
    if (request !== undefined) {
      fields.method = request.method;
      fields.uri = request.uri;
      const callId = request.headers.get('call-id');
      if (callId !== undefined) fields.callId = callId;
    }
    this.logger.error(fields, where === 'handler' ? 'SIP request handler threw (answered 500)' : 'SIP response callback threw');
  };

  /** For QsaBroker's `onNotifierError`: the subscription's context, as on its own log lines. */
  readonly notifierError = (event: QsaNotifierErrorEvent): void => {
    this.internalErrors.notifier++;
    this.logger.error(
      {
        component: 'notifier',
        notifier: event.notifier,
        callback: event.callback,
        subscription: event.subscriptionId,
        record: event.record,
        subscriber: event.subscriber,
        package: event.package,
        err: event.error,
      },
      `QSA notifier threw in ${event.callback}`,
    );
  };

  /** For TimerScheduler's `onError`. */
  readonly timerError = (error: unknown): void => {
    this.internalErrors.timer++;
    this.logger.error({ component: 'timer', err: error }, 'timer callback threw');
  };

  /** For QueueHub's `onError`: the queue's consumer failed on one message and went on with the next. */
  readonly queueConsumerError = (error: unknown, queue: string, subscriptionId?: string): void => {
    this.internalErrors.queue_consumer++;
    this.logger.error({ component: 'queue_consumer', queue, ...(subscriptionId !== undefined ? { subscription: subscriptionId } : {}), err: error }, 'queue consumer threw');
  };
}
