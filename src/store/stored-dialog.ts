import { checkCount, checkString, checkText } from './record-checks.js';
import { StoreError } from './store-error.js';

/**
 * What a restart needs to resume one SIP subscription dialog in-dialog
 * (RFC 3261 §12.2.1.1: Call-ID, tags, CSeq, route set and remote target make
 * the request; RFC 6665 §4.1.2.2: a refresh SUBSCRIBE inside the dialog).
 * Written by the engine through a DialogSnapshotWriter, at most a second
 * behind; presence itself is state, not a log, so no NOTIFY is stored.
 */
export interface StoredDialog {
  /**
   * Stable identity of the dialog across restarts: `dialogIdentity(package,
   * record, subscriber)` for a shared dialog; an engine that does not share
   * identical subscriptions appends its own discriminator.
   */
  readonly key: string;
  readonly package: string;
  readonly record: string;
  readonly subscriber: string;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** From URI (without tag). */
  readonly localUri: string;
  /** To URI (without tag). */
  readonly remoteUri: string;
  /**
   * The highest CSeq number we have sent in the dialog (high-water mark). A
   * resumed dialog continues at `resumedCSeq(localCSeq)`, above a margin.
   */
  readonly localCSeq: number;
  /** The highest CSeq number received from the peer (its last NOTIFY); undefined before any. */
  readonly remoteCSeq: number | undefined;
  /** Route header values for in-dialog requests, in sending order (RFC 3261 §12.1.2). */
  readonly routeSet: readonly string[];
  /** Request-URI of in-dialog requests: the peer's Contact. */
  readonly remoteTarget: string;
  /** Our Contact (the target the peer sends NOTIFYs to; RFC 6665 §4.1.2.2 target refresh). */
  readonly contact: string;
  /** Wall-clock milliseconds at which the granted subscription lapses (a restart uses wall time). */
  readonly expiresAt: number;
}

/**
 * The identity of a shared dialog, the same string as the engine's own
 * identity key (package, record, subscriber; a newline cannot occur in a
 * URI nor in a token, RFC 3261 §25.1).
 */
export function dialogIdentity(pkg: string, record: string, subscriber: string): string {
  return `${pkg}\n${record}\n${subscriber}`;
}

function checkCSeq(value: unknown, field: string): number {
  const n = checkCount(value, field);
  // RFC 3261 §8.1.1.5: a CSeq sequence number is below 2^31.
  if (n >= 2 ** 31) throw new StoreError('STORE_ERR_INVALID', `${field} must be below 2^31, not ${n}`);
  return n;
}

/** A validated plain copy (the route set copied too). */
export function copyDialog(d: StoredDialog): StoredDialog {
  if (!Array.isArray(d.routeSet)) throw new StoreError('STORE_ERR_INVALID', 'routeSet must be a list of strings');
  return {
    key: checkText(d.key, 'key'),
    package: checkText(d.package, 'package'),
    record: checkText(d.record, 'record'),
    subscriber: checkText(d.subscriber, 'subscriber'),
    callId: checkText(d.callId, 'callId'),
    localTag: checkText(d.localTag, 'localTag'),
    remoteTag: checkText(d.remoteTag, 'remoteTag'),
    localUri: checkText(d.localUri, 'localUri'),
    remoteUri: checkText(d.remoteUri, 'remoteUri'),
    localCSeq: checkCSeq(d.localCSeq, 'localCSeq'),
    remoteCSeq: d.remoteCSeq === undefined ? undefined : checkCSeq(d.remoteCSeq, 'remoteCSeq'),
    routeSet: d.routeSet.map((r, i) => checkString(r, `routeSet[${i}]`)),
    remoteTarget: checkText(d.remoteTarget, 'remoteTarget'),
    contact: checkText(d.contact, 'contact'),
    expiresAt: checkCount(d.expiresAt, 'expiresAt'),
  };
}
