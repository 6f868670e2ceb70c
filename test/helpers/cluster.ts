/**
 * The production topology on this machine: nginx (Debian's, in the foreground, everything under a
 * temporary prefix) in front of N real `watchstore serve` processes (the compiled CLI: run
 * `npm run build` first) on one database. The nginx site is deploy/nginx/watchstore.conf.template
 * itself with its three placeholders filled, so what is tested is what is shipped. Used by
 * test-cluster/ and by the bench's `cluster` scenario.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './bin.js';
import { exitWithin, type LogLine, type ServerProcess, serverProcess, spawnCli } from './server-process.js';

export const NGINX_SITE_TEMPLATE = path.join(ROOT, 'deploy', 'nginx', 'watchstore.conf.template');
export const NGINX_BIN = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** The placeholders of the site template (deploy/README.md). */
export const SITE_VARIABLES = ['WATCHSTORE_UPSTREAM_SERVERS', 'WATCHSTORE_LISTEN', 'WATCHSTORE_IMAGES_DIR'] as const;
export type SiteValues = Record<(typeof SITE_VARIABLES)[number], string>;

/** The `server` lines of the upstream block for these host:port addresses, as deploy/ writes them. */
export function upstreamServers(addresses: string[]): string {
  return addresses.map((a) => `server ${a} max_fails=1 fail_timeout=2s;`).join(' ');
}

/**
 * The site with its placeholders filled, as `envsubst '${A} ${B} ${C}'` does (only those names;
 * nginx's own $variables are left alone). Throws if a placeholder has no value.
 */
