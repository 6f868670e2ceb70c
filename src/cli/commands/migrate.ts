/** `watchstore migrate [--status | --rollback]`: the Knex migrator, called directly. */
import { migrationName } from '../../db/migration-source.js';
import { MIGRATION_TIMEOUT_MS } from '../../db/knex-config.js';
import { listMigrations, openDb } from '../db.js';
import { ui, usageError } from '../ui.js';

export interface MigrateOptions {
  status?: boolean;
  rollback?: boolean;
}

export async function migrate(_args: string[], opts: MigrateOptions): Promise<void> {
  if (opts.status && opts.rollback) throw usageError('migrate takes --status or --rollback, not both.');
  // Not DB_TIMEOUT_MS: a migration's ALTER may rightly take minutes.
  const db = await openDb({ timeoutMs: MIGRATION_TIMEOUT_MS });

  if (opts.status) {
    const { applied, pending } = await listMigrations(db);
    const rows = [...applied.map((name) => ({ name, applied: true })), ...pending.map((name) => ({ name, applied: false }))];
    await ui.result(rows, async () => {
      await ui.table(
        ['Migration', 'Applied'],
        rows.map((r) => [r.name, r.applied ? ui.style.green('yes') : ui.style.yellow('no')]),
      );
      ui.print(pending.length === 0 ? 'Up to date.' : `${pending.length} pending: run \`watchstore migrate\`.`);
    });
    return;
  }

  if (opts.rollback) {
    const [batch, log] = (await db.migrate.rollback()) as [number, string[]];
    const names = log.map(migrationName);
    await ui.result({ batch, rolled_back: names }, () => {
      if (names.length === 0) ui.print('Nothing to roll back.');
      else {
        ui.print(`Rolled back batch ${batch} (${names.length} migration${names.length === 1 ? '' : 's'}):`);
        for (const n of names) ui.print(`  ${n}`);
      }
    });
    return;
  }

  const [batch, log] = (await db.migrate.latest()) as [number, string[]];
  const names = log.map(migrationName);
  await ui.result({ batch, applied: names }, () => {
    if (names.length === 0) ui.print('Already up to date.');
    else {
      ui.print(`Applied batch ${batch} (${names.length} migration${names.length === 1 ? '' : 's'}):`);
      for (const n of names) ui.print(`  ${ui.style.green(n)}`);
    }
  });
}
