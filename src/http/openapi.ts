/**
 * The OpenAPI 3.1 document, generated from the same route declarations the router is built from
 * (route.ts), so the two cannot disagree. Request schemas are the zod schemas' input side (what a
 * client sends, before coercion and defaults); response schemas their output side.
 */
import { z } from 'zod';
import { ACCESS_COOKIE } from './middleware/auth.js';
import type { RouteSpec } from './route.js';
import { STATUS_OF } from './status.js';
import { TAG_DESCRIPTIONS } from './tags.js';

type JsonSchema = Record<string, unknown>;

/**
 * A path served outside the router (e.g. /images/:file by its own middleware), documented with
 * the same fields as a route.
 */
export type DocumentedPath = Omit<RouteSpec, 'handler' | 'before'>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string; license?: { name: string } };
  servers?: { url: string; description?: string }[];
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: {
    schemas: Record<string, JsonSchema>;
    securitySchemes: Record<string, unknown>;
    responses: Record<string, unknown>;
  };
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** docs/api.md's error body, the same for every status. */
const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(STATUS_OF), description: 'Stable, machine-readable code' },
        message: { type: 'string', description: 'A sentence for people' },
        details: { type: 'array', items: { type: 'object', additionalProperties: true } },
      },
    },
  },
};

const DEFAULT_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (VALIDATION_FAILED, INVALID_JSON)',
  401: 'Not signed in (UNAUTHENTICATED)',
  403: 'Signed in by cookie, but sent from another site: Origin (or Sec-Fetch-Site) is neither the store nor one of CORS_ORIGINS (FORBIDDEN)',
  413: 'The request body is larger than 100 kB (PAYLOAD_TOO_LARGE)',
  415: 'The request body is not JSON (UNSUPPORTED_MEDIA_TYPE)',
  429: 'Too many attempts (RATE_LIMITED); see Retry-After',
  500: 'Unexpected failure (INTERNAL); the body names only the request id',
  503: 'A dependency is unavailable',
};

/** `/api/products/:id` → `/api/products/{id}`; also `{/:opt}` groups → `/{opt}`. */
export function toOpenApiPath(path: string): string {
  return path
    .replace(/\{([^}]*)\}/g, '$1')
    .replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')
    .replace(/\*([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** Path parameter names, in order. */
function pathParams(openApiPath: string): string[] {
  return [...openApiPath.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
}

/**
 * zod writes every `.int()` as bounded by ±Number.MAX_SAFE_INTEGER. In what the store answers that
 * says nothing, and renderers take the bound as the example value (a total of -9007199254740991 on
 * /api/docs), so answers drop it; requests keep it, since it is what the store accepts.
 */
function dropSafeIntegerBounds(ctx: { jsonSchema: JsonSchema }): void {
  if (ctx.jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete ctx.jsonSchema.minimum;
  if (ctx.jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete ctx.jsonSchema.maximum;
}

/**
 * A zod schema as an OpenAPI 3.1 schema object (JSON Schema 2020-12). Named sub-schemas
 * (`$defs`, from `.meta({id})` or recursion) are moved to components so `$ref`s resolve
 * against the document.
 */
function schemaOf(schema: z.ZodType, io: 'input' | 'output', components: Record<string, JsonSchema>): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    override: io === 'output' ? dropSafeIntegerBounds : undefined,
  }) as JsonSchema;
  delete json.$schema;
  const defs = json.$defs as Record<string, JsonSchema> | undefined;
  if (!defs) return json;
  delete json.$defs;
  const rename = new Map<string, string>();
  for (const [name, def] of Object.entries(defs)) {
    let target = name;
    for (let i = 2; components[target] && JSON.stringify(components[target]) !== JSON.stringify(def); i++) target = `${name}${i}`;
    rename.set(name, target);
  }
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) {
      const m = k === '$ref' && typeof v === 'string' ? /^#\/\$defs\/(.+)$/.exec(v) : null;
      out[k] = m ? `#/components/schemas/${rename.get(m[1]) ?? m[1]}` : rewrite(v);
    }
    return out;
  };
  for (const [name, def] of Object.entries(defs)) components[rename.get(name)!] = rewrite(def) as JsonSchema;
  return rewrite(json) as JsonSchema;
}

function queryParameters(schema: z.ZodType, components: Record<string, JsonSchema>): unknown[] {
  const json = schemaOf(schema, 'input', components);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    };
  });
}

