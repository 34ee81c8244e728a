import { DIALOG_EVENT_PACKAGE } from './dialog-package.js';
import type { EventPackage } from './event-package.js';
import { PRESENCE_EVENT_PACKAGE } from './presence-package.js';
import { REG_EVENT_PACKAGE } from './reg-package.js';

/** The event packages the B2BUA knows: presence (RFC 3856), reg (RFC 3680), dialog (RFC 4235). */
export const BUILTIN_EVENT_PACKAGES: readonly EventPackage[] = [PRESENCE_EVENT_PACKAGE, REG_EVENT_PACKAGE, DIALOG_EVENT_PACKAGE];

/** Their names, in that order: what createPresenceB2B serves by default. */
export const BUILTIN_PACKAGE_NAMES: readonly string[] = BUILTIN_EVENT_PACKAGES.map((p) => p.name);
