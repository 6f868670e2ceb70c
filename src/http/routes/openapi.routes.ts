import { z } from 'zod';
import { LICENSE, VERSION } from '../../version.js';
import { buildOpenApi, type DocumentedPath, type OpenApiDocument } from '../openapi.js';
import { route, type RouteSpec } from '../route.js';

const documentSchema = z.looseObject({
  openapi: z.string(),
  info: z.object({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

/** Product images, served by their own middleware (middleware/images.ts) rather than the router. */
export const imagesPath: DocumentedPath = {
  method: 'get',
  path: '/images/:file',
  summary: 'A product image, with cache headers (ETag, Last-Modified, max-age one day)',
  tag: 'Catalog',
  headers: [{ name: 'If-None-Match', description: 'An ETag from an earlier answer: 304 when the file has not changed' }],
  responses: {
    200: { description: 'The image', contentType: 'image/svg+xml' },
    304: { description: 'Not modified' },
    404: { description: 'No such image, or a name outside the images directory (NOT_FOUND)' },
  },
};

/**
 * GET /api/openapi.json. `routes` is the app's route list (this route included) and `more` the
 * paths served outside the router; the document is built on the first request, once every route
 * is declared, and then served from memory.
 */
export function openapiRoutes(routes: () => DocumentedPath[], more: DocumentedPath[] = [imagesPath]): RouteSpec[] {
  let document: OpenApiDocument | undefined;
  return [
    route({
      method: 'get',
      path: '/api/openapi.json',
      summary: 'This API described as an OpenAPI 3.1 document',
      tag: 'Operations',
      responses: { 200: { description: 'The OpenAPI document', schema: documentSchema } },
      handler(ctx) {
        document ??= buildOpenApi([...routes(), ...more], {
          version: VERSION,
          license: LICENSE,
          description: 'A watch shop: catalog, cart, orders and Stripe checkout. Errors are always {"error": {"code", "message", "details"?}}.',
        });
        ctx.set('Cache-Control', 'no-cache');
        ctx.body = document;
      },
    }),
  ];
}
