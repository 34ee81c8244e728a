import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of ClusterError (`CLUSTER_ERR_*`, meanings in src/util/error-codes.ts). */
export type ClusterErrorCode = Extract<B2BErrorCode, `CLUSTER_ERR_${string}`>;

/** A failure of the cluster mode's shard leases (issue 16). */
export class ClusterError extends PresenceB2BError {
  declare readonly code: ClusterErrorCode;

  constructor(code: ClusterErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
