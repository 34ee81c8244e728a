/** Counters of the local presence agent (updated in place). */
export interface LocalPresenceAgentStats {
  /** Publications taken: SIP PUBLISH and in-process publish() (the HTTP API's PUT /v1/presentities) alike. */
  publishesAccepted: number;
  publishesRejected: number;
  subscribesAccepted: number;
  subscribesRejected: number;
  notifiesSent: number;
  /** NOTIFYs answered with a non-2xx response (or none at all). */
  notifyFailures: number;
  publicationsExpired: number;
  subscriptionsExpired: number;
}

export function emptyAgentStats(): LocalPresenceAgentStats {
  return {
    publishesAccepted: 0,
    publishesRejected: 0,
    subscribesAccepted: 0,
    subscribesRejected: 0,
    notifiesSent: 0,
    notifyFailures: 0,
    publicationsExpired: 0,
    subscriptionsExpired: 0,
  };
}
