// A preload for the server under bench: its CPU time per request, printed to stderr when it exits,
// from its 2,000th request (after the warm-up) to the last multiple of 1,000. Steadier than req/s
// on a shared machine (bench/README.md, "Catalog hit path"). Usage:
//   BENCH_NODE_ARGS="--import=$PWD/bench/cpu-per-request.mjs" npm run bench -- --mysql catalog
import http from 'node:http';

const createServer = http.createServer;
let served = 0;
let first;
let last;
let lastAt = 0;
http.createServer = function (...args) {
  const server = createServer.apply(this, args);
  server.on('request', () => {
    served++;
    if (served % 1000 !== 0 || served < 2000) return;
    const usage = process.cpuUsage();
    if (served === 2000) first = usage;
    else {
      last = usage;
      lastAt = served;
    }
  });
  return server;
};

process.on('exit', () => {
  if (!first || !last) return;
  const n = lastAt - 2000;
  const us = (u) => u.user + u.system;
  process.stderr.write(`CPU_PER_REQ_US ${((us(last) - us(first)) / n).toFixed(1)} (user ${((last.user - first.user) / n).toFixed(1)}) over ${n} requests\n`);
});
