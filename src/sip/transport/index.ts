export type { ListenSpec, MessageHandler, ReceivedFrom, SendErrorHandler, SipEndpoint, SipTransport } from './types.js';
export type { SipTransportErrorCode } from './errors.js';
export type { ObservedSipMessage, SipMessageObserver } from './message-observer.js';
export { SipTransportError } from './errors.js';
export type {
  SipTransportLayerOptions,
  TransportDiagnostic,
  TransportDiagnosticKind,
  TransportStats,
} from './transport-options.js';
export { SipTransportLayer } from './transport-layer.js';
export { defaultPort } from './default-port.js';
export { responseDestination } from './response-routing.js';
export { stampTopVia, stampedVia, stampViaText } from './via-stamping.js';
export { badRequestReason, buildBadRequestResponse, classifyMalformed, readMalformedRequestHead } from './bad-request.js';
