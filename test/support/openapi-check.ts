/**
 * A structural validator for OpenAPI 3.1 documents, for our own API's
 * document: the objects and fields the specification defines (OpenAPI 3.1.0
 * §4.8), path templates against path parameters, unique operation ids,
 * response codes, security requirements naming a scheme, every `$ref`
 * resolving; and every Schema Object compiled as JSON Schema 2020-12 by ajv
 * in strict mode (unknown keywords and formats are errors), which also gives
 * the validators the HTTP tests check response bodies with.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const ROOT_FIELDS = ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs'];
const PATH_ITEM_FIELDS = ['$ref', 'summary', 'description', 'servers', 'parameters', ...METHODS];
const OPERATION_FIELDS = ['tags', 'summary', 'description', 'externalDocs', 'operationId', 'parameters', 'requestBody', 'responses', 'callbacks', 'deprecated', 'security', 'servers'];
const COMPONENT_FIELDS = ['schemas', 'responses', 'parameters', 'examples', 'requestBodies', 'headers', 'securitySchemes', 'links', 'callbacks', 'pathItems'];
const PARAMETER_FIELDS = ['name', 'in', 'description', 'required', 'deprecated', 'allowEmptyValue', 'style', 'explode', 'allowReserved', 'schema', 'example', 'examples', 'content'];
const RESPONSE_FIELDS = ['description', 'headers', 'content', 'links'];
const MEDIA_TYPE_FIELDS = ['schema', 'example', 'examples', 'encoding'];
const SCHEMAS_ID = 'https://presence-b2b.invalid/openapi/schemas';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fields outside `allowed` (extensions `x-…` aside). */
function unknownFields(object: Json, allowed: readonly string[]): string[] {
  return Object.keys(object).filter((k) => !allowed.includes(k) && !k.startsWith('x-'));
}

