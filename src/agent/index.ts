/** The embedded local presence agent (SER PA with accept_internal_subscriptions). */
export { LocalAgentError } from './agent-error.js';
export type { LocalAgentErrorCode } from './agent-error.js';
export { DEFAULT_AGENT_SETTINGS } from './agent-options.js';
export type { AgentSettings, EmptyPresentityBody, LocalPresenceAgentOptions } from './agent-options.js';
export { LocalPresenceAgent } from './local-presence-agent.js';
export type { LocalPresenceAgentStats, LocalPublishState, PresentitySummary, WatcherSummary } from './local-presence-agent.js';
export { LocalDomains } from './presentity-uri.js';
