/**
 * `watchstore backup <file>` and `watchstore restore <file> [--yes]` (docs/cli.md): the whole
 * store to one file and back. How each dialect is copied: src/cli/backup.ts.
 */
import path from 'node:path';
import { codeMigrations } from '../../db/schema-state.js';
import { backup as writeBackup, compareMigrations, countDataRows, openBackup, restore as loadBackup } from '../backup.js';
import { cliConfig } from '../context.js';
import { openDb } from '../db.js';
import { describeDatabase } from '../describe.js';
import { ui, usageError } from '../ui.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const total = (rows: Record<string, number>) => Object.values(rows).reduce((a, b) => a + b, 0);

export async function backup([file]: string[]): Promise<void> {
  const db = await openDb();
  const where = describeDatabase((await cliConfig()).database);
  const summary = await writeBackup(db, path.resolve(file));
  await ui.result(summary, () =>
    ui.print(
      `Backed up ${where}: ${plural(total(summary.rows), 'row')} in ${plural(Object.keys(summary.rows).length, 'table')} (schema at ${summary.migrations.at(-1) ?? 'no migrations'}) to ${summary.file}.`,
    ),
  );
}

export interface RestoreOptions {
  yes?: boolean;
}

export async function restore([file]: string[], opts: RestoreOptions): Promise<number | void> {
  const source = await openBackup(path.resolve(file));
  try {
    const code = codeMigrations();
    const cmp = compareMigrations(source.migrations, code);
    if (cmp.state === 'ahead' || cmp.state === 'diverged') {
      throw usageError(
        `${file} was made by a newer or different watchstore (migrations this code does not have: ${cmp.unknown.join(', ')}); restore it with that version.`,
      );
    }
    const db = await openDb();
    const where = describeDatabase((await cliConfig()).database);
    const rows = await countDataRows(db);
    if (rows > 0) {
      const ok = await ui.confirmOrYes(
        'restore into a database that is not empty',
        opts.yes,
        async () => `Replace everything in ${where} (${plural(rows, 'row')}) with ${file}?`,
        'Nothing restored.',
      );
      if (!ok) return 1;
    }
    const counts = await loadBackup(db, source);
    const behind = cmp.state === 'behind' ? cmp.missing : [];
    await ui.result({ file: path.resolve(file), database: where, migrations: source.migrations, rows: counts, pending_migrations: behind }, () => {
      ui.print(`Restored ${plural(total(counts), 'row')} into ${where} from ${file}.`);
    });
    if (behind.length > 0) {
      ui.message(`The backup's schema is ${plural(behind.length, 'migration')} behind this code: run \`watchstore migrate\` before starting the server.`);
    }
  } finally {
    source.close();
  }
}
