import { bodyParser } from '@koa/bodyparser';
import { AppError } from '../../errors.js';
import { HttpError } from '../http-error.js';
import type { AppMiddleware } from '../context.js';

export const BODY_LIMIT_BYTES = 100 * 1024;

export const payloadTooLarge = () => new HttpError('PAYLOAD_TOO_LARGE', 'The request body is larger than 100 kB.');
export const notJson = () => new HttpError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.');

/** The Content-Encodings a body may arrive in (what the body parser can decode). */
const ENCODINGS = new Set(['identity', 'gzip', 'x-gzip', 'deflate', 'br']);

const unsupportedEncoding = (encoding: string) =>
  new HttpError(
    'UNSUPPORTED_MEDIA_TYPE',
    `Content-Encoding ${JSON.stringify(encoding.slice(0, 40))} is not supported; send the body as is, or gzip, deflate or br.`,
  );
const undecodable = (encoding: string) =>
  new AppError('INVALID_JSON', `The request body could not be decompressed (Content-Encoding: ${encoding.slice(0, 40)}).`);

/** The methods whose body is read (a GET's or a HEAD's never is). */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(ctx: Parameters<AppMiddleware>[0]): boolean {
  const len = ctx.get('Content-Length');
  return (len !== '' && len !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/**
 * JSON bodies only, at most 100 kB (decoded). Anything else that carries a body is a 415, decided
 * before a byte is read, and so is an unknown Content-Encoding; a declared length over the limit
 * is a 413 without reading it. A body that does not decompress (garbage sent as gzip, deflate or
 * br) is the client's fault: 400 INVALID_JSON, never a 500.
 * Paths in `raw` (the Stripe webhook) are left unread for their route to take the raw bytes, and
 * so are requests `isUpload` says are for a route taking a file (middleware/upload.ts).
 */
export function jsonBody(raw: string[] = [], isUpload: (path: string, method: string) => boolean = () => false): AppMiddleware {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT_BYTES, encoding: 'utf-8' }) as unknown as AppMiddleware;
  const read: AppMiddleware = async (ctx, next) => {
    if (Number(ctx.get('Content-Length')) > BODY_LIMIT_BYTES) throw payloadTooLarge();
    if (!ctx.is('application/json', 'application/*+json')) throw notJson();
    const encoding = ctx.get('Content-Encoding').trim().toLowerCase();
    if (encoding && !ENCODINGS.has(encoding)) throw unsupportedEncoding(encoding);
    // Content codings are case-insensitive (RFC 9110 §8.4.1); the parser only knows lower case.
    if (encoding) ctx.req.headers['content-encoding'] = encoding;
    let parsed = false;
    try {
      return await parse(ctx, () => {
        parsed = true;
        return next();
      });
    } catch (err) {
      // Only the decoder's own failures (zlib's Z_* and brotli's codes, no HTTP status); anything
      // thrown after the body was read belongs to the route.
      if (!parsed && encoding && encoding !== 'identity' && typeof (err as { status?: unknown }).status !== 'number') throw undecodable(encoding);
      throw err;
    }
  };
  return (ctx, next) => (!WITH_BODY.has(ctx.method) || !hasBody(ctx) || raw.includes(ctx.path) || isUpload(ctx.path, ctx.method) ? next() : read(ctx, next));
}
