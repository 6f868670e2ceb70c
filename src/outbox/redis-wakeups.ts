/**
 * Outbox wake-ups across instances over Redis pub/sub (docs/data.md, "Outbox"): with REDIS_URL,
 * a server publishes a wake-up after a request that may have queued a message committed, and
 * every worker subscribed to the store's channel (`<REDIS_PREFIX>:outbox:wake`) looks for due
 * messages at once, so a message queued on one instance is sent by another's worker without
 * waiting for its poll.
 *
 * The invariant: a wake-up only ever makes a worker poll early. Nothing depends on one arriving;
 * the poll every OUTBOX_POLL_MS still finds every message. So Redis failing fails open: publishing
 * is skipped while the connection is down, the worker polls as without Redis, the outage is
 * logged once (and its end once), and a subscriber that reconnects wakes its worker once for
 * what was published while it was away.
 */
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';

export interface WakeupLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export const wakeupChannel = (prefix: string) => `${prefix}:outbox:wake`;

/** The publisher never queues a command while disconnected (a wake-up later than the poll is worth nothing). */
const PUBLISHER: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5000 };
/** The subscriber's SUBSCRIBE waits for Redis however long it is away (ioredis subscribes again after each reconnection). */
const SUBSCRIBER: RedisOptions = { maxRetriesPerRequest: null, connectTimeout: 5000 };

/** A client that logs the outage once and its end once; `close()` ends it without a word. */
function connect(url: string, options: RedisOptions, role: string, log: WakeupLog, onBack?: () => void): { client: Redis; close(): void } {
  // Loaded only when Redis is configured, as the rate limits do.
  const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  const client = new RedisClient(url, options);
  let down = false;
  let closing = false;
  const lost = (err?: Error) => {
    if (down || closing) return;
    down = true;
    log.warn({ err: err?.message ?? 'connection closed', role }, 'outbox wake-ups: Redis unavailable, workers fall back to polling (OUTBOX_POLL_MS)');
  };
  client.on('error', (err: Error) => lost(err));
  client.on('close', () => lost());
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ role }, 'outbox wake-ups: Redis is back');
    onBack?.();
  });
  return {
    client,
    close() {
      closing = true;
      client.disconnect(); // nothing to flush: a lost wake-up costs at most one poll interval
    },
  };
}

export interface WakeupPublisher {
  /** Tells every subscribed worker to look now; skipped (never waits, never throws) while Redis is down. */
  publish(): void;
  close(): Promise<void>;
}

export function redisWakeupPublisher(url: string, prefix: string, log: WakeupLog): WakeupPublisher {
  const { client, close } = connect(url, PUBLISHER, 'publisher', log);
  const channel = wakeupChannel(prefix);
  client.once('ready', () => log.info({ channel }, `outbox wake-ups: publishing on ${channel}`));
  return {
    publish() {
      if (client.status !== 'ready') return;
      client.publish(channel, '1').catch(() => {}); // a failure is the outage the client logs
    },
    async close() {
      close();
    },
  };
}

export interface WakeupSubscriber {
  /** Resolves once subscribed (which waits for Redis: the worker polls meanwhile). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** Calls `wake` for every wake-up published on the store's channel, and once after each reconnection. */
export function redisWakeupSubscriber(url: string, prefix: string, wake: () => void, log: WakeupLog): WakeupSubscriber {
  const channel = wakeupChannel(prefix);
  const { client, close } = connect(url, SUBSCRIBER, 'subscriber', log, wake);
  client.on('message', () => wake());
  const ready = client.subscribe(channel).then(
    () => log.info({ channel }, `outbox wake-ups: subscribed to ${channel}`),
    () => {},
  );
  return {
    ready,
    async close() {
      close();
    },
  };
}
