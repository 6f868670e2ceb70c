/**
 * deploy/ agrees with itself and with the code: the compose file and the nginx site template on
 * upstream names, ports, the images directory and the template's placeholders; every variable the
 * compose file and the systemd units give watchstore is one src/config.ts reads. (Docker does not
 * run here; the nginx site itself runs in test-cluster/.) The compose file is kept to a plain
 * subset of YAML (nested maps, lists of scalars, no anchors) read by the small parser below.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { CONFIG_VARIABLES } from '../../src/config.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { SITE_VARIABLES, upstreamServers } from '../helpers/cluster.js';

const read = (f: string) => readFileSync(path.join(PROJECT_ROOT, 'deploy', f), 'utf8');
type Yaml = string | Yaml[] | { [k: string]: Yaml };

/** Nested maps and lists of scalars by indentation; quoted scalars unquoted; comments and blank lines skipped. */
function parseYamlSubset(text: string): Yaml {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() && !l.trimStart().startsWith('#'))
    .map((l) => ({ indent: l.length - l.trimStart().length, text: l.trim() }));
  const scalar = (s: string) => s.replace(/^"(.*)"$/, '$1');
  let i = 0;
  const block = (indent: number): Yaml => {
    if (lines[i]?.text.startsWith('- ')) {
      const list: Yaml[] = [];
      while (i < lines.length && lines[i].indent === indent && lines[i].text.startsWith('- ')) list.push(scalar(lines[i++].text.slice(2)));
      return list;
    }
    const map: Record<string, Yaml> = {};
    while (i < lines.length && lines[i].indent === indent) {
      const m = /^([A-Za-z0-9_.-]+):(?:\s+(.*))?$/.exec(lines[i].text);
      if (!m) throw new Error(`not in the YAML subset: ${lines[i].text}`);
      i++;
      if (m[2] !== undefined) map[m[1]] = scalar(m[2]);
      else if (i < lines.length && lines[i].indent > indent) map[m[1]] = block(lines[i].indent);
      else map[m[1]] = '';
    }
    return map;
  };
  const doc = block(0);
  if (i !== lines.length) throw new Error(`not in the YAML subset near: ${lines[i].text}`);
  return doc;
}

const compose = parseYamlSubset(read('docker-compose.yml')) as { services: Record<string, Record<string, any>> };
const services = compose.services;
const template = read('nginx/watchstore.conf.template');

test('the compose file’s nginx fills exactly the site template’s placeholders, from the template file itself', (t) => {
  const placeholders = [...new Set([...template.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]))].sort();
  t.deepEqual(placeholders, [...SITE_VARIABLES].sort());
  const nginx = services.nginx;
  t.deepEqual(Object.keys(nginx.environment).sort(), placeholders);
  t.true((nginx.volumes as string[]).includes('./nginx/watchstore.conf.template:/etc/nginx/templates/default.conf.template:ro'));
});

test('nginx’s upstream is the compose file’s app services on their PORT, written as the cluster test writes it; it listens on its published port', (t) => {
  const env = services.nginx.environment;
  const addresses = [...String(env.WATCHSTORE_UPSTREAM_SERVERS).matchAll(/server (\S+?):(\d+)\b/g)].map((m) => ({ host: m[1], port: m[2] }));
  t.true(addresses.length >= 2);
  t.is(env.WATCHSTORE_UPSTREAM_SERVERS, upstreamServers(addresses.map((a) => `${a.host}:${a.port}`)));
  for (const { host, port } of addresses) {
    const app = services[host];
    t.truthy(app, `a service named ${host}`);
    t.is(app.image, 'watchstore');
    t.is(app.command, undefined, `${host} runs the image's default command, serve`);
    t.is(app.environment.PORT, port);
    t.is(app.environment.TRUST_PROXY, 'true', `${host} trusts nginx's X-Forwarded-For`);
    t.is(app.environment.OUTBOX_WORKER, 'false', 'the worker service sends');
  }
  t.true((services.nginx.ports as string[]).some((p) => p.endsWith(`:${env.WATCHSTORE_LISTEN}`)));
  t.regex(services.worker.command, /"worker"/);
});

test('nginx serves the images from the same volume, at the IMAGES_DIR every instance uses', (t) => {
  const dir = services.nginx.environment.WATCHSTORE_IMAGES_DIR;
  t.true((services.nginx.volumes as string[]).includes(`images:${dir}:ro`));
  for (const name of ['app1', 'app2']) {
    t.is(services[name].environment.IMAGES_DIR, dir);
    t.true((services[name].volumes as string[]).includes(`images:${dir}`));
  }
});

test('every variable the compose file and the systemd units give watchstore is one src/config.ts reads, with the same database, Redis and secrets on every instance', (t) => {
  const ours = ['migrate', 'app1', 'app2', 'worker'];
  for (const name of ours) for (const v of Object.keys(services[name].environment)) t.true(CONFIG_VARIABLES.includes(v), `${name}: ${v}`);
  for (const v of ['DATABASE_URL', 'REDIS_URL', 'ACCESS_TOKEN_SECRET', 'REFRESH_TOKEN_SECRET'])
    t.is(services.app1.environment[v], services.app2.environment[v], v);
  // The instances publish outbox wake-ups on Redis (OUTBOX_WORKER=false): the worker must listen
  // there, or every message waits for its next poll (src/outbox/redis-wakeups.ts).
  for (const v of ['DATABASE_URL', 'REDIS_URL']) t.is(services.worker.environment[v], services.app1.environment[v], `worker: ${v}`);
  for (const unit of ['systemd/watchstore@.service', 'systemd/watchstore-worker.service']) {
    const vars = [...read(unit).matchAll(/^Environment=([A-Z_]+)=/gm)].map((m) => m[1]).filter((v) => !['NODE_OPTIONS', 'MALLOC_ARENA_MAX'].includes(v));
    for (const v of vars) t.true(CONFIG_VARIABLES.includes(v), `${unit}: ${v}`);
  }
  for (const line of read('systemd/watchstore.env.example')
    .split('\n')
    .filter((l) => /^[A-Z]/.test(l)))
    t.true(CONFIG_VARIABLES.includes(line.split('=')[0]), line);
  const serve = read('systemd/watchstore@.service');
  t.regex(serve, /^Environment=TRUST_PROXY=true$/m);
  t.regex(serve, /^Environment=OUTBOX_WORKER=false$/m);
  // What `npm start` gives the server (package.json's start script: a variable, then node's flags).
  const start = /^([A-Z_]+=\S+) node (.+) bin\/watchstore\.js serve$/.exec(
    (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start,
  );
  t.truthy(start, "npm start's command");
  t.regex(serve, new RegExp(`^Environment=${start![1]}$`, 'm'), "npm start's environment");
  t.regex(serve, new RegExp(`^Environment=NODE_OPTIONS=${start![2]}$`, 'm'), "npm start's Node flags");
  // A restart stops a container as systemd stops a unit: the same time before SIGKILL.
  const stopTime = (unit: string) => `${/^TimeoutStopSec=(\d+)$/m.exec(read(unit))?.[1]}s`;
  for (const name of ['app1', 'app2']) t.is(services[name].stop_grace_period, stopTime('systemd/watchstore@.service'), `${name}: stop_grace_period`);
  t.is(services.worker.stop_grace_period, stopTime('systemd/watchstore-worker.service'), 'worker: stop_grace_period');
});
