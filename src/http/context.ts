import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';

export interface AuthUser {
  id: number;
  role: 'customer' | 'admin';
}

export interface AppState {
  requestId: string;
  user?: AuthUser;
}

export interface AppDeps {
  db: Db;
  config: Config;
  logger: Logger;
}

export type AppContext = Koa.ParameterizedContext<AppState>;
export type AppMiddleware = Koa.Middleware<AppState>;
