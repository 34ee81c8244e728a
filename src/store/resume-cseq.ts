/**
 * How far a resumed dialog's CSeq jumps above the stored high-water mark.
 *
 * Snapshots are written at most once a second (DialogSnapshotWriter), so the
 * CSeq numbers of the last second before a crash may be missing from the
 * store; a request with a CSeq at or below one the peer has seen would be
 * rejected (RFC 3261 §12.2.2: 500 for a lower CSeq). A dialog sends at most
 * a few requests a second (a refresh, a digest retry, a 423 retry), and at
 * most one SUBSCRIBE per `min_resubscribe_time` otherwise, so 1000 covers the
 * lost second many times over, and also a store that lagged for minutes.
 * RFC 3261 §12.2.1.1 only asks for a higher number, not the next one.
 * Each restart costs 1000 of the 2^31 numbers: two million restarts.
 */
export const RESUME_CSEQ_MARGIN = 1000;

/** RFC 3261 §8.1.1.5: CSeq sequence numbers stay below 2^31. */
const CSEQ_LIMIT = 2 ** 31;

/**
 * The CSeq of the first in-dialog request after a restart, or undefined when
 * the dialog's numbers are exhausted (start a new dialog instead).
 */
export function resumedCSeq(storedHighWater: number): number | undefined {
  const next = storedHighWater + RESUME_CSEQ_MARGIN;
  return next < CSEQ_LIMIT ? next : undefined;
}
