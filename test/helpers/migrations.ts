import { readdirSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/paths.js';

/**
 * How many migrations the repository has, counted from the sources in migrations/ (not from
 * what the code under test loads, so a migration the loader missed would fail the counts).
 */
export const MIGRATION_COUNT = readdirSync(path.join(PROJECT_ROOT, 'migrations')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).length;
