/**
 * GET /api/docs: the API reference page, the served OpenAPI document (/api/openapi.json) rendered
 * in the browser by Redoc (docs/api.md). Redoc's standalone bundle comes from the installed `redoc`
 * package and is served by the store itself: no CDN, so the page works behind a firewall.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { ifNoneMatchHits, route, type RouteSpec } from '../route.js';

export const DOCS_PATH = '/api/docs';
export const REDOC_SCRIPT_PATH = '/api/docs/redoc.standalone.js';
const SPEC_PATH = '/api/openapi.json';

/**
 * The page's own policy, stricter than nothing and looser than the API's `default-src 'none'`
 * (middleware/security.ts): its one script from the store, Redoc's inline styles
 * (styled-components writes <style> elements), the document fetched from the store, and Redoc's
 * search index running in a worker made from a blob: URL. No inline script, no eval.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  'worker-src blob:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Redoc starts by itself on a `<redoc spec-url>` element, so the page needs no inline script. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>watchstore API reference</title>
</head>
<body style="margin:0">
<redoc spec-url="${SPEC_PATH}" hide-hostname="true"></redoc>
<script src="${REDOC_SCRIPT_PATH}"></script>
</body>
</html>
`;

interface Asset {
  body: Buffer;
  gzipped: Buffer;
  etag: string;
}

let redocBundle: Asset | undefined;

/** The bundle (about 1 MB, 300 kB gzipped), read and compressed once, on its first request. */
function loadRedocBundle(): Asset {
  if (!redocBundle) {
    const body = readFileSync(createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js'));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    redocBundle = { body, gzipped: gzipSync(body), etag };
  }
  return redocBundle;
}

export function docsRoutes(): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: DOCS_PATH,
      summary: 'This API reference page: the OpenAPI document rendered by Redoc, with its script served by the store',
      tag: 'Operations',
      responses: { 200: { description: 'The HTML page; its script renders /api/openapi.json', contentType: 'text/html' } },
      handler(ctx) {
        ctx.set('Content-Security-Policy', DOCS_CSP);
        ctx.set('Cache-Control', 'no-cache');
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = PAGE;
      },
    }),
    route({
      method: 'get',
      path: REDOC_SCRIPT_PATH,
      summary: "The reference page's script: Redoc's standalone bundle, from the installed redoc package",
      tag: 'Operations',
      headers: [{ name: 'If-None-Match', description: 'The ETag of an earlier answer: 304 when the bundle has not changed' }],
      responses: {
        200: { description: 'The script (gzip when the client accepts it)', contentType: 'text/javascript' },
        304: { description: 'Not modified' },
      },
      handler(ctx) {
        const asset = loadRedocBundle();
        ctx.set('ETag', asset.etag);
        ctx.set('Cache-Control', 'no-cache');
        ctx.vary('Accept-Encoding');
        ctx.type = 'text/javascript; charset=utf-8';
        if (ifNoneMatchHits(ctx.get('If-None-Match'), asset.etag)) {
          ctx.status = 304;
          return;
        }
        if (ctx.acceptsEncodings('gzip', 'identity') === 'gzip') {
          ctx.set('Content-Encoding', 'gzip');
          ctx.body = asset.gzipped;
        } else {
          ctx.body = asset.body;
        }
      },
    }),
  ];
}
