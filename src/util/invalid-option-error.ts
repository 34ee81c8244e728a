import { PresenceB2BError } from './errors.js';

/** One option that cannot be used: where it is (`listen[1].port`) and what was expected instead. */
export interface OptionProblem {
  /** The option's path as the caller wrote it: `defaultExpiration`, `listen[1].port`, `--listen`. */
  option: string;
  /** What was expected and what was given: `expected a whole number from 0 to 65535, got 70000`. */
  message: string;
}

/**
 * Options handed to a factory or constructor (createPresenceB2B, the transport
 * layer, a CLI flag) cannot be used. Thrown before anything is opened, so
 * that a bad option never leaves a socket bound. Code `B2B_ERR_INVALID_OPTION`;
 * the message has one `option: reason` line per problem.
 */
export class InvalidOptionError extends PresenceB2BError {
  /** Every problem found (at least one). */
  readonly problems: readonly OptionProblem[];
  /** The first option at fault. */
  readonly option: string;

  /** `where` prefixes each line of the message (`createPresenceB2B`); without it the option name comes first. */
  constructor(problems: OptionProblem | readonly OptionProblem[], where?: string) {
    const list: readonly OptionProblem[] = Array.isArray(problems) ? problems : [problems as OptionProblem];
    const prefix = where === undefined ? '' : `${where}: `;
    super('B2B_ERR_INVALID_OPTION', list.map((p) => `${prefix}${p.option}: ${p.message}`).join('\n'));
    this.problems = list;
    this.option = list[0]?.option ?? '';
  }
}
