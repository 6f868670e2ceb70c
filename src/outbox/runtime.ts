/**
 * The delivery worker as a process runs it (docs/data.md, "outbox"): the transports of the
 * configuration and `startWorker` with the configured settings, for `watchstore serve` (when
 * OUTBOX_WORKER is on) and `watchstore worker`; with REDIS_URL it is also woken by the wake-ups
 * other instances publish (redis-wakeups.ts). `stop()` lets the batch in hand finish, then
 * closes the transports; the caller closes the database pool after it.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { createTransports } from './deliverers.js';
import { redisWakeupSubscriber, type WakeupSubscriber } from './redis-wakeups.js';
import { startWorker, type Worker, type WorkerLog, type WorkerSettings } from './worker.js';

export function workerSettings(config: Config): WorkerSettings {
  const { workerInServe: _, ...settings } = config.outbox;
  return settings;
}

export interface OutboxRuntime {
  worker: Worker;
  /** Where e-mail goes ("smtp://host:port" or "files in <dir>"). */
  mailTarget: string;
  stop(): Promise<void>;
}

export function startOutboxWorker(db: Db, config: Config, log: WorkerLog): OutboxRuntime {
  const transports = createTransports(config, db);
  const worker = startWorker(db, transports.deliverers, workerSettings(config), log);
  const wakeups: WakeupSubscriber | undefined = config.redisUrl
    ? redisWakeupSubscriber(config.redisUrl, config.redisPrefix, () => worker.wake(), log)
    : undefined;
  let stopping: Promise<void> | undefined;
  return {
    worker,
    mailTarget: transports.mailer.target,
    stop() {
      stopping ??= (async () => {
        await wakeups?.close();
        await worker.stop().finally(() => transports.close());
      })();
      return stopping;
    },
  };
}
