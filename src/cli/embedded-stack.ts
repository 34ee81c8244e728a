import { createPresenceB2B, type PresenceB2B } from '../b2b/create-presence-b2b.js';
import type { ListenSpec } from '../sip/transport/types.js';
import type { CredentialLookup } from '../subscription/presence-engine.js';

export interface EmbeddedStackOptions {
  /** The sockets to open (listenSpecsFor: --listen plus what the target needs). */
  listen: ListenSpec[];
  /** Outbound proxy for out-of-dialog requests (presence_outbound_proxy). */
  proxy?: string;
  /** Whether the B2BUA answers QSA subscriptions (presence, reg, dialog; watch: yes; publish: no). */
  subscriptions: boolean;
  credentials?: CredentialLookup;
  /** Records to subscribe to as resource lists (RFC 4662). */
  resourceListRecords?: readonly string[];
}

/** A private B2BUA for the one-shot CLI commands: its own sockets, broker and timers. */
export function startEmbeddedStack(options: EmbeddedStackOptions): Promise<PresenceB2B> {
  return createPresenceB2B({
    listen: options.listen,
    handlePresenceSubscriptions: options.subscriptions,
    presenceOutboundProxy: options.proxy ?? '',
    // A one-shot watcher has no business waiting long for a final NOTIFY when it leaves.
    waitForTermNotify: 2,
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.resourceListRecords !== undefined ? { resourceListRecords: options.resourceListRecords } : {}),
    userAgent: 'presence-b2b-cli',
  });
}

/** Credentials for any realm from --user/--password (a CLI acts as one identity). */
export function cliCredentials(user: string | undefined, password: string | undefined): CredentialLookup | undefined {
  if (password === undefined) return undefined;
  return (subscriber) => ({ username: user ?? userPartOf(subscriber), password });
}

function userPartOf(uri: string): string {
  const m = /^sips?:([^@;>]+)@/i.exec(uri.replace(/^</, ''));
  return m?.[1] ?? '';
}
