/**
 * Rate limits for the auth endpoints (docs/api.md): signin per IP and per IP+login, signup per IP,
 * refresh per IP, with the numbers and the window from config.rateLimits. A password-reset request
 * is limited like a sign-in (the same numbers, its own counters), its confirmation like a sign-in
 * per IP.
 *
 * koa-ratelimit does the counting: in process memory by default, in Redis when REDIS_URL is set
 * (or a client is handed in), so that several instances share one budget. The key is ctx.ip,
 * which is the socket address unless TRUST_PROXY made Koa read X-Forwarded-For (app.ts).
 * A limited request ends as docs/api.md's 429 RATE_LIMITED, with Retry-After and X-RateLimit-*.
 *
 * Sign-in has two limits (per IP, and per IP+login). Its X-RateLimit-Limit/Remaining/Reset always
 * describe the one with fewer requests left (on a tie, the per-IP+login one), so Remaining is
 * never more than the client really has: a client trying many logins sees the per-IP budget run
 * out, one retrying a single login sees that login's.
 *
 * The key prefix is the `prefix` option, else config.rateLimitPrefix (RATE_LIMIT_PREFIX), else
 * DEFAULT_RATE_LIMIT_PREFIX; createApp's own limits and the server's therefore agree.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import ratelimit from 'koa-ratelimit';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { HttpError } from '../http-error.js';
import { LOGIN_MAX, normalizeLogin } from '../../users/login.js';
import type { AppContext, AppMiddleware } from '../context.js';

export const DEFAULT_RATE_LIMIT_PREFIX = 'watchstore:ratelimit';

export interface RateLimitOptions {
  /** An ioredis client to share (the caller keeps ownership and closes it). */
  redis?: Redis;
  /** Prefix of every key in the store (else config.rateLimitPrefix, else the default); tests use a unique one per run. */
  prefix?: string;
  /** Where store failures are reported. */
  logger?: Logger;
}

export interface RateLimits {
  signin: AppMiddleware[];
  signup: AppMiddleware[];
  refresh: AppMiddleware[];
  passwordReset: AppMiddleware[];
  passwordResetConfirm: AppMiddleware[];
  store: 'memory' | 'redis';
  prefix: string;
  /** Closes the Redis client if this factory opened it; a shared client is left to its owner. */
  close(): Promise<void>;
}

interface LimiterEntry {
  reset: number; // seconds since the epoch
}

/**
 * The memory driver's store. koa-ratelimit never deletes a key, so a stream of distinct clients
 * would grow the Map without end; every so often the windows that have ended are swept out.
 */
class ExpiringMap extends Map<string, LimiterEntry> {
  private writes = 0;
  override set(key: string, value: LimiterEntry): this {
    if (++this.writes % 1000 === 0) {
      const now = Date.now() / 1000;
      for (const [k, v] of this) if (v.reset < now) this.delete(k);
    }
    return super.set(key, value);
  }
}

/** Redis clients this module opened itself, so shutdown can close them (closeRateLimitClients). */
const ownedClients = new Set<Redis>();

/**
 * Options for a rate-limit Redis client: while Redis is away a sign-in must not hang, so a
 * command gives up after one reconnection attempt or a second, whichever comes first.
 * A client handed in (RateLimitOptions.redis) should be made with similar options.
 */
export const RATE_LIMIT_REDIS_OPTIONS = { maxRetriesPerRequest: 1, commandTimeout: 1000, connectTimeout: 5000 } as const;

function openRedis(url: string, logger?: Logger): Redis {
  // Loaded only when Redis is configured: ioredis is a sizeable part of the server's memory.
  const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const client = new RedisClient(url, RATE_LIMIT_REDIS_OPTIONS);
  client.on('error', (err: Error) => logger?.warn({ err: err.message }, 'rate-limit store (Redis) error'));
  ownedClients.add(client);
  return client;
}

/** Closes every Redis client the rate limiter opened in this process (for server shutdown). */
export async function closeRateLimitClients(): Promise<void> {
  const all = [...ownedClients];
  ownedClients.clear();
  await Promise.all(all.map((c) => c.quit().catch(() => c.disconnect())));
}

const ipOf = (ctx: AppContext) => ctx.ip || 'unknown';

/**
 * The login a sign-in (or a reset request) names, as the per-login limit counts it: folded by normalizeLogin, the
 * same function the sign-in lookup uses, so variants that reach one account share one budget.
 */
