/** Namespace of application/dialog-info+xml (RFC 4235 §4). */
export const DIALOG_INFO_NS = 'urn:ietf:params:xml:ns:dialog-info';

/** `full`: the document holds every dialog; `partial`: only the dialogs that changed (RFC 4235 §4.1). */
export type DialogInfoDocumentState = 'full' | 'partial';

/** Who sent the initial request of the dialog (RFC 4235 §4.1.1). */
export type DialogDirection = 'initiator' | 'recipient';

/** The dialog state machine of RFC 4235 §3.7.1. */
export type DialogState = 'trying' | 'proceeding' | 'early' | 'confirmed' | 'terminated';

/** Why a dialog changed state (`<state event=…>`, RFC 4235 §3.7.1, §4.1.2). */
export type DialogStateEvent = 'cancelled' | 'rejected' | 'replaced' | 'local-bye' | 'remote-bye' | 'error' | 'timeout';

export const DIALOG_STATES: readonly DialogState[] = ['trying', 'proceeding', 'early', 'confirmed', 'terminated'];
export const DIALOG_STATE_EVENTS: readonly DialogStateEvent[] = [
  'cancelled',
  'rejected',
  'replaced',
  'local-bye',
  'remote-bye',
  'error',
  'timeout',
];

/** `<identity display="…">uri</identity>` (also `<referred-by>`). */
export interface DialogIdentity {
  uri: string;
  display?: string;
}

/** `<param pname="…" pval="…"/>` of a target: a Contact header field parameter (e.g. `+sip.rendering`). */
export interface DialogTargetParam {
  name: string;
  value: string;
}

/** `<target uri="…">`: the participant's remote target (Contact). */
export interface DialogTarget {
  uri: string;
  params: DialogTargetParam[];
}

/** `<local>` or `<remote>` (RFC 4235 §4.1.6). */
export interface DialogParticipant {
  identity?: DialogIdentity;
  target?: DialogTarget;
  /** The participant's most recent CSeq in the dialog. */
  cseq?: number;
}

/** The dialog identifiers of `<replaces>`. */
export interface DialogReplaces {
  callId: string;
  localTag: string;
  remoteTag: string;
}

export interface DialogInfoDialog {
  /** Identifies the dialog within the subscription (RFC 4235 §4.1.1; Kamailio: `padi-…`, not the Call-ID). */
  id: string;
  callId?: string;
  localTag?: string;
  remoteTag?: string;
  direction?: DialogDirection;
  /** Read without regard to case: Kamailio 5.6 sends `Trying`. */
  state: DialogState;
  /** `<state event=…>`; absent on a dialog that a full-state document left out (see DialogInfoView). */
  event?: DialogStateEvent;
  /** `<state code=…>`: the response code that caused the change. */
  code?: number;
  /** `<duration>`: seconds since the dialog was created. */
  duration?: number;
  replaces?: DialogReplaces;
  referredBy?: DialogIdentity;
  /** `<route-set>`: the `<hop>` URIs. */
  routeSet: string[];
  local?: DialogParticipant;
  remote?: DialogParticipant;
}

export interface DialogInfoDocument {
  version: number;
  state: DialogInfoDocumentState;
  /** The URI whose dialogs these are (`entity`); '' with a warning when absent. */
  entity: string;
  dialogs: DialogInfoDialog[];
  /** Problems that did not prevent reading the document (unknown direction or event, bad code, …). */
  warnings: string[];
}
