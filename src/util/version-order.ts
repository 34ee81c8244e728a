/**
 * Version ordering of the SIP event documents that carry full or partial
 * state with a `version` counter: reginfo (RFC 3680 §5.2), dialog-info
 * (RFC 4235 §4.1) and RLMI (RFC 4662 §5.2). The subscriber keeps the last
 * version it applied; the notifier adds one per document it sends.
 *
 * - A full-state document replaces everything, so it is applied whatever
 *   the gap; one with the SAME version as ours is applied too (Kamailio
 *   5.6's pua_reginfo sends `version="0"` in every document), one with a
 *   LOWER version is stale (two notifier processes can send documents in
 *   the wrong order, as Kamailio's dialog NOTIFYs do) and is discarded.
 * - A partial-state document only makes sense on top of the one before it:
 *   it is applied when its version is exactly one above ours. A gap (a
 *   document was lost), a version that is not newer, or a partial document
 *   before any full state means our view can no longer be trusted: nothing
 *   is applied and the subscriber should ask for full state again
 *   (`resync`). Until a full-state document arrives, partial documents are
 *   refused the same way, and the next full-state document is taken
 *   whatever its version (a notifier may restart its counter).
 */
export type VersionVerdict =
  /** Apply the document. */
  | 'apply'
  /** A full-state document older than the state held: discard it. */
  | 'stale'
  /** A partial document skipped at least one version. */
  | 'gap'
  /** A partial document whose version is not above the one held. */
  | 'not-newer'
  /** A partial document while no full state is held (the first document, or after a resync). */
  | 'no-full-state';

export class VersionOrder {
  private local: number | undefined;
  private awaitingFull = true;

  /** The version of the last document applied (undefined before the first). */
  get version(): number | undefined {
    return this.local;
  }

  /** True until a full-state document is applied, and again after a refused partial document. */
  get awaitingFullState(): boolean {
    return this.awaitingFull;
  }

  /** Judges a document; changes nothing (call `accepted` or `refused` afterwards). */
  check(version: number, fullState: boolean): VersionVerdict {
    if (fullState) {
      if (this.awaitingFull || this.local === undefined || version >= this.local) return 'apply';
      return 'stale';
    }
    if (this.awaitingFull || this.local === undefined) return 'no-full-state';
    if (version === this.local + 1) return 'apply';
    return version > this.local + 1 ? 'gap' : 'not-newer';
  }

  /** The document was applied. */
  accepted(version: number, fullState: boolean): void {
    this.local = version;
    if (fullState) this.awaitingFull = false;
  }

  /** A partial document was refused (`gap`, `not-newer`, `no-full-state`): wait for full state. */
  refused(): void {
    this.awaitingFull = true;
  }

  /** Forgets everything (a new subscription dialog starts counting afresh). */
  reset(): void {
    this.local = undefined;
    this.awaitingFull = true;
  }

  /** Words for a verdict other than `apply`, for error messages. */
  describe(verdict: VersionVerdict, version: number): string {
    const held = this.local === undefined ? 'none' : String(this.local);
    switch (verdict) {
      case 'stale':
        return `full-state document version ${version} is older than version ${held} already held: discarded`;
      case 'gap':
        return `partial document version ${version} after version ${held}: at least one document was missed; full state needed`;
      case 'not-newer':
        return `partial document version ${version} is not newer than version ${held}; full state needed`;
      case 'no-full-state':
        return `partial document version ${version} while no full state is held; full state needed`;
      default:
        return `document version ${version} applied`;
    }
  }
}

/** True when the verdict asks the subscriber to fetch full state again. */
export function needsResync(verdict: VersionVerdict): boolean {
  return verdict === 'gap' || verdict === 'not-newer' || verdict === 'no-full-state';
}
