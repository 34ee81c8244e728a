/** The OpenAPI 3.1 checker of the tests (test/support/openapi-check.ts) finds what it is meant to find. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkOpenApi } from '../../support/openapi-check.js';

type Node = Record<string, unknown>;

/** The object at `keys` inside `doc` (a list index is a key too). */
function at(doc: Node, ...keys: string[]): Node {
  let node: unknown = doc;
  for (const key of keys) node = (node as Node)[key];
  return node as Node;
}

function minimal(): Node {
  return {
    openapi: '3.1.0',
    info: { title: 't', version: '1' },
    components: {
      schemas: { Thing: { type: 'object', properties: { id: { type: 'string' } } } },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    security: [{ bearer: [] }],
    paths: {
      '/things/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          operationId: 'getThing',
          responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } } },
        },
      },
    },
  };
}

test('a minimal valid document has no problems, and its response bodies can be validated', () => {
  const check = checkOpenApi(minimal());
  assert.deepEqual(check.problems, []);
  assert.deepEqual([...check.operations], [['GET /things/{id}', ['200']]]);
  const validate = check.bodyValidator('GET', '/things/{id}', '200');
  assert.ok(validate !== undefined);
  assert.equal(validate({ id: 'a' }), true);
  assert.equal(validate({ id: 1 }), false);
});

test('each kind of mistake is found', () => {
  const op = (d: Node) => at(d, 'paths', '/things/{id}', 'get');
  const cases: Array<[string, (doc: Node) => void, RegExp]> = [
    ['version', (d) => (d.openapi = '3.0.3'), /expected 3\.1\.x/],
    ['info', (d) => delete at(d, 'info').title, /#\/info/],
    ['unknown root field', (d) => (d.path = {}), /unknown field path/],
    ['dangling $ref', (d) => (at(op(d), 'responses', '200', 'content', 'application/json', 'schema').$ref = '#/components/schemas/Nope'), /does not resolve/],
    ['undeclared path parameter', (d) => delete at(d, 'paths', '/things/{id}').parameters, /\{id\} is not declared/],
    ['optional path parameter', (d) => (at(d, 'paths', '/things/{id}', 'parameters', '0').required = false), /must be required/],
    ['bad response code', (d) => (at(op(d), 'responses')['2xx'] = { description: 'x' }), /invalid response code 2xx/],
    ['response without description', (d) => delete at(op(d), 'responses', '200').description, /needs a description/],
    ['no responses', (d) => (op(d).responses = {}), /at least one/],
    ['unknown security scheme', (d) => (op(d).security = [{ apiKey: [] }]), /names no security scheme: apiKey/],
    ['duplicate operationId', (d) => (at(d, 'paths', '/things/{id}').put = { operationId: 'getThing', responses: { '204': { description: 'x' } } }), /not unique/],
    ['not JSON Schema', (d) => (at(d, 'components', 'schemas', 'Thing', 'properties').id = { type: 'strin' }), /not JSON Schema 2020-12/],
    ['unknown schema keyword (strict)', (d) => (at(d, 'components', 'schemas', 'Thing').propertys = {}), /not JSON Schema 2020-12/],
    ['unknown operation field', (d) => (op(d).response = {}), /unknown field response/],
    ['path without /', (d) => (at(d, 'paths').things = {}), /must start with \//],
  ];
  for (const [name, mutate, expected] of cases) {
    const doc = minimal();
    mutate(doc);
    const { problems } = checkOpenApi(doc);
    assert.ok(problems.some((p) => expected.test(p)), `${name}: ${JSON.stringify(problems)}`);
  }
});
