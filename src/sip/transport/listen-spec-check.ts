import { createSecureContext } from 'node:tls';
import type { OptionProblem } from '../../util/invalid-option-error.js';
import { booleanProblem, describeValue, hostProblem, wholeNumberProblem } from '../../util/option-checks.js';
import type { ListenSpec } from './types.js';

const TRANSPORTS = ['udp', 'tcp', 'tls'];

/**
 * Every problem of a list of ListenSpecs, found before anything binds, each
 * naming its entry (`listen[1].port`): transport, bind host, port, advertised
 * host, and for TLS a key and certificate that load and belong together
 * (node's createSecureContext, the check the listener itself would fail later).
 */
export function listenSpecProblems(listen: unknown, option = 'listen'): OptionProblem[] {
  if (!Array.isArray(listen)) return [{ option, message: `expected a list of { transport, host, port }, got ${describeValue(listen)}` }];
  if (listen.length === 0) return [{ option, message: 'expected at least one listening socket, got an empty list' }];
  const problems: OptionProblem[] = [];
  const seen = new Map<string, number>();
  listen.forEach((spec: unknown, index) => {
    const at = `${option}[${index}]`;
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      problems.push({ option: at, message: `expected { transport, host, port }, got ${describeValue(spec)}` });
      return;
    }
    const s = spec as Partial<Record<keyof ListenSpec, unknown>>;
    const add = (key: string, message: string | undefined): void => {
      if (message !== undefined) problems.push({ option: `${at}.${key}`, message });
    };
    if (typeof s.transport !== 'string' || !TRANSPORTS.includes(s.transport)) {
      add('transport', `expected "udp", "tcp" or "tls", got ${describeValue(s.transport)}`);
    }
    add('host', typeof s.host === 'string' && s.host.startsWith('[') ? `expected an address to bind without brackets, got ${describeValue(s.host)}` : hostProblem(s.host));
    add('port', wholeNumberProblem(s.port, 0, 65535));
    if (s.advertisedHost !== undefined) add('advertisedHost', hostProblem(s.advertisedHost));
    if (s.transport === 'tls') add('tls', tlsProblem(s.tls));
    else if (s.tls !== undefined && TRANSPORTS.includes(String(s.transport))) add('tls', `only meaningful for transport tls, not ${String(s.transport)}`);
    // The same socket twice would fail with EADDRINUSE half-way through the start.
    if (typeof s.port === 'number' && s.port !== 0 && typeof s.host === 'string') {
      const key = `${String(s.transport)} ${s.host.toLowerCase()} ${s.port}`;
      const first = seen.get(key);
      if (first !== undefined) add('port', `expected each socket once, got ${String(s.transport)} ${s.host}:${s.port} a second time (entry ${first} has it)`);
      else seen.set(key, index);
    }
  });
  return problems;
}

function isPem(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.length > 0);
}

function tlsProblem(tls: unknown): string | undefined {
  if (typeof tls !== 'object' || tls === null) return `expected { key, cert } (PEM) for transport tls, got ${describeValue(tls)}`;
  const t = tls as { key?: unknown; cert?: unknown; ca?: unknown; rejectUnauthorized?: unknown };
  if (!isPem(t.key)) return `expected key: a PEM private key (string or Buffer), got ${describeValue(t.key)}`;
  if (!isPem(t.cert)) return `expected cert: a PEM certificate (string or Buffer), got ${describeValue(t.cert)}`;
  if (t.ca !== undefined && !isPem(t.ca)) return `expected ca: PEM certificates (string or Buffer), got ${describeValue(t.ca)}`;
  if (t.rejectUnauthorized !== undefined) {
    const problem = booleanProblem(t.rejectUnauthorized);
    if (problem !== undefined) return `rejectUnauthorized: ${problem}`;
  }
  try {
    createSecureContext({ key: t.key, cert: t.cert, ...(t.ca !== undefined ? { ca: t.ca as string | Buffer } : {}) });
  } catch (error) {
    // OpenSSL's reason (e.g. "key values mismatch", "no start line") says what is wrong with the files.
    return `expected a PEM key and certificate that belong together: ${error instanceof Error ? error.message : String(error)}`;
  }
  return undefined;
}
