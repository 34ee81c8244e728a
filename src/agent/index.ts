/** The embedded local presence agent (SER PA with accept_internal_subscriptions). */
export { LocalAgentError } from './agent-error.js';
export type { LocalAgentErrorCode } from './agent-error.js';
export { DEFAULT_AGENT_SETTINGS } from './agent-options.js';
export type { AgentSettings, EmptyPresentityBody, LocalPresenceAgentOptions, UpstreamBroker, UserAgentSource } from './agent-options.js';
export type { LocalPresenceAgentStats } from './agent-stats.js';
export { LocalPresenceAgent } from './local-presence-agent.js';
export type { LocalPublishState, PresentitySummary, WatcherSummary } from './local-presence-agent.js';
export { LocalDomains } from './presentity-uri.js';
export type { SipWatcherSummary } from './subscribe-handler.js';
