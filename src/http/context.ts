import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SessionRevocations } from '../auth/session-revocations.js';
import type { Db } from '../db/connection.js';
import type { Role } from '../users/users.schemas.js';
import type { RateLimits } from './middleware/rate-limit.js';
import type { UploadedFile } from './middleware/upload.js';

export interface AuthUser {
  id: number;
  /** As the access token says; admin routes read the role afresh from the database (middleware/auth.ts). */
  role: Role;
}

export interface AppState {
  requestId: string;
  user?: AuthUser;
  /** The file of a route declared with `upload` (middleware/upload.ts). */
  upload?: UploadedFile;
}

export interface AppDeps {
  db: Db;
  config: Config;
  logger: Logger;
  /**
   * The auth rate limits. createApp makes them from the config when absent; pass them to share
   * one Redis client (createRateLimits(config, { redis })) and close them on shutdown.
   */
  rateLimits?: RateLimits;
  /**
   * Tells the outbox worker of this process to look for due messages now (server.ts, when it
   * runs one): called after a request that may have queued a message, so it leaves at once
   * rather than at the next poll.
   */
  wakeOutbox?: () => void;
  /** Refuses access tokens whose sessions were revoked; createApp makes one when absent. */
  sessionRevocations?: SessionRevocations;
}

export type AppContext = Koa.ParameterizedContext<AppState>;

/** The signed-in user's id, on routes declared `auth: true` (requireUser has run). */
export const userIdOf = (ctx: AppContext): number => ctx.state.user!.id;
export type AppMiddleware = Koa.Middleware<AppState>;
