import type { B2BErrorCode } from '../util/error-codes.js';
import { PresenceB2BError } from '../util/errors.js';

/** Stable codes of ConfigError (`CONFIG_ERR_*`, meanings in src/util/error-codes.ts). */
export type ConfigErrorCode = Extract<B2BErrorCode, `CONFIG_ERR_${string}`>;

/** One problem in the configuration: the key path (`http.token`, `sip.listen.0.port`) and why. */
export interface ConfigProblem {
  path: string;
  message: string;
  /** The environment variable the value came from, when it did. */
  variable?: string;
}

/**
 * The configuration cannot be used. Raised before anything binds; the CLI
 * prints one `config error: <path>: <reason>` line per problem and exits 2.
 */
export class ConfigError extends PresenceB2BError {
  declare readonly code: ConfigErrorCode;
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], code: ConfigErrorCode = 'CONFIG_ERR_INVALID') {
    super(code, problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.path === '' ? '(top level)' : problem.path;
  const from = problem.variable !== undefined ? ` (from ${problem.variable})` : '';
  return `config error: ${where}${from}: ${problem.message}`;
}
