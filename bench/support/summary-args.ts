/**
 * The command line of the bench's summary scripts (profile, heap, survivor, GC log summaries):
 * one input file and `--name value` options. `valued` names the options that take a value, so
 * that a value (`--top 30`) is never taken for the file and a flag (`--total`) never swallows it.
 */
export interface SummaryArgs {
  file: string;
  /** The option's value as a number; `fallback` (or undefined) without the option. */
  number(name: string, fallback: number): number;
  number(name: string): number | undefined;
  text(name: string): string | undefined;
  has(name: string): boolean;
}

/** The file and options of `argv`; without a file, prints `usage` and exits with status 2. */
export function summaryArgs(argv: readonly string[], valued: readonly string[], usage: string): SummaryArgs {
  const valueAt = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const file = argv.find((a, i) => !a.startsWith('--') && !(i > 0 && valued.includes(argv[i - 1]!)));
  if (file === undefined) {
    console.error(`usage: ${usage}`);
    process.exit(2);
  }
  return {
    file,
    number: ((name: string, fallback?: number) => {
      const value = valueAt(name);
      return value === undefined ? fallback : Number(value);
    }) as SummaryArgs['number'],
    text: valueAt,
    has: (name) => argv.includes(name),
  };
}
