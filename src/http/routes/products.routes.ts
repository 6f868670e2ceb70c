import { CatalogCache, catalogKey, renderJson, type RenderedPage } from '../../products/catalog-cache.js';
import { getProductById } from '../../products/products.service.js';
import { type CatalogQuery, catalogQuerySchema, productListSchema, publicProductSchema } from '../../products/products.schemas.js';
import { parseInput } from '../../validation.js';
import { QueryMemo } from '../query-memo.js';
import type { AppContext, AppDeps } from '../context.js';
import { ifNoneMatchHits, pathId, route, type RouteSpec } from '../route.js';

/**
 * Sends JSON with a strong ETag (a hash of the exact bytes) and answers a matching If-None-Match
 * with 304. `no-cache` lets caches keep the body but makes them revalidate every time, so a price
 * or stock change is never hidden behind a stale copy.
 */
function sendRevalidated(ctx: AppContext, page: RenderedPage): void {
  ctx.set('Cache-Control', 'no-cache');
  ctx.set('ETag', page.etag);
  // Not Koa's ctx.fresh: a request's `Cache-Control: no-cache` would defeat it, and that
  // directive is for caches (fetch() adds it whenever a caller sets If-None-Match by hand).
  if (ifNoneMatchHits(ctx.get('If-None-Match'), page.etag)) {
    ctx.status = 304;
    return;
  }
  ctx.type = 'application/json';
  ctx.body = page.body;
}

export function productsRoutes({ db, config }: AppDeps): RouteSpec[] {
  const catalog = new CatalogCache(db, config.currency);
  const catalogQueries = new QueryMemo<{ query: CatalogQuery; key: string }>();
  return [
    route({
      method: 'get',
      path: '/api/products',
      summary: 'List the catalog: search, price range, in-stock filter, sort and paging',
      tag: 'Catalog',
      query: catalogQuerySchema,
      validatesQuery: true,
      headers: [{ name: 'If-None-Match', description: 'An ETag from an earlier answer: 304 when nothing changed' }],
      responses: {
        200: { description: 'A page of products, with an ETag', schema: productListSchema },
        304: { description: 'Not modified since the ETag in If-None-Match' },
        400: { description: 'A query parameter is invalid (VALIDATION_FAILED, with details)' },
      },
      async handler(ctx) {
        const { query, key } = catalogQueries.get(ctx.querystring, () => {
          const parsed = Object.freeze(parseInput(catalogQuerySchema, ctx.query, 'query'));
          return { query: parsed, key: catalogKey(parsed) };
        });
        sendRevalidated(ctx, await catalog.page(query, key));
      },
    }),
    route({
      method: 'get',
      path: '/api/products/:id',
      summary: 'One product',
      tag: 'Catalog',
      headers: [{ name: 'If-None-Match', description: 'An ETag from an earlier answer: 304 when nothing changed' }],
      responses: {
        200: { description: 'The product, with an ETag', schema: publicProductSchema },
        304: { description: 'Not modified since the ETag in If-None-Match' },
        404: { description: 'No such product, or the id is not a positive integer (NOT_FOUND)' },
      },
      async handler(ctx) {
        const id = pathId(ctx.params.id, 'Product');
        sendRevalidated(ctx, renderJson(await getProductById(db, id, config.currency)));
      },
    }),
  ];
}
