/**
 * `watchstore migrate [--status | --rollback [--step N] [--yes]]`: the Knex migrator, called
 * directly. A rollback says what it undoes and asks first (--yes without a terminal).
 */
import type { Db } from '../../db/connection.js';
import { MIGRATION_TIMEOUT_MS } from '../../db/knex-config.js';
import { MIGRATIONS_TABLE, migrationName } from '../../db/migration-source.js';
import { listMigrations, openDb } from '../db.js';
import { ui, usageError } from '../ui.js';

export interface MigrateOptions {
  status?: boolean;
  rollback?: boolean;
  step?: string;
  yes?: boolean;
}

/**
 * What a rollback would undo, newest first: the last batch, or with --step N the last N
 * migrations whatever their batch (docs/cli.md, migrate).
 */
async function rollbackPlan(db: Db, step: number | undefined): Promise<{ batch: number; names: string[] }> {
  const rows = (await db(MIGRATIONS_TABLE).select('name', 'batch').orderBy('id', 'desc')) as Array<{ name: string; batch: number }>;
  if (rows.length === 0) return { batch: 0, names: [] };
  const chosen = step === undefined ? rows.filter((r) => r.batch === rows[0].batch) : rows.slice(0, step);
  return { batch: rows[0].batch, names: chosen.map((r) => migrationName(r.name)) };
}

function parseStep(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1) throw usageError(`--step must be a whole number of migrations, 1 or more, not "${value}".`);
  return Number(value);
}

export async function migrate(_args: string[], opts: MigrateOptions): Promise<number | void> {
  if (opts.status && opts.rollback) throw usageError('migrate takes --status or --rollback, not both.');
  const step = parseStep(opts.step);
  if (step !== undefined && !opts.rollback) throw usageError('--step goes with --rollback.');
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
    const plan = await rollbackPlan(db, step);
    let names: string[] = [];
    let batch = plan.batch;
    if (plan.names.length > 0) {
      const what = `${plan.names.length} migration${plan.names.length === 1 ? '' : 's'} (${plan.names.join(', ')}), dropping the tables and data they hold`;
      if (!opts.yes && !ui.interactive()) {
        throw usageError(`migrate --rollback needs --yes when not run interactively; it would undo ${what}.`);
      }
      ui.message(`Rolling back undoes ${what}:`);
      for (const n of plan.names) ui.message(`  ${n}`);
      if (!(await ui.confirmOrYes('migrate --rollback', opts.yes, async () => 'Roll back, losing that data?', 'Nothing rolled back.'))) return 1;
      if (step === undefined) {
        const [b, log] = (await db.migrate.rollback()) as [number, string[]];
        batch = b;
        names = log.map(migrationName);
      } else {
        for (let i = 0; i < step && i < plan.names.length; i++) {
          const [, log] = (await db.migrate.down()) as [number, string[]];
          names.push(...log.map(migrationName));
        }
      }
    }
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
