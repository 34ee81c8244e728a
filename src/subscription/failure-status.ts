import type { EngineErrorCode } from '../util/error-codes.js';

/**
 * How the end of a subscription attempt is classified and reported (README,
 * "Behaviour on each answer"). SER told the subscriber nothing and retried
 * everything after on_error_retry_time (docs/ser-presence-b2b.md §5 item 3, §2.3); we say what
 * happened, and tell apart what may pass (a failure: retried with backoff)
 * from what will not (final: no automatic retry).
 */
export interface FailureStatus {
  state: 'rejected' | 'terminated';
  /** RFC 6665 §4.1.3 reason names where one fits (rejected, noresource, timeout), else our own (error, unauthorized, bad-event). */
  reason: string;
  code: EngineErrorCode;
  /** True when retrying cannot help: reported once, not retried (unless final_retry_time). */
  final: boolean;
}

/**
 * A final response ≥ 300 to SUBSCRIBE that the engine does not handle
 * itself (3xx it follows, 401/407 it answers, 423 it retries, 481 to a
 * refresh). Final: 403, 603 and 489 (rejected), 401/407 that our
 * credentials cannot answer (rejected), 404, 410 and 604 (noresource).
 * Everything else (408 and Timer F, transport errors, 5xx, other 6xx, other
 * 4xx, 3xx that cannot be followed) is a failure, retried with backoff.
 */
export function failureStatusForResponse(status: number, locallyGenerated: boolean, localCauseCode?: string): FailureStatus {
  if (locallyGenerated) {
    if (status === 408) return { state: 'terminated', reason: 'timeout', code: 'B2B_ERR_SUBSCRIBE_TIMEOUT', final: false };
    // An untrusted certificate is said as such, never as a silent connection (docs/hostile-input.md, "TLS").
    if (localCauseCode === 'SIP_ERR_TRANSPORT_TLS_VERIFY') return { state: 'terminated', reason: 'error', code: 'B2B_ERR_TLS_CERTIFICATE', final: false };
    return { state: 'terminated', reason: 'error', code: 'B2B_ERR_TRANSPORT', final: false };
  }
  switch (status) {
    case 403:
    case 603:
      return { state: 'rejected', reason: 'rejected', code: 'B2B_ERR_SUBSCRIBE_REJECTED', final: true };
    case 489:
      return { state: 'rejected', reason: 'bad-event', code: 'B2B_ERR_SUBSCRIBE_REJECTED', final: true };
    case 401:
    case 407:
      return { state: 'rejected', reason: 'unauthorized', code: 'B2B_ERR_AUTH_FAILED', final: true };
    case 404:
    case 410:
    case 604:
      return { state: 'terminated', reason: 'noresource', code: 'B2B_ERR_SUBSCRIBE_FAILED', final: true };
    default:
      return { state: 'terminated', reason: 'error', code: 'B2B_ERR_SUBSCRIBE_FAILED', final: false };
  }
}

/** A 2xx from which no dialog can be made (To, Contact or Record-Route): a failure. */
export const UNUSABLE_DIALOG: FailureStatus = { state: 'terminated', reason: 'error', code: 'B2B_ERR_UNUSABLE_DIALOG', final: false };
/** 401/407 with stale=true more than twice in a row: a failure, not a wrong password. */
export const STALE_LOOP: FailureStatus = { state: 'terminated', reason: 'error', code: 'B2B_ERR_AUTH_STALE', final: false };
/** A 2xx and no NOTIFY within Timer N (RFC 6665 §4.1.2.4): a failure. */
export const NO_NOTIFY: FailureStatus = { state: 'terminated', reason: 'timeout', code: 'B2B_ERR_NO_NOTIFY', final: false };
/** The SUBSCRIBE could not be built: a failure. */
export const LOCAL_FAILURE: FailureStatus = { state: 'terminated', reason: 'error', code: 'B2B_ERR_LOCAL', final: false };

/**
 * The state a `Subscription-State: terminated;reason=…` NOTIFY maps to:
 * `rejected` for reason=rejected, else `terminated`.
 */
export function statusStateForTermination(reason: string | undefined): 'rejected' | 'terminated' {
  return reason === 'rejected' ? 'rejected' : 'terminated';
}

/**
 * What follows a NOTIFY that ends the subscription (RFC 6665 §4.1.3):
 * - `renew`: deactivated, timeout, or no reason: a new subscription at once
 *   (after `retryAfter` if the NOTIFY gave one);
 * - `retry`: probation, giveup, and reasons we do not know: a new
 *   subscription after `retryAfter`, else after the backoff (a failure);
 * - `final`: rejected, noresource, invariant: "the subscriber SHOULD NOT
 *   attempt to re-subscribe" (rejected, invariant) or "the resource is gone"
 *   (noresource).
 */
export type TerminationPlan = { kind: 'renew' | 'retry'; retryAfter: number | undefined } | { kind: 'final' };

export function planAfterTermination(reason: string | undefined, retryAfter: number | undefined): TerminationPlan {
  switch (reason) {
    case undefined:
    case 'deactivated':
    case 'timeout':
      return { kind: 'renew', retryAfter };
    case 'rejected':
    case 'noresource':
    case 'invariant':
      return { kind: 'final' };
    default:
      return { kind: 'retry', retryAfter };
  }
}
