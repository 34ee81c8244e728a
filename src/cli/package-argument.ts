import { InvalidArgumentError } from 'commander';
import { BUILTIN_PACKAGE_NAMES } from '../subscription/builtin-packages.js';

/**
 * `watch --package`: an event package the embedded B2BUA serves (presence,
 * reg, dialog), checked before anything is bound or sent, in the HTTP API's
 * words for a package nobody serves; another is a usage error (exit 2).
 * runWatch checks again against what the started stack serves.
 */
export function packageArgument(text: string): string {
  const name = text.trim();
  if (BUILTIN_PACKAGE_NAMES.includes(name)) return name;
  throw new InvalidArgumentError(`package ${JSON.stringify(text)} is not served here; served packages: ${BUILTIN_PACKAGE_NAMES.join(', ')}`);
}