/** Resolves a local JSON pointer (`#/components/schemas/Error`). */
export function resolvePointer(document: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isObject(node) || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

/** Follows a Reference Object (`{ $ref }`) to its target, once. */
function deref(document: Json, value: unknown): unknown {
  return isObject(value) && typeof value.$ref === 'string' ? resolvePointer(document, value.$ref) : value;
}

/** Schema Objects use `#/components/schemas/X`; for ajv they live in one schema of their own. */
function forAjv(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${SCHEMAS_ID}#/$defs/`));
}

export interface OpenApiCheck {
  problems: string[];
  /** The operations: `METHOD /path/{param}` → its documented response codes. */
  operations: Map<string, string[]>;
  /** A validator for the JSON body of a documented response, when it has a JSON schema. */
  bodyValidator(method: string, path: string, status: string): ValidateFunction | undefined;
}

/** Checks `document` as an OpenAPI 3.1 document; an empty `problems` list means valid. */
export function checkOpenApi(document: unknown): OpenApiCheck {
  const problems: string[] = [];
  const operations = new Map<string, string[]>();
  const validators = new Map<string, ValidateFunction>();
  const result: OpenApiCheck = { problems, operations, bodyValidator: (m, p, s) => validators.get(`${m.toUpperCase()} ${p} ${s}`) };
  if (!isObject(document)) {
    problems.push('the document is not an object');
    return result;
  }
  const problem = (where: string, what: string) => problems.push(`${where}: ${what}`);

  // Every $ref anywhere resolves.
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) {
      for (const [i, n] of node.entries()) walk(n, `${where}/${i}`);
    } else if (isObject(node)) {
      if (typeof node.$ref === 'string' && resolvePointer(document, node.$ref) === undefined) problem(where, `$ref ${node.$ref} does not resolve`);
      for (const [k, v] of Object.entries(node)) walk(v, `${where}/${k}`);
    }
  };
  walk(document, '#');

  for (const f of unknownFields(document, ROOT_FIELDS)) problem('#', `unknown field ${f}`);
  if (typeof document.openapi !== 'string' || !/^3\.1\.\d+$/.test(document.openapi)) problem('#/openapi', `expected 3.1.x, got ${JSON.stringify(document.openapi)}`);
  const info = document.info;
  if (!isObject(info) || typeof info.title !== 'string' || typeof info.version !== 'string') problem('#/info', 'required: an object with title and version strings');
  if (document.servers !== undefined) {
    if (!Array.isArray(document.servers) || !document.servers.every((s) => isObject(s) && typeof s.url === 'string')) problem('#/servers', 'expected a list of { url }');
  }

  // Components.
  const components = isObject(document.components) ? document.components : {};
  for (const f of unknownFields(components, COMPONENT_FIELDS)) problem('#/components', `unknown field ${f}`);
  for (const [kind, entries] of Object.entries(components)) {
    if (!isObject(entries)) {
      problem(`#/components/${kind}`, 'expected a map');
      continue;
    }
    for (const name of Object.keys(entries)) if (!/^[a-zA-Z0-9._-]+$/.test(name)) problem(`#/components/${kind}`, `invalid name ${name}`);
  }
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  for (const [name, scheme] of Object.entries(schemes)) {
    const where = `#/components/securitySchemes/${name}`;
    if (!isObject(scheme)) {
      problem(where, 'expected an object');
      continue;
    }
    if (!['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'].includes(String(scheme.type))) problem(where, `invalid type ${JSON.stringify(scheme.type)}`);
    if (scheme.type === 'http' && typeof scheme.scheme !== 'string') problem(where, 'http needs scheme');
    if (scheme.type === 'apiKey' && (typeof scheme.name !== 'string' || !['query', 'header', 'cookie'].includes(String(scheme.in)))) {
      problem(where, 'apiKey needs name and in (query, header or cookie)');
    }
  }
  const checkSecurity = (security: unknown, where: string): void => {
    if (security === undefined) return;
    if (!Array.isArray(security)) {
      problem(where, 'expected a list of security requirements');
      return;
    }
    for (const requirement of security) {
      if (!isObject(requirement)) problem(where, 'a security requirement is not an object');
      else for (const name of Object.keys(requirement)) if (!(name in schemes)) problem(where, `names no security scheme: ${name}`);
    }
  };
  checkSecurity(document.security, '#/security');

  // Schemas: JSON Schema 2020-12, compiled by ajv in strict mode.
  const ajv = new Ajv2020({ strict: true, allErrors: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/ } });
  const schemas = isObject(components.schemas) ? components.schemas : {};
  try {
    ajv.addSchema(forAjv({ $id: SCHEMAS_ID, $defs: schemas }) as Json);
    for (const name of Object.keys(schemas)) ajv.getSchema(`${SCHEMAS_ID}#/$defs/${name}`);
  } catch (error) {
    problem('#/components/schemas', `not JSON Schema 2020-12: ${error instanceof Error ? error.message : String(error)}`);
  }
  const compile = (schema: unknown, where: string): ValidateFunction | undefined => {
    if (!isObject(schema)) {
      problem(where, 'a schema is not an object');
      return undefined;
    }
    try {
      return ajv.compile(forAjv(schema) as Json);
    } catch (error) {
      problem(where, `not JSON Schema 2020-12: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };
  const checkContent = (content: unknown, where: string): Map<string, ValidateFunction> => {
    const out = new Map<string, ValidateFunction>();
    if (!isObject(content)) {
      problem(where, 'content: expected a map of media types');
      return out;
    }
    for (const [type, media] of Object.entries(content)) {
      if (!/^[a-z*]+\/[a-z0-9.+*-]+$/.test(type)) problem(where, `invalid media type ${type}`);
      if (!isObject(media)) {
        problem(`${where}/${type}`, 'expected a Media Type Object');
        continue;
      }
      for (const f of unknownFields(media, MEDIA_TYPE_FIELDS)) problem(`${where}/${type}`, `unknown field ${f}`);
      if (media.schema !== undefined) {
        const validator = compile(media.schema, `${where}/${type}/schema`);
        if (validator !== undefined) out.set(type, validator);
      }
    }
    return out;
  };

  // Paths and operations.
  const operationIds = new Set<string>();
  if (!isObject(document.paths)) problem('#/paths', 'required: a map of paths');
  for (const [path, rawItem] of Object.entries(isObject(document.paths) ? document.paths : {})) {
    const where = `#/paths/${path}`;
    if (!path.startsWith('/')) problem(where, 'a path must start with /');
    const item = deref(document, rawItem);
    if (!isObject(item)) {
      problem(where, 'expected a Path Item Object');
      continue;
    }
    for (const f of unknownFields(item, PATH_ITEM_FIELDS)) problem(where, `unknown field ${f}`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      const at = `${where}/${method}`;
      if (!isObject(operation)) {
        problem(at, 'expected an Operation Object');
        continue;
      }
      for (const f of unknownFields(operation, OPERATION_FIELDS)) problem(at, `unknown field ${f}`);
      if (operation.operationId !== undefined) {
        if (typeof operation.operationId !== 'string' || operationIds.has(operation.operationId)) problem(at, `operationId missing or not unique: ${String(operation.operationId)}`);
        operationIds.add(String(operation.operationId));
      }
      checkSecurity(operation.security, `${at}/security`);
      // Parameters: the path item's, overridden by the operation's (same name and location).
      const parameters = new Map<string, Json>();
      for (const [list, origin] of [
        [item.parameters, where],
        [operation.parameters, at],
      ] as const) {
        if (list === undefined) continue;
        if (!Array.isArray(list)) {
          problem(origin, 'parameters: expected a list');
          continue;
        }
        const seen = new Set<string>();
        for (const raw of list) {
          const parameter = deref(document, raw);
          if (!isObject(parameter) || typeof parameter.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(String(parameter.in))) {
            problem(origin, `a parameter without name or with an invalid in: ${JSON.stringify(raw)}`);
            continue;
          }
          for (const f of unknownFields(parameter, PARAMETER_FIELDS)) problem(origin, `parameter ${parameter.name}: unknown field ${f}`);
          const key = `${parameter.in}:${parameter.name}`;
          if (seen.has(key)) problem(origin, `parameter ${key} listed twice`);
          seen.add(key);
          if ((parameter.schema === undefined) === (parameter.content === undefined)) problem(origin, `parameter ${parameter.name}: exactly one of schema and content`);
          if (parameter.schema !== undefined) compile(parameter.schema, `${origin}/parameters/${parameter.name}`);
          if (parameter.in === 'path' && parameter.required !== true) problem(origin, `path parameter ${parameter.name} must be required`);
          parameters.set(key, parameter);
        }
      }
      const pathParameters = [...parameters.values()].filter((p) => p.in === 'path').map((p) => String(p.name));
      for (const name of templated) if (!pathParameters.includes(name)) problem(at, `path parameter {${name}} is not declared`);
      for (const name of pathParameters) if (!templated.includes(name)) problem(at, `path parameter ${name} is not in the path`);
      if (operation.requestBody !== undefined) {
        const body = deref(document, operation.requestBody);
        if (!isObject(body) || body.content === undefined) problem(at, 'requestBody: content is required');
        else checkContent(body.content, `${at}/requestBody`);
      }
      const responses = operation.responses;
      if (!isObject(responses) || Object.keys(responses).length === 0) {
        problem(at, 'responses: required, at least one');
        continue;
      }
      const codes: string[] = [];
      for (const [code, raw] of Object.entries(responses)) {
        if (!/^(?:[1-5](?:\d\d|XX)|default)$/.test(code)) problem(at, `invalid response code ${code}`);
        const response = deref(document, raw);
        if (!isObject(response) || typeof response.description !== 'string') {
          problem(`${at}/responses/${code}`, 'a Response Object needs a description');
          continue;
        }
        for (const f of unknownFields(response, RESPONSE_FIELDS)) problem(`${at}/responses/${code}`, `unknown field ${f}`);
        if (response.headers !== undefined && !isObject(response.headers)) problem(`${at}/responses/${code}`, 'headers: expected a map');
        if (response.content !== undefined) {
          const validator = checkContent(response.content, `${at}/responses/${code}`).get('application/json');
          if (validator !== undefined) validators.set(`${method.toUpperCase()} ${path} ${code}`, validator);
        }
        codes.push(code);
      }
      operations.set(`${method.toUpperCase()} ${path}`, codes.sort());
    }
  }
  return result;
}
