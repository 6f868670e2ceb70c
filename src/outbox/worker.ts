/**
 * The outbox's delivery worker (docs/data.md, "outbox"): claims due rows with a lease
 * (outbox.repository.ts states the invariant), hands each to the deliverer of its kind, and
 * records the result: sent; or due again after an exponential backoff with jitter; or dead after
 * the last attempt. It runs inside `watchstore serve` and alone as `watchstore worker`.
 */
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { claimDue, markFailed, markSent } from './outbox.repository.js';
import type { OutboxKind, OutboxMessage } from './outbox.schemas.js';

/**
 * Delivers one message or throws; the kind's transport (mail/, webhooks/). May say where the
 * message went (a file, a server), for the one line the worker logs per message sent.
 */
export type Deliverer = (msg: OutboxMessage) => Promise<string | undefined | void>;
export type Deliverers = Readonly<Record<OutboxKind, Deliverer>>;

/**
 * Thrown by a deliverer when no retry can help (the webhook endpoint was removed): the message
 * goes dead at once instead of after its last attempt.
 */
export class UndeliverableError extends Error {
  override name = 'UndeliverableError';
}

/** The OUTBOX_* settings (config.ts) the worker runs with. */
export type WorkerSettings = Omit<Config['outbox'], 'workerInServe'>;

export interface WorkerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The wait before attempt `attempt + 1`: base × 2^(attempt−1), at most `max`, of which a random
 * half is taken off ("equal jitter"), so messages that failed together do not retry together.
 */
export function backoffMs(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface BatchResult {
  claimed: number;
  sent: number;
  failed: number;
  dead: number;
}

/** An error's message; anything thrown that is not an Error, as well as it can be said. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'the deliverer threw a value that is not an Error';
  }
}

/** Claims one batch of due messages and delivers them (concurrently); reports what happened. */
export async function deliverBatch(db: Db, deliverers: Deliverers, s: WorkerSettings, log?: WorkerLog): Promise<BatchResult> {
  const claim = await claimDue(db, { limit: s.batchSize, leaseMs: s.leaseMs });
  const result: BatchResult = { claimed: claim.messages.length, sent: 0, failed: 0, dead: 0 };
  // Settled, not Promise.all: when recording one message fails (the database went away), the
  // others' sends are still waited for, so `stop()` never closes the pool under a send in hand.
  const settled = await Promise.allSettled(
    claim.messages.map(async (msg) => {
      let where: string | undefined | void;
      try {
        if (msg.payload === null) throw new UndeliverableError('its stored payload is not a JSON object: it cannot be sent');
        where = await deliverers[msg.kind](msg);
      } catch (err) {
        const last = msg.attempts >= s.maxAttempts || err instanceof UndeliverableError;
        const retryAt = last ? null : new Date(Date.now() + backoffMs(msg.attempts, s.retryBaseMs, s.retryMaxMs));
        await markFailed(db, msg.id, claim.token, describe(err), retryAt);
        if (last) result.dead++;
        else result.failed++;
        const fields = { outbox_id: msg.id, topic: msg.topic, attempt: msg.attempts, err: describe(err) };
        if (last) log?.error(fields, 'outbox: message is dead (its last attempt, or undeliverable)');
        else log?.warn({ ...fields, retry_at: retryAt?.toISOString() }, 'outbox: delivery failed, will retry');
        return;
      }
      // The payload goes along so its secrets (a reset token) are dropped as it is marked sent.
      if (await markSent(db, msg.id, claim.token, new Date(), msg.payload)) {
        result.sent++;
        log?.info({ outbox_id: msg.id, topic: msg.topic, ...(where ? { where } : {}) }, 'outbox: sent');
      }
    }),
  );
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return result;
}

export interface Worker {
  /** Look for due messages now (after a commit that queued one) instead of at the next poll. */
  wake(): void;
  /** Stops claiming, waits for the batch in hand, and resolves. */
  stop(): Promise<void>;
  /** Resolves once the worker has nothing due (for tests and `worker --once`). */
  idle(): Promise<void>;
}

/**
 * Runs `deliverBatch` in a loop: again at once while batches come back full, else after `pollMs`
 * or a `wake()`. A database error is logged and the loop goes on after the poll interval.
 */
export function startWorker(db: Db, deliverers: Deliverers, s: WorkerSettings, log?: WorkerLog): Worker {
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeUp: (() => void) | undefined;
  let idleWaiters: (() => void)[] = [];
  let woken = false;

  const sleep = () =>
    new Promise<void>((resolve) => {
      if (woken || stopping) {
        woken = false;
        resolve();
        return;
      }
      wakeUp = resolve;
      timer = setTimeout(resolve, s.pollMs);
      timer.unref?.();
    }).finally(() => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      wakeUp = undefined;
    });

  const loop = (async () => {
    while (!stopping) {
      let full = false;
      try {
        const r = await deliverBatch(db, deliverers, s, log);
        full = r.claimed >= s.batchSize;
        if (r.claimed === 0) {
          for (const w of idleWaiters) w();
          idleWaiters = [];
        }
      } catch (err) {
        log?.warn({ err: describe(err) }, 'outbox: could not claim messages; trying again at the next poll');
      }
      if (!full) await sleep();
    }
  })();

  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    async stop() {
      stopping = true;
      wakeUp?.();
      await loop;
      for (const w of idleWaiters) w();
      idleWaiters = [];
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        woken = true;
        wakeUp?.();
      });
    },
  };
}
