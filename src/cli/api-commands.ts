export interface ApiOptions {
  api: string;
  token?: string;
  json?: boolean;
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

async function call(options: ApiOptions, method: string, path: string): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const url = new URL(path, options.api.endsWith('/') ? options.api : `${options.api}/`);
  return fetch(url, { method, headers });
}

async function errorText(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    return body.error?.message ?? `${response.status} ${response.statusText}`;
  } catch {
    // Not our JSON error body (a proxy's HTML page, say): the status line says what there is to say.
    return `${response.status} ${response.statusText}`;
  }
}

/** `presence-b2b list`: the daemon's subscriptions, through its HTTP API. */
export async function runList(options: ApiOptions): Promise<number> {
  const response = await call(options, 'GET', 'v1/subscriptions');
  if (!response.ok) {
    process.stderr.write(`list failed: ${await errorText(response)}\n`);
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
  if (response.status === 204) {
    process.stdout.write(`unsubscribed ${id}\n`);
    return 0;
  }
  process.stderr.write(`unsubscribe failed: ${await errorText(response)}\n`);
  return 1;
}
