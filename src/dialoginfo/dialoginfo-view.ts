import { sameValue } from '../util/same-value.js';
import { needsResync, VersionOrder } from '../util/version-order.js';
import { isBlankBody } from '../xml/xml-body.js';
import { DialogInfoError, type DialogInfoErrorCode } from './dialoginfo-error.js';
import { type DialogInfoParseOptions, parseDialogInfo } from './dialoginfo-parser.js';
import type { DialogInfoDialog, DialogInfoDocument } from './dialoginfo-types.js';

/** The dialogs as the subscriber currently knows them. Treat as immutable. */
export interface DialogInfoSnapshot {
  /** Version of the last document applied; undefined before the first. */
  version: number | undefined;
  /** `entity` of the last document applied ('' before the first). */
  entity: string;
  /** Dialogs that are not terminated, in the order they were first reported. */
  dialogs: DialogInfoDialog[];
}

/** What one document changed. */
export interface DialogInfoChanges {
  added: DialogInfoDialog[];
  updated: DialogInfoDialog[];
  /**
   * Dialogs that ended: as the notifier reported them (state `terminated`,
   * with its `event` and `code`), or, for one that a full-state document
   * simply left out, its last state turned `terminated`, without event.
   */
  removed: DialogInfoDialog[];
}

export interface DialogInfoApplyResult {
  /** The document changed the view (possibly with no visible change, e.g. the same document again). */
  applied: boolean;
  /**
   * Our view cannot be trusted any more (a partial document after a gap, not
   * newer, or before any full state): nothing was applied; refresh the
   * subscription to get full state (RFC 4235 §4.1).
   */
  resync: boolean;
  /**
   * Why nothing was applied: DIALOGINFO_ERR_VERSION (refused for its version;
   * a stale full-state document, which Kamailio's out-of-order NOTIFYs
   * produce, has no `resync`), or the parse error of a bad body.
   */
  error?: { code: DialogInfoErrorCode; message: string };
  /** The document read from the body, when it could be read (its `warnings` included). */
  document?: DialogInfoDocument;
  /** The complete current view, after this document. */
  view: DialogInfoSnapshot;
  changes: DialogInfoChanges;
}

function gone(dialog: DialogInfoDialog): DialogInfoDialog {
  const left: DialogInfoDialog = { ...dialog, state: 'terminated' };
  delete left.event;
  delete left.code;
  return left;
}

/**
 * The dialogs of one dialog-event subscription (RFC 4235 §4.1), built from
 * the documents of its NOTIFYs: a full-state document replaces every dialog,
 * a partial one is merged by dialog id. A dialog reported `terminated` is
 * reported once (in `changes.removed`) and leaves the view, so that the
 * terminated dialogs Kamailio keeps in its documents for 10-20 s are not
 * reported again. Version ordering: see VersionOrder.
 *
 * One view per subscription dialog: call `reset()` when a new dialog starts.
 * Pure and synchronous; `apply` never throws.
 */
export class DialogInfoView {
  private readonly order = new VersionOrder();
  private dialogs = new Map<string, DialogInfoDialog>();
  private entity = '';
  private readonly options: DialogInfoParseOptions | undefined;

  constructor(options?: DialogInfoParseOptions) {
    this.options = options;
  }

  /** Version of the last document applied. */
  get version(): number | undefined {
    return this.order.version;
  }

  /** True until a full-state document is applied, and after a `resync` until the next one. */
  get awaitingFullState(): boolean {
    return this.order.awaitingFullState;
  }

  snapshot(): DialogInfoSnapshot {
    return { version: this.order.version, entity: this.entity, dialogs: [...this.dialogs.values()] };
  }

  /** Forgets everything, for a new subscription dialog. */
  reset(): void {
    this.order.reset();
    this.dialogs = new Map();
    this.entity = '';
  }

  /**
   * Parses a NOTIFY body and applies it. An empty (or all-white-space) body,
   * which Kamailio sends while there is no dialog, changes nothing and is no
   * error. A body that cannot be read gives `error` with its DialogInfoError
   * code, and changes nothing.
   */
  apply(body: Uint8Array | string): DialogInfoApplyResult {
    if (isBlankBody(body)) return this.unchanged(false);
    let document: DialogInfoDocument;
    try {
      document = parseDialogInfo(body, this.options);
    } catch (error) {
      if (!(error instanceof DialogInfoError)) throw error;
      if (error.code === 'DIALOGINFO_ERR_EMPTY') return this.unchanged(false);
      return { ...this.unchanged(false), error: { code: error.code, message: error.message } };
    }
    return this.applyDocument(document);
  }

  /** Applies a document already parsed. */
  applyDocument(document: DialogInfoDocument): DialogInfoApplyResult {
    const full = document.state === 'full';
    const verdict = this.order.check(document.version, full);
    if (verdict !== 'apply') {
      const resync = needsResync(verdict);
      if (resync) this.order.refused();
      return {
        ...this.unchanged(resync),
        document,
        error: {
          code: 'DIALOGINFO_ERR_VERSION',
          message: 'dialog-info: ' + this.order.describe(verdict, document.version),
        },
      };
    }
    const before = this.dialogs;
    const after = full ? new Map<string, DialogInfoDialog>() : new Map(before);
    const terminated = new Map<string, DialogInfoDialog>();
    const touched = new Set<string>();
    for (const dialog of document.dialogs) {
      touched.add(dialog.id);
      if (dialog.state === 'terminated') {
        after.delete(dialog.id);
        terminated.set(dialog.id, dialog);
      } else {
        after.set(dialog.id, dialog);
        terminated.delete(dialog.id);
      }
    }
    this.dialogs = after;
    if (document.entity !== '') this.entity = document.entity;
    this.order.accepted(document.version, full);

    const changes: DialogInfoChanges = { added: [], updated: [], removed: [] };
    const ids = full ? new Set([...before.keys(), ...after.keys()]) : touched;
    for (const id of ids) {
      const old = before.get(id);
      const now = after.get(id);
      if (now !== undefined) {
        if (old === undefined) changes.added.push(now);
        else if (!sameValue(old, now)) changes.updated.push(now);
      } else if (old !== undefined) {
        changes.removed.push(terminated.get(id) ?? gone(old));
      }
    }
    return { applied: true, resync: false, document, view: this.snapshot(), changes };
  }

  private unchanged(resync: boolean): DialogInfoApplyResult {
    return { applied: false, resync, view: this.snapshot(), changes: { added: [], updated: [], removed: [] } };
  }
}