export function renderSite(template: string, values: SiteValues): string {
  return template.replace(/\$\{([A-Z_]+)\}/g, (whole, name: string) => {
    if (!(SITE_VARIABLES as readonly string[]).includes(name)) return whole;
    const value = values[name as keyof SiteValues];
    if (!value) throw new Error(`no value for ${name}`);
    return value;
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`);
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > end) throw new Error(`${url}/api/health not healthy within ${ms} ms (${last})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ClusterInstance {
  index: number;
  port: number;
  /** http://127.0.0.1:PORT, the instance itself (not through nginx). */
  url: string;
  /** The running process (undefined while stopped). */
  proc?: ServerProcess;
  /** Log lines of every run of this instance so far (the current one's included). */
  readonly lines: LogLine[];
}

export interface Cluster {
  /** nginx: http://127.0.0.1:PORT */
  url: string;
  instances: ClusterInstance[];
  /** IMAGES_DIR of every instance, served by nginx. */
  imagesDir: string;
  /** The filled site file nginx runs. */
  site: string;
  /** nginx's access log so far (format `cluster` below: request id, status, upstream addresses and statuses). */
  accessLog(): string[];
  /** SIGTERM (or `signal`) to one instance; resolves with its exit once it has exited. */
  stopInstance(i: number, signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Starts a stopped instance again on its port and waits until its /api/health answers 200. */
  startInstance(i: number): Promise<void>;
  /** Stops nginx and every instance, removes the temporary directory (the database is the caller's). */
  close(): Promise<void>;
}

export interface ClusterOptions {
  instances: number;
  /** The instances' environment (DATABASE_URL, REDIS_URL, …); TRUST_PROXY=true and IMAGES_DIR are set here. */
  env: Record<string, string | undefined>;
  /** Node flags of the instances. */
  nodeArgs?: string[];
  /** nginx worker processes (default 1). */
  nginxWorkers?: number;
}

/** nginx's own configuration around the site: everything it writes is under `dir`. */
function mainConfig(dir: string, workers: number): string {
  const temp = (name: string) => path.join(dir, 'temp', name);
  return `worker_processes ${workers};
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  log_format cluster '$request_id $status "$request" up=$upstream_addr ups=$upstream_status';
  access_log ${path.join(dir, 'access.log')} cluster;
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  include ${path.join(dir, 'site.conf')};
}
`;
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  if (!existsSync(NGINX_BIN)) throw new Error(`nginx is not installed (${NGINX_BIN}); apt-get install nginx (.ci/run does)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ws-cluster-'));
  // nginx's workers run as another user (nobody) when the master is root: they must read the
  // images and reach the prefix.
  chmodSync(dir, 0o755);
  const imagesDir = path.join(dir, 'images');
  mkdirSync(imagesDir, { mode: 0o755 });
  mkdirSync(path.join(dir, 'temp'), { mode: 0o755 });
  for (const f of readdirSync(path.join(ROOT, 'images')).slice(0, 3)) copyFileSync(path.join(ROOT, 'images', f), path.join(imagesDir, f));

  const ports = await Promise.all(Array.from({ length: opts.instances }, () => freePort()));
  const nginxPort = await freePort();
  const site = renderSite(readFileSync(NGINX_SITE_TEMPLATE, 'utf8'), {
    WATCHSTORE_UPSTREAM_SERVERS: upstreamServers(ports.map((p) => `127.0.0.1:${p}`)),
    WATCHSTORE_LISTEN: `127.0.0.1:${nginxPort}`,
    WATCHSTORE_IMAGES_DIR: imagesDir,
  });
  writeFileSync(path.join(dir, 'site.conf'), site);
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, mainConfig(dir, opts.nginxWorkers ?? 1));

  const env = { ...opts.env, TRUST_PROXY: 'true', IMAGES_DIR: imagesDir };
  // Log lines of an instance's earlier runs.
  const past = ports.map((): LogLine[] => []);
  const instances: ClusterInstance[] = ports.map((port, index) => {
    const inst: ClusterInstance = {
      index,
      port,
      url: `http://127.0.0.1:${port}`,
      get lines() {
        return inst.proc ? [...past[index], ...inst.proc.lines] : past[index];
      },
    };
    return inst;
  });

  let nginx: ChildProcess | undefined;
  let nginxExited: Promise<unknown> = Promise.resolve();
  let nginxStderr = '';

  const startInstance = async (i: number) => {
    const inst = instances[i];
    if (inst.proc) throw new Error(`instance ${i} is running`);
    // Ready when its health answers 200 (at any LOG_LEVEL: the bench runs at production's warn).
    const proc = serverProcess(spawnCli(['serve', '--port', String(inst.port), '--host', '127.0.0.1'], { env, nodeArgs: opts.nodeArgs }), inst.url);
    try {
      await Promise.race([
        waitHealthy(inst.url),
        proc.exited.then((e) => {
          throw new Error(`instance ${i} exited (${e.code ?? e.signal}) before it was healthy: ${proc.stderr}`);
        }),
      ]);
    } catch (err) {
      await proc.kill();
      throw err;
    }
    inst.proc = proc;
  };
  const stopInstance = async (i: number, signal: NodeJS.Signals = 'SIGTERM') => {
    const inst = instances[i];
    const proc = inst.proc;
    if (!proc) throw new Error(`instance ${i} is not running`);
    proc.child.kill(signal);
    const exit = await exitWithin(proc.exited, 30_000);
    past[i].push(...proc.lines);
    inst.proc = undefined;
    return exit;
  };

  const close = async () => {
    await Promise.all(instances.map((inst) => inst.proc?.kill()));
    if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
      nginx.kill('SIGTERM');
      await exitWithin(nginxExited, 10_000).catch(() => nginx?.kill('SIGKILL'));
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // One at a time: the first migrates nothing (the caller's database is migrated), but three
    // cold starts at once on two cores only slow each other.
    for (let i = 0; i < instances.length; i++) await startInstance(i);
    nginx = spawn(NGINX_BIN, ['-p', `${dir}/`, '-c', conf, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
    nginx.stderr!.setEncoding('utf8').on('data', (c: string) => {
      nginxStderr += c;
    });
    nginxExited = new Promise((resolve) => nginx!.once('exit', resolve));
    const url = `http://127.0.0.1:${nginxPort}`;
    await Promise.race([
      waitHealthy(url, 15_000),
      nginxExited.then(() => {
        const log = existsSync(path.join(dir, 'error.log')) ? readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
        throw new Error(`nginx exited: ${nginxStderr}${log}`);
      }),
    ]);
    return {
      url,
      instances,
      imagesDir,
      site,
      accessLog: () => readFileSync(path.join(dir, 'access.log'), 'utf8').split('\n').filter(Boolean),
      stopInstance,
      startInstance,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
