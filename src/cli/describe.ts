/** Small pure helpers that turn configuration into text safe to print (never a password). */
import type { DatabaseConfig } from '../config.js';

/** Where the database is, as `sqlite:./data/x.sqlite` or `mysql://user@host:port/db`. */
export function describeDatabase(db: DatabaseConfig): string {
  return db.client === 'sqlite' ? `sqlite:${db.filename}` : `mysql://${db.user}@${db.host}:${db.port}/${db.database}`;
}

/** A Redis URL without its credentials. */
export function describeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return 'redis (unparseable URL)';
  }
}
