import type { B2BErrorCode, StatusErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';
import type { QsaErrorCode } from '../qsa/qsa-error.js';

/** Stable codes of the HTTP API's own errors (`HTTP_ERR_*`, meanings in src/util/error-codes.ts). */
export type HttpErrorCode = Extract<B2BErrorCode, `HTTP_ERR_${string}`>;
import type { EventRing } from './event-ring.js';
import type { SubscriptionDialogState } from '../subscription/subscription-dialog.js';

/** Largest request body read, in bytes; a larger one is a 413 `HTTP_ERR_BODY_TOO_LARGE`. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** States of a status message (the state of the subscription, RFC 6665 §4.1.3), `none` before the first. */
export const STATUS_STATES = ['none', 'pending', 'active', 'terminated', 'rejected'] as const;

/** The engine's dialog states that the API shows (a destroyed dialog is not shown). */
export const DIALOG_STATES = ['waiting', 'subscribing', 'active', 'refreshing', 'unsubscribing', 'terminating', 'final'] as const satisfies ReadonlyArray<
  Exclude<SubscriptionDialogState, 'destroyed'>
>;
/** Fails to compile when the engine gains a state that DIALOG_STATES does not list. */
const everyDialogState: [Exclude<SubscriptionDialogState, 'destroyed' | (typeof DIALOG_STATES)[number]>] extends [never] ? true : never = true;
void everyDialogState;

/** What `GET /v1/subscriptions?state=` matches: a status state or a dialog state. */
export const FILTER_STATES: readonly [string, ...string[]] = [...new Set<string>([...STATUS_STATES, ...DIALOG_STATES])] as [string, ...string[]];

/**
 * A status message as the HTTP API shows it: `body` decoded as UTF-8, the
 * package's parsed document under the package's name (`presence`, `reg`,
 * `dialog`), and, on a resource list's member messages, `list`.
 */
export interface StatusView {
  sequence: number;
  /** ISO 8601 time at which the notifier reported it. */
  timestamp: string;
  subscriptionId: string;
  record: string;
  subscriber: string;
  package: string;
  state: 'pending' | 'active' | 'terminated' | 'rejected';
  reason?: string;
  retryAfter?: number;
  expires?: number;
  /** On the message of a resource list's member (`record` is then the member): the list's URI. */
  list?: string;
  contentType?: string;
  body?: string;
  /** presence: the parsed PIDF document. */
  presence?: unknown;
  /** reg: the registrations (RegInfoState: registrations, version, changes). */
  reg?: unknown;
  /** dialog: the dialogs (DialogInfoState: entity, dialogs, version, changes). */
  dialog?: unknown;
  error?: { code: StatusErrorCode; message: string };
}

/** The SIP dialog serving a subscription (identical subscriptions may share one). */
export interface DialogView {
  id: string;
  state: string;
  callId?: string;
  remoteTarget?: string;
  /** Seconds left of the granted subscription, when active. */
  expiresIn?: number;
  /** Subscription ids served by this dialog. */
  members: string[];
}

export interface SubscriptionView {
  id: string;
  record: string;
  subscriber: string;
  package: string;
  queue: string;
  /** ISO 8601 time of creation. */
  createdAt: string;
  /** State of the last status message, `none` before the first. */
  state: 'none' | StatusView['state'];
  /** The component answering: `presence-b2b` (SIP), the local agent, or none yet. */
  notifier?: string;
  dialog?: DialogView;
  lastStatus?: StatusView;
}

export interface CreateSubscriptionRequest {
  record: string;
  subscriber: string;
  package: string;
  queue: string;
}

export interface SubscriptionFilter {
  record?: string;
  subscriber?: string;
  /** Matches the status state (`none`, pending, active, …) or the dialog state (waiting, subscribing, …). */
  state?: string;
}

/** What the HTTP API needs of the daemon's subscriptions (implemented by src/daemon/subscription-service.ts). */
export interface SubscriptionApi {
  /** Resolves once the subscription is durable (stored); the HTTP answer waits for it. */
  create(request: CreateSubscriptionRequest): Promise<SubscriptionView>;
  list(filter: SubscriptionFilter): SubscriptionView[];
  /** Undefined when no such subscription exists; may read the store (cluster mode: one another node makes). */
  get(id: string): SubscriptionView | undefined | Promise<SubscriptionView | undefined>;
  /** Resolves once the removal is durable; false when no such subscription exists. */
  remove(id: string): Promise<boolean>;
  /** The event ring of a named queue, when the daemon serves that queue. */
  events(queue: string): EventRing<StatusView> | undefined;
  /**
   * Cluster mode (several nodes, one store): the ring of a named queue once
   * it holds every event committed on any node before the call, the queue
   * served from then on even when it was made on another node; undefined
   * when no node made it. Asked when `events` has no such queue, or when a
   * client resumes after an id beyond the ring's newest. Absent: one node.
   */
  resumeEvents?(queue: string): Promise<EventRing<StatusView> | undefined>;
  /** The event packages someone answers (`QsaBroker.servedPackages()`): a subscription to another is refused. */
  servedPackages(): string[];
}

/** A PIDF-ish document for the local presence agent. */
export interface PresentityDocument {
  basic: 'open' | 'closed';
  note?: string;
}

/** What `PUT /v1/presentities/:uri` needs: the local presence agent, or anything that publishes like it. */
export interface PresentityPublisher {
  /** Throws for a URI it does not serve. */
  publish(uri: string, document: PresentityDocument): void;
}

/** A request the API refuses: rendered as `{ error: { code, message, field } }`. */
export class ApiError extends PresenceB2BError {
  declare readonly code: HttpErrorCode | QsaErrorCode;

  constructor(
    readonly status: number,
    code: HttpErrorCode | QsaErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(code, message);
  }
}