function loginOf(ctx: AppContext): string {
  const body = ctx.request.body as Record<string, unknown> | undefined;
  const login = body && typeof body === 'object' ? (body.login ?? body.username ?? body.email) : undefined;
  return typeof login === 'string' ? normalizeLogin(login.slice(0, 4 * LOGIN_MAX)) : '';
}

export function createRateLimits(config: Pick<Config, 'rateLimits' | 'redisUrl'> & { rateLimitPrefix?: string }, opts: RateLimitOptions = {}): RateLimits {
  const prefix = opts.prefix ?? config.rateLimitPrefix ?? DEFAULT_RATE_LIMIT_PREFIX;
  const { logger } = opts;
  const owned = !opts.redis && config.redisUrl ? openRedis(config.redisUrl, logger) : undefined;
  const redis = opts.redis ?? owned;
  const windowMs = config.rateLimits.windowMs;

  // Known to be down (between reconnection attempts): do not even queue a command.
  const storeDown = () => redis !== undefined && ['reconnecting', 'close', 'end'].includes(redis.status);
  let lastReport = 0;
  const reportOutage = (name: string, err?: unknown) => {
    if (Date.now() - lastReport < 60_000) return;
    lastReport = Date.now();
    logger?.error(
      { err: err instanceof Error ? err.message : 'not connected', limit: name },
      'rate-limit store (Redis) unavailable: requests are let through unlimited',
    );
  };

  const limit = (name: string, max: number, id: (ctx: AppContext) => string): AppMiddleware => {
    const counter = ratelimit({
      ...(redis ? { driver: 'redis' as const, db: redis } : { driver: 'memory' as const, db: new ExpiringMap() }),
      namespace: `${prefix}:${name}`,
      duration: windowMs,
      max,
      id: (ctx) => id(ctx as unknown as AppContext),
    }) as unknown as AppMiddleware;

    return async (ctx, next) => {
      // The store failing (Redis away) fails open: sign-in stays available, bcrypt's cost still
      // slows guessing, and the outage is logged.
      if (storeDown()) {
        reportOutage(name);
        return next();
      }
      // With two limits on one route, the headers describe whichever has fewer requests left
      // (koa-ratelimit sets them before calling on): the later limit's win only when lower.
      const before = {
        remaining: ctx.response.get('X-RateLimit-Remaining'),
        reset: ctx.response.get('X-RateLimit-Reset'),
        total: ctx.response.get('X-RateLimit-Limit'),
      };
      let allowed = false;
      try {
        await counter(ctx, async () => {
          allowed = true;
          if (before.remaining !== '' && Number(before.remaining) < Number(ctx.response.get('X-RateLimit-Remaining'))) {
            ctx.set({ 'X-RateLimit-Remaining': before.remaining, 'X-RateLimit-Reset': before.reset, 'X-RateLimit-Limit': before.total });
          }
          await next();
        });
      } catch (err) {
        if (allowed) throw err; // from the route itself, not from the limiter
        reportOutage(name, err);
        return next();
      }
      if (allowed) return;
      const reset = Number(ctx.response.get('X-RateLimit-Reset'));
      const retryAfter = Number.isFinite(reset) ? Math.max(1, Math.ceil(reset - Date.now() / 1000)) : Math.ceil(windowMs / 1000);
      ctx.set('Retry-After', String(retryAfter));
      throw new HttpError('RATE_LIMITED', `Too many attempts. Try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}.`);
    };
  };

  const r = config.rateLimits;
  if (redis) logger?.info({ prefix }, 'auth rate limits are kept in Redis (shared by every instance using it)');
  return {
    signin: [
      limit('signin:ip', r.signinPerIp, ipOf),
      // The body is already parsed here (jsonBody runs before the router).
      limit('signin:ip-login', r.signinPerIpLogin, (ctx) => `${ipOf(ctx)}|${loginOf(ctx)}`),
    ],
    signup: [limit('signup:ip', r.signupPerIp, ipOf)],
    refresh: [limit('refresh:ip', r.refreshPerIp, ipOf)],
    passwordReset: [limit('reset:ip', r.signinPerIp, ipOf), limit('reset:ip-login', r.signinPerIpLogin, (ctx) => `${ipOf(ctx)}|${loginOf(ctx)}`)],
    passwordResetConfirm: [limit('reset-confirm:ip', r.signinPerIp, ipOf)],
    store: redis ? 'redis' : 'memory',
    prefix,
    async close() {
      if (!owned) return;
      ownedClients.delete(owned);
      await owned.quit().catch(() => owned.disconnect());
    },
  };
}
