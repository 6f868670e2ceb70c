// Config for the knex CLI (`node --import tsx node_modules/knex/bin/cli.js migrate:latest`).
// `watchstore migrate` does not need it: it calls the migrator directly.
import { getConfig } from './src/config.js';
import { knexConfig, MIGRATION_TIMEOUT_MS } from './src/db/knex-config.js';

// The migrate command's bound (long ALTERs), not the request's DB_TIMEOUT_MS.
export default knexConfig(getConfig().database, { timeoutMs: MIGRATION_TIMEOUT_MS });
