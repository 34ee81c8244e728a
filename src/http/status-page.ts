import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

/**
 * The status page's files, served as they are (no build step): an HTML page,
 * its script (an ES module, no framework) and its style sheet, from the
 * package's `status-page/` folder (beside `dist/`, shipped in the package).
 * They hold no data and no secret, so they are served without the bearer
 * token; everything the page shows comes from the API, with the token the
 * user gives it.
 */
const FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/status-page/status-page.js': { file: 'status-page.js', type: 'text/javascript; charset=utf-8' },
  '/status-page/status-page.css': { file: 'status-page.css', type: 'text/css; charset=utf-8' },
};

/** dist/src/http → the package root's status-page/. */
const DIRECTORY = new URL('../../../status-page/', import.meta.url);

/**
 * The page's own script and styles only: no inline script, nothing from
 * elsewhere, no framing by another site.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Whether `url` (path and query) is one of the page's files, served without authentication. */
export function isStatusPageAsset(url: string): boolean {
  const path = url.split('?')[0] ?? url;
  return Object.hasOwn(FILES, path);
}

/** Registers GET for each file. A file missing from the installation is a 404 that says so. */
export function registerStatusPage(app: FastifyInstance): void {
  for (const [path, { file, type }] of Object.entries(FILES)) {
    let content: Buffer | undefined;
    try {
      content = readFileSync(new URL(file, DIRECTORY));
    } catch {
      content = undefined;
    }
    app.get(path, async (_request, reply) => {
      if (content === undefined) {
        return reply.code(404).type('application/json').send({ error: { code: 'HTTP_ERR_NOT_FOUND', message: `status page file ${file} is not installed`, field: null } });
      }
      return reply.headers(SECURITY_HEADERS).type(type).send(content);
    });
  }
}
