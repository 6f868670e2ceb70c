import { z } from 'zod';
import { pingDb, pingFreshConnection } from '../../db/ping.js';
import type { Db } from '../../db/connection.js';
import { AppError } from '../../errors.js';
import type { AppDeps } from '../context.js';
import { route, type RouteSpec } from '../route.js';
import { VERSION } from '../../version.js';

/** The whole answer (both pings) within this, so a load balancer's check never hangs. */
const HEALTH_TIMEOUT_MS = 2000;

class PingTimeout extends Error {}

async function within(ms: number, ping: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      ping,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new PingTimeout()), Math.max(0, ms));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Pings the database through the pool, and once more on a fresh connection when the first ping
 * fails fast: after a database restart the pool may still hold connections that died with the
 * old server, and a query on one fails (the pool then discards it, but the next one it hands
 * out may be dead too). So dead pooled connections do not make a load balancer take the
 * instance out. A database that is really down fails both (connections are refused); a ping
 * that timed out is not tried again.
 */
async function databaseAnswers(db: Db): Promise<boolean> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  try {
    await within(HEALTH_TIMEOUT_MS, pingDb(db));
    return true;
  } catch (err) {
    if (err instanceof PingTimeout) return false;
  }
  try {
    await within(deadline - Date.now(), pingFreshConnection(db));
    return true;
  } catch {
    return false;
  }
}

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
        503: { description: 'The database is unreachable (SERVICE_UNAVAILABLE): a ping through the pool failed, and so did one on a fresh connection' },
      },
      async handler(ctx) {
        if (!(await databaseAnswers(db))) throw new AppError('SERVICE_UNAVAILABLE', 'The database is unreachable.');
        ctx.set('Cache-Control', 'no-store');
        ctx.body = { status: 'ok', db: 'ok', version: VERSION };
      },
    }),
  ];
}
