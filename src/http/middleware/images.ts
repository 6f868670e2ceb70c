import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../errors.js';
import type { AppMiddleware } from '../context.js';
import { ifNoneMatchHits } from '../route.js';

const DEFAULT_PREFIX = '/images/';
const MAX_AGE_SECONDS = 86_400;
/** A plain file name: no separators, no dot first (so no `..` and no dotfiles), no NUL or `\`. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** RFC 9110 §13.2.2: If-None-Match (weak comparison) decides when present, else If-Modified-Since. */
function notModified(ifNoneMatch: string, ifModifiedSince: string, etag: string, mtime: Date): boolean {
  if (ifNoneMatch) return ifNoneMatchHits(ifNoneMatch, etag);
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(mtime.getTime() / 1000) * 1000 <= since;
}

const missing = () => new AppError('NOT_FOUND', 'No such image.');

/** The requested file name, or undefined for anything that is not one plain name. */
function fileNameOf(rawPath: string, prefix: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(rawPath.slice(prefix.length));
  } catch {
    return undefined;
  }
  return FILE_NAME.test(name) ? name : undefined;
}

/**
 * Serves GET/HEAD /images/<file> from `dir`, like koa-send (Content-Type, Content-Length,
 * Last-Modified, Cache-Control: public, max-age=86400) plus an ETag and 304s for revalidation.
 * The name is checked against a whitelist before the file system is touched, and the file's
 * real path (after symlinks) must still be inside the directory. Anything else is the same
 * JSON 404 as any unknown path: nothing says whether a file exists elsewhere.
 */
export function images(dir: string, prefix = DEFAULT_PREFIX): AppMiddleware {
  const root = path.resolve(dir);
  const serve: AppMiddleware = async (ctx) => {
    const name = fileNameOf(ctx.path, prefix);
    if (!name) throw missing();

    let file: string;
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      const [real, base] = await Promise.all([realpath(path.join(root, name)), realpath(root)]);
      if (path.dirname(real) !== base) throw missing();
      file = real;
      info = await stat(file);
    } catch {
      throw missing();
    }
    if (!info.isFile()) throw missing();

    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    ctx.status = 200;
    ctx.set('Cache-Control', `public, max-age=${MAX_AGE_SECONDS}`);
    ctx.set('ETag', etag);
    ctx.lastModified = info.mtime;
    // SVG can carry script: never let a browser run it, or sniff anything else into HTML.
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    if (notModified(ctx.get('If-None-Match'), ctx.get('If-Modified-Since'), etag, info.mtime)) {
      ctx.status = 304;
      return;
    }
    ctx.type = path.extname(name);
    ctx.length = info.size;
    // HEAD: headers only (an unread stream would hold its file descriptor open).
    if (ctx.method === 'GET') ctx.body = createReadStream(file);
  };
  return (ctx, next) => (ctx.path.startsWith(prefix) && (ctx.method === 'GET' || ctx.method === 'HEAD') ? serve(ctx, next) : next());
}
