/**
 * The OpenAPI document describes the status message of each event package:
 * messages made by the engine's own readers from Kamailio's bodies (reg,
 * dialog, a resource list of presence members, a bad body) are turned into
 * the HTTP shape by statusView, validated against the Subscription schema
 * (as `lastStatus`), and every field they carry is declared by the schema
 * (nothing the API sends goes undocumented). The route coverage test in
 * http-api.test.ts sees presence messages only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { statusView } from '../../../src/daemon/status-view.js';
import { openApiDocument } from '../../../src/http/openapi.js';
import type { QsaSubscriptionHandle, StatusMessage, StatusUpdate } from '../../../src/qsa/index.js';
import { createStatusMessage } from '../../../src/qsa/status-message.js';
import { DIALOG_EVENT_PACKAGE } from '../../../src/subscription/dialog-package.js';
import { PRESENCE_EVENT_PACKAGE } from '../../../src/subscription/presence-package.js';
import { REG_EVENT_PACKAGE } from '../../../src/subscription/reg-package.js';
import { ResourceListReader } from '../../../src/subscription/resource-list-reader.js';
import { fixtureFile, fixtureFileText } from '../../support/fixture-files.js';
import { checkOpenApi, resolvePointer } from '../../support/openapi-check.js';

const PACKAGES = ['presence', 'reg', 'dialog'];
const doc = openApiDocument('1.2.3', PACKAGES);
const check = checkOpenApi(doc);

function message(pkg: string, update: StatusUpdate, sequence: number): StatusMessage {
  // Only what createStatusMessage and statusView read of the handle.
  const handle = { id: `s-${pkg}`, record: 'sip:alice@example.com', subscriber: 'sip:bob@example.com', package: pkg } as unknown as QsaSubscriptionHandle;
  return createStatusMessage(handle, update, sequence, 1_700_000_000_000 + sequence);
}

function packageMessages(): Map<string, StatusMessage[]> {
  const out = new Map<string, StatusMessage[]>();
  const active: StatusUpdate = { state: 'active', expires: 600 };

  const reg = REG_EVENT_PACKAGE.newReader();
  out.set(
    'reg',
    ['1-created', '2-refreshed', '3-second-contact', '4-unregistered', '5-expired'].map((name, i) => {
      const body = fixtureFile('reginfo', `kamailio-${name}.xml`);
      return message('reg', { ...active, contentType: 'application/reginfo+xml', body, ...reg.read('application/reginfo+xml', body) }, i);
    }),
  );

  const dialog = DIALOG_EVENT_PACKAGE.newReader();
  out.set(
    'dialog',
    ['1-trying', '2-early', '3-confirmed', '4-terminated'].map((name, i) => {
      const body = fixtureFile('dialoginfo', `kamailio-${name}.xml`);
      return message('dialog', { ...active, contentType: 'application/dialog-info+xml', body, ...dialog.read('application/dialog-info+xml', body) }, i);
    }),
  );

  const list = new ResourceListReader(PRESENCE_EVENT_PACKAGE);
  const members: StatusMessage[] = [];
  for (let n = 1; n <= 5; n++) {
    const contentType = fixtureFileText('rlmi', `kamailio-notify-${n}.content-type`).trim();
    for (const update of list.read(active, contentType, fixtureFile('rlmi', `kamailio-notify-${n}.multipart`)).updates) {
      members.push(message('presence', update, members.length));
    }
  }
  // A broken list body: one message for the list with error and the raw body.
  for (const update of list.read(active, 'multipart/related; boundary=x; type="application/rlmi+xml"', Buffer.from('--y\r\n\r\n')).updates) {
    members.push(message('presence', update, members.length));
  }
  out.set('resource list', members);

  // A bad reg body: error, the raw body and the view as it was.
  const bad = Buffer.from('<reginfo xmlns="urn:ietf:params:xml:ns:reginfo" version="x" state="full"/>');
  out.set('bad body', [message('reg', { ...active, contentType: 'application/reginfo+xml', body: bad, ...reg.read('application/reginfo+xml', bad) }, 0)]);
  return out;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON paths of the values in `value` that `schema` does not declare (properties, items, $ref followed). */
function undeclared(value: unknown, schema: unknown, path: string): string[] {
  if (!isObject(schema)) return [];
  if (typeof schema.$ref === 'string') return undeclared(value, resolvePointer(doc, schema.$ref), path);
  if (Array.isArray(value)) return value.flatMap((v, i) => undeclared(v, schema.items, `${path}[${i}]`));
  if (!isObject(value)) return [];
  const properties = isObject(schema.properties) ? schema.properties : undefined;
  if (properties === undefined) return schema.type === 'object' && schema.description !== undefined ? [] : [`${path} (no properties declared)`];
  return Object.entries(value).flatMap(([key, v]) => (key in properties ? undeclared(v, properties[key], `${path}.${key}`) : [`${path}.${key}`]));
}

test('the package enum is the served packages; the Status schema names reg, dialog and list', () => {
  assert.deepEqual(check.problems, []);
  const schemas = (doc.components as { schemas: Record<string, Json> }).schemas;
  const create = schemas.CreateSubscription!.properties as Record<string, Json>;
  assert.deepEqual(create.package!.enum, PACKAGES);
  assert.deepEqual((openApiDocument('1.2.3').components as { schemas: Record<string, { properties: Record<string, Json> }> }).schemas.CreateSubscription!.properties.package!.enum, [
    'presence',
  ]);
  const status = schemas.Status!.properties as Record<string, Json>;
  assert.deepEqual(status.reg, { $ref: '#/components/schemas/RegInfo' });
  assert.deepEqual(status.dialog, { $ref: '#/components/schemas/DialogInfo' });
  assert.equal(status.list?.type, 'string');
});

test('each package’s status messages, as the API sends them, are valid and fully declared by the OpenAPI document', () => {
  const validate = check.bodyValidator('GET', '/v1/subscriptions/{id}', '200');
  assert.ok(validate !== undefined);
  const statusSchema = { $ref: '#/components/schemas/Status' };
  const seen = new Set<string>();
  for (const [kind, messages] of packageMessages()) {
    assert.ok(messages.length > 0, kind);
    for (const m of messages) {
      const view = statusView(m) as unknown as Json;
      for (const key of Object.keys(view)) seen.add(key);
      const subscription = { id: m.subscriptionId, record: m.record, subscriber: m.subscriber, package: m.package, queue: 'default', createdAt: view.timestamp, state: m.state, lastStatus: view };
      assert.ok(validate(subscription), `${kind}: ${JSON.stringify(validate.errors)} ${JSON.stringify(view)}`);
      assert.deepEqual(undeclared(view, statusSchema, 'Status'), [], `${kind}: ${JSON.stringify(view)}`);
    }
  }
  for (const key of ['reg', 'dialog', 'presence', 'list', 'error', 'body']) assert.ok(seen.has(key), `some message carries ${key}`);
});
