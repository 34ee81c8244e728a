/** Namespace of application/reginfo+xml (RFC 3680 §5.4). */
export const REGINFO_NS = 'urn:ietf:params:xml:ns:reginfo';

/** `full`: the document holds every registration; `partial`: only what changed (RFC 3680 §5.1). */
export type RegInfoDocumentState = 'full' | 'partial';

/** State of an address-of-record's registration (RFC 3680 §5.1, the registration state machine of §3.3). */
export type RegistrationState = 'init' | 'active' | 'terminated';

/** State of one contact (binding) of a registration (RFC 3680 §5.1). */
export type RegContactState = 'active' | 'terminated';

/** What made a contact change state (RFC 3680 §3.3, §5.1). */
export type RegContactEvent =
  | 'registered'
  | 'created'
  | 'refreshed'
  | 'shortened'
  | 'expired'
  | 'deactivated'
  | 'probation'
  | 'unregistered'
  | 'rejected';

export const REG_CONTACT_EVENTS: readonly RegContactEvent[] = [
  'registered',
  'created',
  'refreshed',
  'shortened',
  'expired',
  'deactivated',
  'probation',
  'unregistered',
  'rejected',
];

/** `<display-name>`: text with its language. */
export interface RegInfoDisplayName {
  text: string;
  lang?: string;
}

/** `<unknown-param name="…">value</unknown-param>`: a Contact header parameter the registrar saw. */
export interface RegInfoUnknownParam {
  name: string;
  value: string;
}

export interface RegInfoContact {
  /** Identifies the contact within its registration. */
  id: string;
  /** The contact URI (`<uri>`). */
  uri: string;
  state: RegContactState;
  /**
   * What caused the last change. Required by RFC 3680, but left out (with a
   * warning) when absent or unknown; also absent on a contact that a
   * full-state document left out (see RegInfoView).
   */
  event?: RegContactEvent;
  /** Seconds left before the binding expires. */
  expires?: number;
  /** The contact's q value, 0..1. */
  q?: number;
  /** Seconds after which a `probation` contact may register again. */
  retryAfter?: number;
  /** Seconds since the contact registered. */
  durationRegistered?: number;
  /** The Call-ID and CSeq of the REGISTER that created or refreshed the binding. */
  callId?: string;
  cseq?: number;
  displayName?: RegInfoDisplayName;
  unknownParams: RegInfoUnknownParam[];
}

export interface RegInfoRegistration {
  /** The address-of-record. */
  aor: string;
  /** Identifies the registration within the subscription (RFC 3680 §5.2 merges by it). */
  id: string;
  state: RegistrationState;
  contacts: RegInfoContact[];
}

export interface RegInfoDocument {
  version: number;
  state: RegInfoDocumentState;
  registrations: RegInfoRegistration[];
  /** Problems that did not prevent reading the document (unknown event, bad expires, …). */
  warnings: string[];
}
