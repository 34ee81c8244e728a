/**
 * Reads the Prometheus text exposition format (version 0.0.4) with a small
 * parser: every line must be a sample, a HELP or a TYPE line.
 */
export function parsePrometheusText(text: string): { samples: Map<string, number>; help: Set<string>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const help = new Set<string>();
  const types = new Map<string, string>();
  // Case-insensitive: prom-client writes `Nan` before the first event-loop sample, which Prometheus reads (ParseFloat).
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|NaN|[+-]Inf))(?: \d+)?$/i;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$/.exec(line);
    if (m !== null) {
      help.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m !== null) {
      types.set(m[1]!, m[2]!);
      continue;
    }
    m = sample.exec(line);
    if (m === null) throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
  }
  return { samples, help, types };
}
