import { z } from 'zod';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../context.js';
import { route, type RouteSpec } from '../route.js';
import { VERSION } from '../../version.js';

const HEALTH_TIMEOUT_MS = 2000;

export const healthSchema = z.object({ status: z.literal('ok'), db: z.literal('ok'), version: z.string() });

export function healthRoutes({ db }: AppDeps): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/api/health',
      summary: 'Liveness and database reachability',
      tag: 'Operations',
      responses: {
        200: { description: 'The store and its database answer', schema: healthSchema },
        503: { description: 'The database is unreachable (SERVICE_UNAVAILABLE)' },
      },
      async handler(ctx) {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            db.raw('select 1'),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('timeout')), HEALTH_TIMEOUT_MS);
            }),
          ]);
        } catch {
          throw new AppError('SERVICE_UNAVAILABLE', 'The database is unreachable.');
        } finally {
          clearTimeout(timer);
        }
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { status: 'ok', db: 'ok', version: VERSION };
      },
    }),
  ];
}
