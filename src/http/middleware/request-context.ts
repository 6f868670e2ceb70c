import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppMiddleware } from '../context.js';

const ID = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Gives every request an id (a sane incoming X-Request-Id is kept) and logs it once when it
 * ends: method, path (no query string, which may carry search text), status, duration, user.
 * Never bodies, tokens or cookies.
 */
export function requestContext(logger: Logger): AppMiddleware {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    ctx.state.requestId = ID.test(incoming) ? incoming : randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
    } finally {
      // At LOG_LEVEL=warn (production's usual) no line is built for a request nobody will see.
      if (ctx.status >= 500 || logger.isLevelEnabled('info')) logRequest(logger, ctx, start);
    }
  };
}

function logRequest(logger: Logger, ctx: Parameters<AppMiddleware>[0], start: bigint): void {
  const status = ctx.status;
  const line = {
    req_id: ctx.state.requestId,
    method: ctx.method,
    path: ctx.path,
    status,
    duration_ms: Number(process.hrtime.bigint() - start) / 1e6,
    user_id: ctx.state.user?.id,
  };
  if (status >= 500) logger.error(line, 'request');
  else logger.info(line, 'request');
}
