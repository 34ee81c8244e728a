/**
 * `list` and `unsubscribe` say what they tried and how to fix it: no daemon
 * at the address, a token required, a token refused. Against a local HTTP
 * server that answers like the daemon's API (127.0.0.1, ephemeral port).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { runList, runUnsubscribe } from '../../../src/cli/api-commands.js';
import { tokenFrom } from '../../../src/cli/token-option.js';

const TOKEN = 'right-token-123';
let server: Server;
let api: string;

before(async () => {
  server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="presence-b2b"' });
      res.end(JSON.stringify({ error: { code: 'HTTP_ERR_UNAUTHORIZED', message: 'a bearer token is required', field: null } }));
      return;
    }
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"subscriptions":[]}');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'HTTP_ERR_NO_SUBSCRIPTION', message: 'no subscription s9', field: 'id' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => server.close());

/**
 * Runs `fn` with process.stdout/stderr captured. The commands write text; a Buffer on stdout
 * is node:test's own report to the runner (`node --test` reads a file's results from its
 * stdout), written while another test file of the same process is loading (`npm test` runs
 * the unit files in one process): it goes through, or its results would be lost.
 */
async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = process.stdout.write;
  const stderr = process.stderr.write;
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (typeof chunk !== 'string') return stdout.call(process.stdout, chunk, ...rest);
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => {
    err += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await fn(), out, err };
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

test('no daemon at the address: says so, how to start it, and --api', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise((resolve) => closed.close(resolve));
  const result = await captured(() => runList({ api: `http://127.0.0.1:${port}` }));
  assert.equal(result.code, 1);
  assert.equal(
    result.err,
    `list: cannot reach the HTTP API at http://127.0.0.1:${port} (connection refused): is the daemon running? Start it with "presence-b2b start", or give its address with --api\n`,
  );
  const unsubscribe = await captured(() => runUnsubscribe('s1', { api: `http://127.0.0.1:${port}` }));
  assert.match(unsubscribe.err, /^unsubscribe: cannot reach the HTTP API/);
});

test('a token required: names --token and the environment variable; a wrong one says where it came from', async () => {
  const none = await captured(() => runList({ api }));
  assert.equal(none.code, 1);
  assert.equal(none.err, `list: the HTTP API at ${api} needs a token (http.token): give --token <token> or set PRESENCE_B2B_HTTP__TOKEN\n`);
  const wrong = await captured(() => runList({ api, ...tokenFrom('nope', {}) }));
  assert.match(wrong.err, /refused the token of --token: it is not the daemon's http\.token/);
  const fromEnv = await captured(() => runList({ api, ...tokenFrom(undefined, { PRESENCE_B2B_HTTP__TOKEN: 'nope' }) }));
  assert.match(fromEnv.err, /refused the token of PRESENCE_B2B_HTTP__TOKEN/);
  const right = await captured(() => runList({ api, ...tokenFrom(undefined, { PRESENCE_B2B_HTTP__TOKEN: TOKEN }) }));
  assert.deepEqual([right.code, right.out, right.err], [0, 'no subscriptions\n', '']);
  const missing = await captured(() => runUnsubscribe('s9', { api, token: TOKEN }));
  assert.deepEqual([missing.code, missing.err], [1, 'unsubscribe: no subscription s9\n']);
});
