export { ServerIncomingRequest } from './incoming-request.js';
export { OutgoingRequest, ourVia } from './outgoing-request.js';
export { requestDestinationUri } from './request-destination.js';
export { escapeUserPart, hostForUri } from './sip-uri-text.js';
export type { AnsweredRetransmissionHandler, IncomingRequestHandler, OutgoingRequestHandle, SendRequestOptions, SipUserAgent } from './types.js';
export { DEFAULT_USER_AGENT, SipUserAgentCore, type SipUserAgentCoreOptions } from './user-agent-core.js';
export type { UserAgentStats } from './user-agent-stats.js';
