import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.js';
import { productsRepository as repo } from './products.repository.js';
import type { CatalogQuery } from './products.schemas.js';
import { searchProducts } from './products.service.js';

export interface RenderedPage {
  /** The JSON, encoded once: responses send these bytes as they are. */
  body: Buffer;
  etag: string;
}

/**
 * Serialised catalog pages, reused only while the catalog is provably unchanged.
 *
 * Every request reads the catalog fingerprint first (one aggregate over products: COUNT, SUM of
 * the per-row version every write bumps, MAX id). A page is served from memory only when it was
 * rendered from data read after an identical fingerprint, so no page can be older than the last
 * change committed before the request arrived — whoever made it: this process, another server,
 * or the CLI. A stale page would need a write that leaves all three figures unchanged, which no
 * insert, update or delete does.
 */
export class CatalogCache {
  private fingerprint = '';
  private pages = new Map<string, Promise<RenderedPage>>();

  constructor(
    private readonly db: Db,
    private readonly currency: string,
    private readonly maxPages = 256,
  ) {}

  async page(query: CatalogQuery): Promise<RenderedPage> {
    const fp = await repo.fingerprint(this.db);
    if (fp !== this.fingerprint) {
      this.fingerprint = fp;
      this.pages = new Map();
    }
    const key = JSON.stringify(query, Object.keys(query).sort());
    let page = this.pages.get(key);
    if (!page) {
      if (this.pages.size >= this.maxPages) this.pages.delete(this.pages.keys().next().value!);
      // Concurrent requests for the same page under the same fingerprint share one rendering.
      page = this.render(query);
      this.pages.set(key, page);
      page.catch(() => {
        if (this.pages.get(key) === page) this.pages.delete(key);
      });
    }
    return page;
  }

  private async render(query: CatalogQuery): Promise<RenderedPage> {
    return renderJson(await searchProducts(this.db, query, this.currency));
  }
}

/** JSON bytes and their strong ETag (a hash of exactly those bytes). */
export function renderJson(value: unknown): RenderedPage {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"` };
}
