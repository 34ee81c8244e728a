/**
 * `presence-b2b`: what an application needs to ask "the presence of R as seen
 * by S" and read the answers. The SIP stack underneath is the subpath
 * `presence-b2b/sip` (src/sip/index.ts).
 */

// The B2BUA: createPresenceB2B() and the types its options and result name.
export { createPresenceB2B } from './b2b/create-presence-b2b.js';
export type { PresenceB2B, PresenceB2BOptions, SipLimits } from './b2b/create-presence-b2b.js';
export type { EngineSettings, NotifySourceCheck } from './subscription/engine-options.js';
export type { CredentialLookup, DialogOwnership, EngineCloseReport, EngineStats, PresenceEngine, RestartStats } from './subscription/presence-engine.js';
export type { DialogSnapshot } from './subscription/dialog-snapshot.js';
export type { SubscriptionDialogState } from './subscription/subscription-dialog.js';
export type { DigestCredentials } from './sip/auth/digest-client.js';
export type { DnsClient } from './sip/resolver/dns-client.js';
export type { TransactionTimerSettings } from './sip/transaction/types.js';
export type { ListenSpec } from './sip/transport/types.js';
export type { ObservedSipMessage, SipMessageObserver } from './sip/transport/message-observer.js';

// The Query Status API: broker, queues, subscription handles, status messages, the notifier contract.
export * from './qsa/index.js';

// Persistence: the store createPresenceB2B({ store }) and the daemon keep subscriptions in (memory, SQLite).
export * from './store/index.js';

// Presence documents: PIDF (RFC 3863) read and written, RPID (RFC 4480), presenceOf()/isPresenceStatus().
export * from './presence/index.js';

// The other event packages the B2BUA serves: reg (RFC 3680) and dialog (RFC 4235). Their documents,
// merged views and readers, and regInfoOf()/dialogInfoOf() for the status messages' `document`.
export { isRegStatus, parseReginfo, REG_PACKAGE, regInfoOf, RegInfoError, RegInfoView } from './reginfo/index.js';
export type {
  RegContactEvent,
  RegContactState,
  RegInfoApplyResult,
  RegInfoChanges,
  RegInfoContact,
  RegInfoContactChange,
  RegInfoDocument,
  RegInfoErrorCode,
  RegInfoRegistration,
  RegInfoSnapshot,
  RegInfoState,
  RegistrationState,
  RegStatus,
} from './reginfo/index.js';
export { DIALOG_PACKAGE, dialogInfoOf, DialogInfoError, DialogInfoView, isDialogStatus, parseDialogInfo } from './dialoginfo/index.js';
export type {
  DialogDirection,
  DialogIdentity,
  DialogInfoApplyResult,
  DialogInfoChanges,
  DialogInfoDialog,
  DialogInfoDocument,
  DialogInfoErrorCode,
  DialogInfoSnapshot,
  DialogInfoState,
  DialogParticipant,
  DialogState,
  DialogStateEvent,
  DialogStatus,
  DialogTarget,
} from './dialoginfo/index.js';

// SIP messages, for applications that hand NOTIFYs in or log them.
export { parseSipMessage } from './sip/codec/parser.js';
export type { ParseLimits, ParseOptions } from './sip/codec/parser.js';
export { SipParseError } from './sip/codec/parse-error.js';
export type { SipParseErrorCode } from './sip/codec/parse-error.js';
export type { SipMessage, SipRequest, SipResponse, SipTransportName } from './sip/codec/message.js';

// Packet capture: HEPv3 export of every SIP message to a Homer collector (createPresenceB2B({ observer })).
export { HepExporter } from './hep/hep-exporter.js';
export type { HepExporterOptions, HepExporterStats } from './hep/hep-exporter.js';

// Configuration and the daemon.
export { ConfigError, loadConfig, parseConfig } from './config/index.js';
export type { ConfigErrorCode, ConfigProblem, DaemonConfig, DaemonConfigInput, LoadConfigOptions } from './config/index.js';
export { startDaemon } from './daemon/daemon.js';
export type { DaemonHandle, StartDaemonOptions } from './daemon/daemon.js';

// Errors: the base class, every class's code union, the registry of stable codes.
export { PresenceB2BError } from './util/errors.js';
export { InvalidOptionError } from './util/invalid-option-error.js';
export { ClosedError } from './util/closed-error.js';
export { ERROR_CODES, isB2BErrorCode } from './util/error-codes.js';
export type { B2BErrorCode, EngineErrorCode, StatusErrorCode } from './util/error-codes.js';
export { SipTransportError } from './sip/transport/errors.js';
export type { SipTransportErrorCode } from './sip/transport/errors.js';
export { SipDnsError } from './sip/resolver/errors.js';
export type { SipDnsErrorCode } from './sip/resolver/errors.js';
export { TransactionError } from './sip/transaction/errors.js';
export type { TransactionErrorCode } from './sip/transaction/errors.js';
export { HepError } from './hep/hep-error.js';
export type { HepErrorCode } from './hep/hep-error.js';
export { LocalAgentError } from './agent/agent-error.js';
export { DaemonListenError } from './daemon/listen-error.js';
export type { DaemonErrorCode, ListenFailure } from './daemon/listen-error.js';
export type { LocalAgentErrorCode } from './agent/agent-error.js';
export type { HttpErrorCode } from './http/api-types.js';

// Diagnostics channels (node:diagnostics_channel): the QSA_CHANNEL_* names come with the QSA above.
export { ENGINE_CHANNEL_NOTIFY, ENGINE_CHANNEL_NOTIFY_SOURCE, ENGINE_CHANNEL_STATE } from './subscription/engine-diagnostics.js';
export type { EngineNotifyEvent, EngineNotifySourceEvent, EngineStateEvent } from './subscription/engine-diagnostics.js';

// Time and randomness, injected: a ManualClock and a SeededRandom make an application's own tests of
// retries and refreshes deterministic, as they make ours.
export { ManualClock, systemClock } from './util/clock.js';
export type { Clock } from './util/clock.js';
export { CryptoRandom, SeededRandom } from './util/random.js';
export type { Random } from './util/random.js';
export { TimerScheduler } from './util/timer-scheduler.js';
export type { Timer } from './util/timer-scheduler.js';
