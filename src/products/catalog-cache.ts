import { createHash } from 'node:crypto';
import type { Db } from '../db/connection.js';
import { FreshRead } from '../db/fresh-read.js';
import { productsRepository as repo } from './products.repository.js';
import type { CatalogQuery } from './products.schemas.js';
import { searchProducts } from './products.service.js';

export interface RenderedPage {
  /** The JSON, encoded once: responses send these bytes as they are. */
  body: Buffer;
  etag: string;
}

export interface CatalogCacheLimits {
  /** Pages kept at most (each distinct query is one page). */
  maxPages?: number;
  /**
   * Bytes of page bodies kept at most, all pages together: the oldest go first. A page larger
   * than this on its own is served but not kept.
   */
  maxBytes?: number;
}

interface Entry {
  page: Promise<RenderedPage>;
  /** The body's size once rendered; 0 while rendering. */
  bytes: number;
}

/** Pages served from memory (hits) and rendered from the database (misses), since start. */
export interface CatalogCacheStats {
  hits: number;
  misses: number;
}

/** Every CatalogCache of the process, added up (a bench reads it; see catalogCacheStats). */
const processStats: CatalogCacheStats = { hits: 0, misses: 0 };

/** The process's catalog cache hits and misses so far, all caches together (a copy). */
export function catalogCacheStats(): CatalogCacheStats {
  return { ...processStats };
}

/**
 * Serialised catalog pages, reused only while the catalog is provably unchanged.
 *
 * Every request reads the catalog revision first: one primary-key read of the one-row
 * catalog_revision table, which every write to products raises in its own transaction (see
 * products.repository.ts and docs/data.md). Requests that ask at the same time share the read,
 * but never one that started before they arrived (db/fresh-read.ts). A page is served from memory only when it was
 * rendered from data read after the same revision, so no page can be older than the last change
 * committed before the request arrived — whoever made it: this process, another server, or the CLI.
 *
 * Memory is bounded twice: by the number of pages and by their total size (an anonymous client
 * can ask for every offset, and a page of 100 long descriptions can weigh megabytes).
 */
export class CatalogCache {
  private revision = '';
  private readonly counts: CatalogCacheStats = { hits: 0, misses: 0 };
  private entries = new Map<string, Entry>();
  private bytes = 0;
  /** The revision, read once for all the requests that arrived before the read started. */
  private readonly revisionRead: FreshRead<string>;
  private readonly maxPages: number;
  private readonly maxBytes: number;

  constructor(
    private readonly db: Db,
    private readonly currency: string,
    { maxPages = 256, maxBytes = 8 * 1024 * 1024 }: CatalogCacheLimits = {},
  ) {
    this.maxPages = maxPages;
    this.maxBytes = maxBytes;
    this.revisionRead = new FreshRead(() => repo.revision(db));
  }

  /** Bytes of the page bodies held now (never above maxBytes). */
  get cachedBytes(): number {
    return this.bytes;
  }

  /** This cache's hits and misses so far (a copy). */
  get stats(): CatalogCacheStats {
    return { ...this.counts };
  }

  /** The page for `query`; `key` is catalogKey(query), when the caller has it already. */
  async page(query: CatalogQuery, key = catalogKey(query)): Promise<RenderedPage> {
    const revision = await this.revisionRead.read();
    if (revision !== this.revision) {
      this.revision = revision;
      this.entries = new Map();
      this.bytes = 0;
    }
    let entry = this.entries.get(key);
    if (!entry) {
      if (this.entries.size >= this.maxPages) this.drop(this.entries.keys().next().value!);
      this.counts.misses++;
      processStats.misses++;
      // Concurrent requests for the same page under the same revision share one rendering.
      const made: Entry = { page: this.render(query), bytes: 0 };
      this.entries.set(key, made);
      made.page.then(
        (page) => this.rendered(key, made, page.body.length),
        () => {
          if (this.entries.get(key) === made) this.entries.delete(key);
        },
      );
      entry = made;
    } else {
      this.counts.hits++;
      processStats.hits++;
    }
    return entry.page;
  }

  /** Counts a page once its size is known, then evicts the oldest pages until the total fits. */
  private rendered(key: string, entry: Entry, bytes: number): void {
    if (this.entries.get(key) !== entry) return; // evicted meanwhile, or the catalog changed
    if (bytes > this.maxBytes) {
      this.entries.delete(key); // served to whoever asked, but too big to keep
      return;
    }
    entry.bytes = bytes;
    this.bytes += bytes;
    for (const oldest of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      if (oldest !== key) this.drop(oldest);
    }
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  private async render(query: CatalogQuery): Promise<RenderedPage> {
    return renderJson(await searchProducts(this.db, query, this.currency));
  }
}

/** The cache's key for a query: the same for queries that ask the same, whatever their order. */
export function catalogKey(query: CatalogQuery): string {
  return JSON.stringify(query, Object.keys(query).sort());
}

/** JSON bytes and their strong ETag (a hash of exactly those bytes). */
export function renderJson(value: unknown): RenderedPage {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"` };
}
