/**
 * `watchstore serve [--port N] [--host H]` (also `npm start`): the HTTP API until SIGTERM/SIGINT.
 *
 * The action resolves only once the server has shut down gracefully and closed the pool, so the
 * CLI's usual "close the pool when the command is done" in main.ts finds nothing left to close.
 */
import { usageError } from '../ui.js';

export interface ServeOptions {
  port?: string;
  host?: string;
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535)
    throw usageError(`--port must be a whole number from 0 to 65535 (0 picks a free port), not "${value}".`);
  return Number(value);
}

export async function serve(_args: string[], opts: ServeOptions): Promise<number> {
  const port = parsePort(opts.port);
  if (opts.host !== undefined && opts.host.trim() === '') throw usageError('--host must not be empty.');
  const { startServer } = await import('../../http/server.js');
  const running = await startServer({ port, host: opts.host });
  await running.closed;
  // Everything we opened is closed; if a stray handle would still keep the process alive, do
  // not let it turn a clean shutdown into a hang.
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  return 0;
}
