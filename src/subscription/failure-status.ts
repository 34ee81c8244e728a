import type { EngineErrorCode } from '../util/error-codes.js';

/**
 * How a failed SUBSCRIBE is reported to the subscriber. SER told the
 * subscriber nothing (docs/ser-presence-b2b.md §5 item 3); we say what happened and when we try
 * again. A rejection by the server's authorization is `rejected`; a record
 * that does not exist is `terminated` with reason `noresource` (RFC 6665 §4.1.3
 * reason names); anything else is `terminated` with reason `error`.
 */
export interface FailureStatus {
  state: 'rejected' | 'terminated';
  reason: string;
  code: EngineErrorCode;
}

export function failureStatusForResponse(status: number, locallyGenerated: boolean): FailureStatus {
  if (locallyGenerated) {
    return status === 408
      ? { state: 'terminated', reason: 'timeout', code: 'B2B_ERR_SUBSCRIBE_TIMEOUT' }
      : { state: 'terminated', reason: 'error', code: 'B2B_ERR_TRANSPORT' };
  }
  switch (status) {
    case 403:
    case 603:
      return { state: 'rejected', reason: 'rejected', code: 'B2B_ERR_SUBSCRIBE_REJECTED' };
    case 489:
      return { state: 'rejected', reason: 'bad-event', code: 'B2B_ERR_SUBSCRIBE_REJECTED' };
    case 401:
    case 407:
      return { state: 'rejected', reason: 'unauthorized', code: 'B2B_ERR_AUTH_FAILED' };
    case 404:
    case 410:
    case 604:
      return { state: 'terminated', reason: 'noresource', code: 'B2B_ERR_SUBSCRIBE_FAILED' };
    default:
      return { state: 'terminated', reason: 'error', code: 'B2B_ERR_SUBSCRIBE_FAILED' };
  }
}

/**
 * The state a `Subscription-State: terminated;reason=…` NOTIFY maps to:
 * `rejected` for reason=rejected, else `terminated`.
 */
export function statusStateForTermination(reason: string | undefined): 'rejected' | 'terminated' {
  return reason === 'rejected' ? 'rejected' : 'terminated';
}

/**
 * When to try again after the server ended the subscription (RFC 6665 §4.1.3):
 * deactivated or timeout (or no reason) → at once; probation or giveup → after
 * retry-after when given; rejected, noresource, invariant or unknown → after
 * on_error_retry_time, as SER retried every failure. Returns seconds; 0 = "at once"
 * (the caller still applies min_resubscribe_time and a little jitter).
 */
export function retryDelayAfterTermination(reason: string | undefined, retryAfter: number | undefined, onErrorRetryTime: number): number {
  switch (reason) {
    case undefined:
    case 'deactivated':
    case 'timeout':
      return retryAfter ?? 0;
    case 'probation':
    case 'giveup':
      return retryAfter ?? onErrorRetryTime;
    default:
      return Math.max(retryAfter ?? 0, onErrorRetryTime);
  }
}
