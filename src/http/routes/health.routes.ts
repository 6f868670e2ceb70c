import { z } from 'zod';
import type { Db } from '../../db/connection.js';
import { pingDb, pingFreshConnection } from '../../db/ping.js';
import { codeMigrations, type SchemaState, schemaState } from '../../db/schema-state.js';
import { AppError } from '../../errors.js';
import { PASSWORD_RESET_TOPIC } from '../../auth/password-reset.service.js';
import { backlog } from '../../outbox/outbox.repository.js';
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

/**
 * The schema's state as of at most `intervalMs` ago: one read of the migrations table per
 * interval, whatever the request rate. A server running against a schema behind or ahead of its
 * code answers 500 on every route, so health says 503 (docs/api.md, health).
 */
function schemaChecker(db: Db, intervalMs: number): () => Promise<SchemaState> {
  const code = codeMigrations();
  let last: { at: number; state: Promise<SchemaState> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= intervalMs) {
      const state = schemaState(db, code);
      last = { at: now, state };
      // A failed read is not remembered: the next request looks again.
      state.catch(() => {
        if (last?.state === state) last = undefined;
      });
    }
    return last.state;
  };
}

export const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  db: z.literal('ok'),
  version: z.string(),
  outbox: z.object({
    pending: z.number().int().describe('Messages not yet delivered: due, being delivered, or waiting to retry'),
    due: z.number().int().describe('Of those, the ones due now'),
    dead: z.number().int().describe('Messages given up on after their last attempt (`watchstore outbox retry --dead`)'),
    oldest_due_seconds: z.number().int().describe('How long the oldest due message has waited (0 when none is due)'),
  }),
});

/**
 * A message due for longer than this (and at least two polls) means no worker is draining the
 * outbox: health says "degraded", still with 200, as the store itself works (docs/api.md, health).
 */
const OUTBOX_STALE_SECONDS = 300;

/**
 * Health answers anyone, and a reset request queues an e-mail only for a real account: counted
 * here, the backlog would tell an anonymous caller which logins exist (docs/api.md, health).
 */
const UNCOUNTED_TOPICS = [PASSWORD_RESET_TOPIC];

export function healthRoutes({ db, config }: AppDeps): RouteSpec[] {
  const schema = schemaChecker(db, config.schemaCheckIntervalMs);
  return [
    route({
      method: 'get',
      path: '/api/health',
      summary: 'Liveness, database reachability and the outbox backlog',
      tag: 'Operations',
      responses: {
        200: {
          description:
            'The store and its database answer. `status` is "degraded" (still 200) when an outbox message has been due for more than 5 minutes: no worker is draining the outbox',
          schema: healthSchema,
        },
        503: {
          description:
            'The database is unreachable (SERVICE_UNAVAILABLE): a ping through the pool failed, and so did one on a fresh connection; or its schema is behind or ahead of the code (pending or unknown migrations)',
        },
      },
      async handler(ctx) {
        if (!(await databaseAnswers(db))) throw new AppError('SERVICE_UNAVAILABLE', 'The database is unreachable.');
        const { state, pending, unknown } = await schema().catch(() => ({ state: 'unreadable', pending: [], unknown: [] }));
        if (state === 'behind') throw new AppError('SERVICE_UNAVAILABLE', `The database schema is behind the code (${pending.length} pending migrations).`);
        if (state === 'ahead') throw new AppError('SERVICE_UNAVAILABLE', `The database schema is ahead of the code (${unknown.length} unknown migrations).`);
        if (state === 'unreadable') throw new AppError('SERVICE_UNAVAILABLE', 'The migrations table cannot be read.');
        const b = await backlog(db, new Date(), UNCOUNTED_TOPICS);
        const stale = b.oldestDueSeconds > Math.max(OUTBOX_STALE_SECONDS, (2 * config.outbox.pollMs) / 1000);
        ctx.set('Cache-Control', 'no-store');
        ctx.body = {
          status: stale ? 'degraded' : 'ok',
          db: 'ok',
          version: VERSION,
          outbox: { pending: b.pending, due: b.due, dead: b.dead, oldest_due_seconds: b.oldestDueSeconds },
        };
      },
    }),
  ];
}
