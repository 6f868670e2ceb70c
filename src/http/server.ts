/**
 * Listens, and shuts down gracefully.
 *
 * With OUTBOX_WORKER on (the default) the outbox's delivery worker runs in the same process
 * (docs/data.md, "outbox"), woken early by requests that may have queued a message; with
 * REDIS_URL those requests also wake every other instance's worker (outbox/redis-wakeups.ts).
 *
 * On SIGTERM or SIGINT the server stops accepting connections, lets the requests already in
 * flight finish (for at most 10 s, then their sockets are destroyed), answers every request from
 * then on with Connection: close, leaves an idle keep-alive connection to its client or to the
 * keep-alive timeout (never closing it under a request the client may be sending: behind nginx
 * that request would be lost, deploy/README.md "Rolling restart"), lets the outbox worker finish the
 * batch in hand, closes the database pool and the rate limits' Redis client, flushes the log
 * (written asynchronously), and resolves `closed`. A second signal skips the wait.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { getConfig, type Config } from '../config.js';
import { closeDb, getDb } from '../db/connection.js';
import { setDbLogSink } from '../db/knex-config.js';
import { createLogger, flushLogger } from '../logger.js';
import { redisWakeupPublisher, type WakeupPublisher } from '../outbox/redis-wakeups.js';
import { type OutboxRuntime, startOutboxWorker } from '../outbox/runtime.js';
import { catalogCacheStats } from '../products/catalog-cache.js';
import { prepareDatabase } from '../store/bootstrap.js';
import { createApp } from './app.js';
import { createRateLimits, type RateLimits } from './middleware/rate-limit.js';

export const SHUTDOWN_GRACE_MS = 10_000;

export interface ServerOptions {
  port?: number;
  host?: string;
  /** Time in-flight requests get after a signal before their sockets are destroyed. */
  graceMs?: number;
}

export interface RunningServer {
  server: http.Server;
  url: string;
  port: number;
  logger: Logger;
  /** Starts the graceful shutdown (what a signal does); resolves when it is complete. */
  shutdown(reason?: string): Promise<void>;
  /** Resolves once the server has shut down and every resource is released. */
  closed: Promise<void>;
}

/**
 * The HTTP server with the limits of config.http: a client gets HTTP_HEADERS_TIMEOUT_MS to send
 * its headers and HTTP_REQUEST_TIMEOUT_MS for the whole request (then 408 and the connection is
 * closed), an idle keep-alive connection is closed after HTTP_KEEP_ALIVE_TIMEOUT_MS, and
 * connections beyond HTTP_MAX_CONNECTIONS are refused, so slow clients cannot hold the server.
 */
export function createHttpServer(handler: http.RequestListener, limits: Config['http']): http.Server {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often Node looks for connections past those timeouts (its default, 30 s, would
      // let a slow client keep a connection far longer than configured).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

function urlOf(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const config = getConfig();
  const logger = createLogger(config.logLevel);
  const port = opts.port ?? config.port;
  const host = opts.host ?? config.host;
  const graceMs = opts.graceMs ?? SHUTDOWN_GRACE_MS;

  if (config.generatedSecrets.length) {
    logger.warn(
      { generated: config.generatedSecrets },
      `${config.generatedSecrets.join(' and ')} not set: using secrets generated for this process only; sign-ins end when it restarts and cannot be shared between instances`,
    );
  }

  // Knex's own warnings (lost or refused connections) become JSON log lines, one line each.
  setDbLogSink((level, message) => {
    const text = (typeof message === 'string' ? message : message instanceof Error ? message.message : String(message)).split('\n')[0];
    if (level === 'deprecate' || level === 'debug') logger.debug({ source: 'knex' }, text);
    else logger[level]({ source: 'knex' }, text);
  });
  const db = await getDb();
  let server: http.Server;
  let rateLimits: RateLimits | undefined;
  let outbox: OutboxRuntime | undefined;
  let wakeups: WakeupPublisher | undefined;
  const closeRedisClients = async () => {
    await wakeups?.close();
    try {
      await rateLimits?.close();
    } catch (err) {
      logger.error({ err }, 'closing a client failed');
    }
  };
  try {
    await prepareDatabase(db, logger);
    // Made here rather than by createApp so the server owns (and closes) their Redis client.
    // (Their key prefix is RATE_LIMIT_PREFIX; they log where they are kept.)
    rateLimits = createRateLimits(config, { logger });
    wakeups = config.redisUrl ? redisWakeupPublisher(config.redisUrl, config.redisPrefix, logger) : undefined;
    const wakeOutbox = () => {
      outbox?.worker.wake();
      wakeups?.publish();
    };
    server = createHttpServer(createApp({ db, config, logger, rateLimits, wakeOutbox }).callback(), config.http);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await closeDb().catch(() => {});
    await closeRedisClients();
    throw err;
  }

  if (config.outbox.workerInServe) {
    outbox = startOutboxWorker(db, config, logger);
    logger.info({ mail: outbox.mailTarget }, `outbox worker started; e-mail goes to ${outbox.mailTarget}`);
  }
  const url = urlOf(server.address() as AddressInfo);
  logger.info({ url }, `listening on ${url}`);

  // Responses in flight, so a shutdown can tell them to close their connection when done.
  const inFlight = new Set<http.ServerResponse>();
  let closing = false;
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    inFlight.add(res);
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => inFlight.delete(res));
  });

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve;
  });
  let shuttingDown: Promise<void> | undefined;
  let forceTimer: NodeJS.Timeout | undefined;

  const forceClose = () => {
    logger.warn({ in_flight: inFlight.size }, `closing every connection now, ${inFlight.size} request${inFlight.size === 1 ? '' : 's'} unfinished`);
    server.closeAllConnections();
  };

  const shutdown = (reason = 'shutdown'): Promise<void> => {
    if (shuttingDown) return shuttingDown;
    closing = true;
    logger.info(
      { reason, in_flight: inFlight.size },
      `${reason}: no longer accepting connections, finishing ${inFlight.size} in-flight request${inFlight.size === 1 ? '' : 's'}`,
    );
    for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    shuttingDown = (async () => {
      // net.Server's close, not http.Server's: that one would also destroy the idle keep-alive
      // connections at once, racing a proxy that is sending its next request on one (a POST
      // nginx may not retry). Each is left to carry at most one more request, answered with
      // Connection: close, or to be closed by the client (nginx's upstream keepalive_timeout,
      // deploy/) or by HTTP_KEEP_ALIVE_TIMEOUT_MS, whichever comes first.
      const stopped = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      forceTimer = setTimeout(forceClose, graceMs);
      forceTimer.unref();
      await stopped;
      clearTimeout(forceTimer);
      await outbox?.stop();
      await closeDb().catch((err: unknown) => logger.error({ err }, 'closing the database pool failed'));
      await closeRedisClients();
      // What a bench reads for the catalog cache's hit rate (docs/architecture.md).
      logger.info({ catalog_cache: catalogCacheStats() }, 'catalog cache hits and misses since start');
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info('stopped');
      await flushLogger(logger);
      resolveClosed();
    })();
    return shuttingDown;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      forceClose(); // a second signal: do not wait for the grace period
      return;
    }
    void shutdown(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  return { server, url, port: (server.address() as AddressInfo).port, logger, shutdown, closed };
}
