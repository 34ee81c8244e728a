import { TOKEN_VARIABLE } from './token-option.js';

export interface ApiOptions {
  api: string;
  token?: string;
  json?: boolean;
  /** Where the token came from, for the hint when it is refused. */
  tokenSource?: 'option' | 'environment';
}

interface SubscriptionRow {
  id: string;
  record: string;
  subscriber: string;
  queue: string;
  state: string;
  dialog?: { state: string; expiresIn?: number };
  lastStatus?: { presence?: { tuples?: Array<{ basic?: string }> } };
}

/** Longest wait for the HTTP API to answer. */
const API_TIMEOUT_MS = 10_000;

/** A request that did not get an answer, said so that a person knows what to do. */
class Unreachable {
  constructor(readonly message: string) {}
}

function baseOf(options: ApiOptions): string {
  return options.api.endsWith('/') ? options.api : `${options.api}/`;
}

/** Why fetch() failed, from its cause's system code. */
function reachProblem(error: unknown, base: string): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? cause.code : undefined;
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer from the HTTP API at ${base} within ${API_TIMEOUT_MS / 1000} s`;
  const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'unknown host' : (code ?? (error instanceof Error ? error.message : String(error)));
  return `cannot reach the HTTP API at ${base} (${why}): is the daemon running? Start it with "presence-b2b start", or give its address with --api`;
}

async function call(options: ApiOptions, method: string, path: string): Promise<Response | Unreachable> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let url: URL;
  try {
    url = new URL(path, baseOf(options));
  } catch {
    return new Unreachable(`--api: expected a URL such as http://127.0.0.1:7080, got ${JSON.stringify(options.api)}`);
  }
  try {
    return await fetch(url, { method, headers, signal: AbortSignal.timeout(API_TIMEOUT_MS) });
  } catch (error) {
    return new Unreachable(reachProblem(error, options.api));
  }
}

/** The error of an answer, with what to do about a 401. */
async function errorText(response: Response, options: ApiOptions): Promise<string> {
  if (response.status === 401) {
    if (options.token === undefined) {
      return `the HTTP API at ${options.api} needs a token (http.token): give --token <token> or set ${TOKEN_VARIABLE}`;
    }
    const from = options.tokenSource === 'environment' ? `${TOKEN_VARIABLE}` : '--token';
    return `the HTTP API at ${options.api} refused the token of ${from}: it is not the daemon's http.token`;
  }
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    return body.error?.message ?? `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** `presence-b2b list`: the daemon's subscriptions, through its HTTP API. */
export async function runList(options: ApiOptions): Promise<number> {
  const response = await call(options, 'GET', 'v1/subscriptions');
  if (response instanceof Unreachable) {
    process.stderr.write(`list: ${response.message}\n`);
    return 1;
  }
  if (!response.ok) {
    process.stderr.write(`list: ${await errorText(response, options)}\n`);
    return 1;
  }
  const body = (await response.json()) as { subscriptions: SubscriptionRow[] };
  if (options.json === true) {
    for (const s of body.subscriptions) process.stdout.write(`${JSON.stringify(s)}\n`);
    return 0;
  }
  if (body.subscriptions.length === 0) {
    process.stdout.write('no subscriptions\n');
    return 0;
  }
  for (const s of body.subscriptions) {
    const basic = s.lastStatus?.presence?.tuples?.find((t) => t.basic !== undefined)?.basic ?? '-';
    const dialog = s.dialog === undefined ? '-' : `${s.dialog.state}${s.dialog.expiresIn !== undefined ? `(${s.dialog.expiresIn}s)` : ''}`;
    process.stdout.write(`${s.id}  ${s.record}  as ${s.subscriber}  queue=${s.queue}  state=${s.state}  basic=${basic}  dialog=${dialog}\n`);
  }
  return 0;
}

/** `presence-b2b unsubscribe <id>`. */
export async function runUnsubscribe(id: string, options: ApiOptions): Promise<number> {
  const response = await call(options, 'DELETE', `v1/subscriptions/${encodeURIComponent(id)}`);
  if (response instanceof Unreachable) {
    process.stderr.write(`unsubscribe: ${response.message}\n`);
    return 1;
  }
  if (response.status === 204) {
    process.stdout.write(`unsubscribed ${id}\n`);
    return 0;
  }
  process.stderr.write(`unsubscribe: ${await errorText(response, options)}\n`);
  return 1;
}
