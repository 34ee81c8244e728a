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
 * not ours, RFC 6665 §4.1.2.4) and, with handle_presence_subscriptions on, one
 * QSA notifier registration per event package the engine knows (`presence`,
 * `reg`, `dialog` by default). One engine serves them all: one registry for
 * NOTIFY matching, one max_subscribe_rate, one shutdown (docs/event-packages.md §1).
 */
export function attachPresenceEngine(deps: PresenceEngineDeps & { broker: NotifierHost }): AttachedPresenceEngine {
  const engine = new PresenceEngine(deps);
  deps.ua.onRequest('NOTIFY', (incoming) => {
    if (engine.handleNotify(incoming) === -1) incoming.reply(481, 'Subscription does not exist');
  });
  // A NOTIFY that came again after its answer: the server may drop the subscription if no answer reaches it.
  deps.ua.onAnsweredRetransmission?.('NOTIFY', (request) => engine.answerLost(request));
  const registrations: NotifierRegistration[] = deps.settings.handlePresenceSubscriptions
    ? engine.packageNames().map((pkg) => deps.broker.registerNotifier(pkg, engine, { name: 'presence-b2b' }))
    : [];
  return {
    engine,
    async detach(boundMs) {
      // Unsubscribe on the wire first; then no QSA subscription is handed to this notifier any more.
      await engine.close(boundMs);
      for (const registration of registrations) deps.broker.unregisterNotifier(registration);
    },
    abandon() {
      engine.abandon();
      for (const registration of registrations) deps.broker.unregisterNotifier(registration);
    },
  };
}
