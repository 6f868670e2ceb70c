/** Database reachability checks (health route, doctor). */
import type { Knex } from 'knex';

/** Checks the database answers (a trivial query through the pool). */
export async function pingDb(db: Knex): Promise<void> {
  await db.raw('select 1');
}

/**
 * Checks the database answers on a brand-new connection of its own, outside the pool and closed
 * right after: whether it accepts connections now, whatever dead connections the pool still holds.
 */
export async function pingFreshConnection(db: Knex): Promise<void> {
  const client = db.client as { acquireRawConnection(): Promise<unknown>; destroyRawConnection(connection: unknown): Promise<void> };
  const connection = await client.acquireRawConnection();
  try {
    await db.select(db.raw('1 as ok')).connection(connection);
  } finally {
    await client.destroyRawConnection(connection).catch(() => {});
  }
}
