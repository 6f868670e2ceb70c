/**
 * A TCP proxy in front of a server (MariaDB) that a test can take down and bring back, to see
 * what the app does when its database goes away and returns. It keeps its port across restarts,
 * so the app's connection settings stay the same.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** Connections currently open through the proxy. */
  readonly connections: number;
  /** Closes the listener (new connections are refused) and kills every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Kills every open connection but keeps accepting new ones (a database restart, a network blip). */
  killConnections(): void;
  /**
   * Stops forwarding in both directions but keeps every socket open and keeps accepting new
   * connections, which then hear nothing: a database that stalls (SIGSTOP, a network partition).
   */
  freeze(): void;
  /** Forwards again whatever waited, on old and new connections alike. */
  thaw(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  const pairs = new Set<[net.Socket, net.Socket]>();
  let frozen = false;
  const forward = ([client, upstream]: [net.Socket, net.Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const hold = ([client, upstream]: [net.Socket, net.Socket]) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const onConnection = (client: net.Socket) => {
    const upstream = net.connect(target.port, target.host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    open.add(client);
    open.add(upstream);
    pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    if (frozen) hold(pair);
    else forward(pair);
  };

  let server = net.createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(0);

  const killConnections = () => {
    for (const s of open) s.destroy();
    open.clear();
  };

  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    killConnections();
    await closed;
  };

  return {
    port,
    get connections() {
      return open.size / 2;
    },
    stop,
    async start() {
      server = net.createServer(onConnection);
      await listen(port);
    },
    killConnections,
    freeze() {
      frozen = true;
      for (const pair of pairs) hold(pair);
    },
    thaw() {
      frozen = false;
      for (const pair of pairs) forward(pair);
    },
    async close() {
      if (server.listening) await stop();
      else killConnections();
    },
  };
}
