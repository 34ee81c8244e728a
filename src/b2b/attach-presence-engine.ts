import type { NotifierHost, NotifierRegistration } from '../qsa/index.js';
import { PresenceEngine, type PresenceEngineDeps } from '../subscription/presence-engine.js';

/** An engine wired to its UA and broker. */
export interface AttachedPresenceEngine {
  readonly engine: PresenceEngine;
  /** Unsubscribes on the wire (bounded), then stops taking QSA subscriptions. */
  detach(boundMs: number): Promise<void>;
  /** Forgets every dialog without a word on the wire (PresenceEngine.abandon), then stops taking QSA subscriptions. */
  abandon(): void;
}

/**
 * Wires a presence engine in: the UA's NOTIFY handler (481 for a NOTIFY that is
 * not ours, RFC 6665 §4.1.2.4) and, with handle_presence_subscriptions on, the
 * QSA notifier registration for `presence`.
 */
export function attachPresenceEngine(deps: PresenceEngineDeps & { broker: NotifierHost }): AttachedPresenceEngine {
  const engine = new PresenceEngine(deps);
  deps.ua.onRequest('NOTIFY', (incoming) => {
    if (engine.handleNotify(incoming) === -1) incoming.reply(481, 'Subscription does not exist');
  });
  const registration: NotifierRegistration | undefined = deps.settings.handlePresenceSubscriptions
    ? deps.broker.registerNotifier('presence', engine, { name: 'presence-b2b' })
    : undefined;
  return {
    engine,
    async detach(boundMs) {
      // Unsubscribe on the wire first; then no QSA subscription is handed to this notifier any more.
      await engine.close(boundMs);
      if (registration !== undefined) deps.broker.unregisterNotifier(registration);
    },
    abandon() {
      engine.abandon();
      if (registration !== undefined) deps.broker.unregisterNotifier(registration);
    },
  };
}
