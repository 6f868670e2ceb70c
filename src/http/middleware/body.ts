import { bodyParser } from '@koa/bodyparser';
import { HttpError } from '../http-error.js';
import type { AppMiddleware } from '../context.js';

export const BODY_LIMIT_BYTES = 100 * 1024;

export const payloadTooLarge = () => new HttpError('PAYLOAD_TOO_LARGE', 'The request body is larger than 100 kB.');
export const notJson = () => new HttpError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.');

function hasBody(ctx: Parameters<AppMiddleware>[0]): boolean {
  const len = ctx.get('Content-Length');
  return (len !== '' && len !== '0') || ctx.get('Transfer-Encoding') !== '';
}

/**
 * JSON bodies only, at most 100 kB. Anything else that carries a body is a 415, decided before
 * a byte is read; a declared length over the limit is a 413 without reading it.
 * Paths in `raw` (the Stripe webhook) are left unread for their route to take the raw bytes.
 */
export function jsonBody(raw: string[] = []): AppMiddleware {
  const parse = bodyParser({ enableTypes: ['json'], jsonLimit: BODY_LIMIT_BYTES, encoding: 'utf-8' }) as unknown as AppMiddleware;
  return async (ctx, next) => {
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(ctx.method) || !hasBody(ctx) || raw.includes(ctx.path)) return next();
    if (Number(ctx.get('Content-Length')) > BODY_LIMIT_BYTES) throw payloadTooLarge();
    if (!ctx.is('application/json', 'application/*+json')) throw notJson();
    return parse(ctx, next);
  };
}
