// The baseline: a bare node:http server sending fixed bytes with fixed headers.
// Usage: node bench/bare-server.mjs <port> <response.json>   (response.json: {headers, body})
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [port, file] = process.argv.slice(2);
const { headers, body } = JSON.parse(readFileSync(file, 'utf8'));
const bytes = Buffer.from(body, 'utf8');
http
  .createServer((_req, res) => {
    res.writeHead(200, headers);
    res.end(bytes);
  })
  .listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
