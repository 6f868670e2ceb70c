// Config for the knex CLI (`node --import tsx node_modules/knex/bin/cli.js migrate:latest`).
// `watchstore migrate` does not need it: it calls the migrator directly.
import { getConfig } from './src/config.js';
import { knexConfig } from './src/db/connection.js';

export default knexConfig(getConfig().database);