function operationOf(r: DocumentedPath, openApiPath: string, components: Record<string, JsonSchema>): Record<string, unknown> {
  const parameters: unknown[] = pathParams(openApiPath).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
  if (r.query) parameters.push(...queryParameters(r.query, components));
  for (const h of r.headers ?? [])
    parameters.push({ name: h.name, in: 'header', required: h.required ?? false, description: h.description, schema: { type: 'string' } });

  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(r.responses)) {
    const code = Number(status);
    const contentType = spec.contentType ?? 'application/json';
    let schema: JsonSchema | undefined;
    if (spec.schema) schema = schemaOf(spec.schema, 'output', components);
    else if (code >= 400) schema = ERROR_REF;
    responses[status] = {
      description: spec.description,
      ...(schema
        ? { content: { [contentType]: { schema } } }
        : code === 204
          ? {}
          : contentType !== 'application/json'
            ? { content: { [contentType]: {} } }
            : {}),
    };
  }
  // What every route can answer, unless the route says more precisely.
  const common: number[] = [500];
  if (r.body || r.upload || r.query || pathParams(openApiPath).length) common.push(400);
  if (r.body || r.upload) common.push(413, 415);
  const auth = r.auth || r.permission !== undefined;
  if (auth) common.push(401);
  if (r.permission) {
    responses[403] ??= {
      description: `FORBIDDEN: the caller's role lacks \`${r.permission}\` (docs/api.md, Admin API), or a cookie session from another site`,
      content: { 'application/json': { schema: ERROR_REF } },
    };
  }
  // The cookie sessions' origin check (middleware/origin.ts) applies to every state-changing method.
  if (r.method !== 'get' && r.cookieSession !== false) common.push(403);
  for (const code of common) responses[code] ??= { $ref: `#/components/responses/Error${code}` };

  return {
    operationId: operationId(r.method, openApiPath),
    summary: r.summary,
    tags: [r.tag],
    // A public operation says so (an empty list: no scheme needed) rather than leaving it unsaid.
    security: auth ? [{ cookieAuth: [] }, { bearerAuth: [] }] : [],
    ...(r.permission ? { 'x-permission': r.permission } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(r.body, 'input', components) } } } } : {}),
    ...(r.upload ? { requestBody: uploadBodyOf(r.upload) } : {}),
    responses,
  };
}

/** A route's `upload` (middleware/upload.ts): a multipart/form-data body with one file field. */
function uploadBodyOf(upload: NonNullable<DocumentedPath['upload']>): Record<string, unknown> {
  return {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: [upload.field],
          properties: { [upload.field]: { type: 'string', contentMediaType: 'application/octet-stream', description: upload.description } },
          additionalProperties: false,
        },
        ...(upload.mediaTypes ? { encoding: { [upload.field]: { contentType: upload.mediaTypes.join(', ') } } } : {}),
      },
    },
    description: `One file in the form field \`${upload.field}\`, at most ${Math.round(upload.maxBytes / 1024 / 1024)} MB.`,
  };
}

function operationId(method: string, openApiPath: string): string {
  const words = openApiPath
    .replace(/^\/api\//, '/')
    .split(/[/{}._-]+/)
    .filter(Boolean);
  return method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}

export interface OpenApiInfo {
  title?: string;
  version: string;
  description?: string;
  /** The API's licence, e.g. package.json's `license` field. */
  license?: string;
}

/** Builds the document; two routes with the same method and path are a programming error. */
export function buildOpenApi(routes: DocumentedPath[], info: OpenApiInfo): OpenApiDocument {
  const components: Record<string, JsonSchema> = { Error: ERROR_SCHEMA };
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const r of routes) {
    const p = toOpenApiPath(r.path);
    paths[p] ??= {};
    const item = paths[p];
    if (item[r.method]) throw new Error(`OpenAPI: ${r.method.toUpperCase()} ${r.path} is declared twice`);
    item[r.method] = operationOf(r, p, components);
    tags.add(r.tag);
  }
  // Only the shared error answers some operation refers to: an unused component is noise.
  const used = new Set(JSON.stringify(paths).match(/#\/components\/responses\/[A-Za-z0-9]+/g) ?? []);
  const responses: Record<string, unknown> = {};
  for (const [code, description] of Object.entries(DEFAULT_DESCRIPTIONS)) {
    if (!used.has(`#/components/responses/Error${code}`)) continue;
    responses[`Error${code}`] = { description, content: { 'application/json': { schema: ERROR_REF } } };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'watchstore API',
      version: info.version,
      ...(info.description ? { description: info.description } : {}),
      ...(info.license ? { license: { name: info.license } } : {}),
    },
    // Relative: the document describes the store that serves it, whatever its host name.
    servers: [{ url: '/', description: 'The store serving this document' }],
    tags: [...tags].sort().map((name) => (TAG_DESCRIPTIONS[name] ? { name, description: TAG_DESCRIPTIONS[name] } : { name })),
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        cookieAuth: { type: 'apiKey', in: 'cookie', name: ACCESS_COOKIE, description: 'The HttpOnly access-token cookie set by sign-in' },
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
      },
      responses,
    },
  };
}
