import type { Logger } from 'pino';
import { isDatabaseUnavailable } from '../../db/errors.js';
import { AppError, isAppError, type ErrorCode } from '../../errors.js';
import { HttpError, isHttpError } from '../http-error.js';
import type { AppMiddleware } from '../context.js';
import { notJson, payloadTooLarge } from './body.js';
import { STATUS_OF } from '../status.js';

const CODE_OF_HTTP_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  503: 'SERVICE_UNAVAILABLE',
};

/** Turns whatever was thrown into docs/api.md's error body. A 500 says nothing but the request id. */
export function toAppError(err: unknown): AppError | HttpError | undefined {
  if (isAppError(err) || isHttpError(err)) return err;
  if (isDatabaseUnavailable(err)) return new AppError('SERVICE_UNAVAILABLE', 'The store is temporarily unavailable. Please retry shortly.');
  const e = err as { status?: number; expose?: boolean; type?: string; message?: string };
  if (typeof e?.status === 'number' && e.status < 500) {
    // co-body (under @koa/bodyparser) throws the JSON.parse SyntaxError with status 400 and no type.
    if (e.status === 400 && (e.type === 'entity.parse.failed' || err instanceof SyntaxError)) {
      return new AppError('INVALID_JSON', 'The request body is not valid JSON.');
    }
    // The body parser's own 413 (a chunked body over the limit) and 415, in jsonBody's words.
    if (e.status === 413) return payloadTooLarge();
    if (e.status === 415) return notJson();
    const code = CODE_OF_HTTP_STATUS[e.status];
    if (e.status === 429) return new HttpError('RATE_LIMITED', e.expose && e.message ? e.message : 'The request could not be processed.');
    if (code) return new AppError(code, e.expose && e.message ? e.message : 'The request could not be processed.');
  }
  return undefined;
}

export function errorHandler(logger: Logger): AppMiddleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined) {
        // The router's allowedMethods() answers a known path's other methods with a bare 405
        // (or 501 for a method no route uses), setting Allow; the body becomes docs/api.md's envelope.
        if ((ctx.status === 405 || ctx.status === 501) && ctx.response.get('Allow')) {
          throw new HttpError('METHOD_NOT_ALLOWED', `${ctx.method} is not supported on ${ctx.path}; use ${ctx.response.get('Allow')}.`);
        }
        if (ctx.status === 404 || ctx.status === 501) {
          ctx.remove('Allow');
          throw new AppError('NOT_FOUND', `No route for ${ctx.method} ${ctx.path}.`);
        }
      }
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr) {
        ctx.status = STATUS_OF[appErr.code];
        ctx.body = { error: { code: appErr.code, message: appErr.message, ...(appErr.details ? { details: appErr.details } : {}) } };
        if (appErr.code === 'SERVICE_UNAVAILABLE') logger.warn({ req_id: ctx.state.requestId, err: (err as Error).message }, 'database unavailable');
      } else {
        logger.error({ req_id: ctx.state.requestId, err }, 'unhandled error');
        ctx.status = 500;
        ctx.body = { error: { code: 'INTERNAL', message: `Something went wrong. Request id: ${ctx.state.requestId}` } };
      }
      ctx.type = 'application/json';
    }
  };
}
