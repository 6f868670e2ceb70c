/**
 * The HTTP server's limits against slow and too many clients (server.ts createHttpServer, from
 * HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_KEEP_ALIVE_TIMEOUT_MS and
 * HTTP_MAX_CONNECTIONS), over real sockets. No database: the limits are the listener's own.
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { createHttpServer } from '../../src/http/server.js';

async function listening(env: Record<string, string>) {
  const config = loadConfig({ ...env });
  const server = createHttpServer((_req, res) => res.end('ok'), config.http);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, config };
}

/** A raw socket: what it received until the server closed it. */
function openSocket(port: number, send: string): { socket: net.Socket; closed: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  socket.on('data', (d) => {
    received += d.toString();
  });
  socket.on('error', () => {});
  socket.write(send);
  return { socket, closed: new Promise((resolve) => socket.on('close', () => resolve(received))) };
}

test('when nothing is configured, then the server uses the documented limits', async (t) => {
  const { server } = await listening({});
  t.is(server.headersTimeout, 10_000);
  t.is(server.requestTimeout, 30_000);
  t.is(server.keepAliveTimeout, 5_000);
  t.is(server.maxConnections, 1000);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('when a client sends its headers too slowly, then the server answers 408 and closes the connection', async (t) => {
  const { server, port } = await listening({ HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '600' });
  const slow = openSocket(port, 'GET / HTTP/1.1\r\nHost: x\r\n'); // never finishes its headers
  const received = await slow.closed;
  t.regex(received, /^HTTP\/1\.1 408/);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('when more clients connect than HTTP_MAX_CONNECTIONS, then the extra connection is closed at once', async (t) => {
  const { server, port } = await listening({ HTTP_MAX_CONNECTIONS: '2' });
  const held = [openSocket(port, 'GET / HTTP/1.1\r\nHost: x\r\n'), openSocket(port, 'GET / HTTP/1.1\r\nHost: x\r\n')];
  // Both are accepted (the server counts them) before the third knocks.
  for (;;) {
    const n = await new Promise<number>((resolve, reject) => server.getConnections((err, c) => (err ? reject(err) : resolve(c))));
    if (n >= 2) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const extra = openSocket(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  t.is(await extra.closed, '', 'refused without an answer');
  for (const h of held) h.socket.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
