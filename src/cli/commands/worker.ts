/**
 * `watchstore worker [--once]`: the outbox's delivery worker on its own (docs/data.md, "outbox"),
 * for shops that run it apart from the servers (then OUTBOX_WORKER=false for `serve`).
 *
 * Until SIGTERM/SIGINT it logs JSON lines on stdout, like `serve`; a signal lets the batch in hand
 * finish, then the pool is closed (a second signal exits at once: its rows are delivered again
 * after their lease). With --once it delivers what is due, then prints what it did; its log lines
 * (one per failure) go to stderr so `--json` output stays clean.
 */
import { createLogger, flushLogger } from '../../logger.js';
import { createTransports } from '../../outbox/deliverers.js';
import { startOutboxWorker, workerSettings } from '../../outbox/runtime.js';
import { type BatchResult, deliverBatch } from '../../outbox/worker.js';
import { cliConfig, currentContext } from '../context.js';
import { openDb } from '../db.js';
import { ui } from '../ui.js';

export interface WorkerOptions {
  once?: boolean;
}

export async function worker(_args: string[], opts: WorkerOptions): Promise<number> {
  const config = await cliConfig();
  const db = await openDb();
  const { io } = currentContext();
  const logger = createLogger(config.logLevel, opts.once ? io.stderr : io.stdout);

  if (opts.once) {
    const transports = createTransports(config, db);
    const total: BatchResult = { claimed: 0, sent: 0, failed: 0, dead: 0 };
    try {
      for (;;) {
        const r = await deliverBatch(db, transports.deliverers, workerSettings(config), logger);
        for (const k of Object.keys(total) as (keyof BatchResult)[]) total[k] += r[k];
        if (r.claimed === 0) break;
      }
    } finally {
      transports.close();
    }
    await ui.result(total, () =>
      ui.print(
        `Delivered ${total.sent} of ${total.claimed} message${total.claimed === 1 ? '' : 's'}; ${total.failed} failed and will be retried, ${total.dead} dead.`,
      ),
    );
    return 0;
  }

  const running = startOutboxWorker(db, config, logger);
  logger.info({ mail: running.mailTarget }, `outbox worker started; e-mail goes to ${running.mailTarget}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (s: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      // A second signal does not wait for the batch in hand.
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(130));
      resolve(s);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  logger.info({ reason: signal }, `${signal}: finishing the batch in hand`);
  await running.stop();
  logger.info('stopped');
  await flushLogger(logger);
  // As `serve`: a stray handle must not turn a clean stop into a hang (main.ts closes the pool).
  setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  return 0;
}
