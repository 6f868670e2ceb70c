/**
 * The real `watchstore serve` as a child process (the compiled CLI: run `npm run build` first),
 * with its log lines collected. (A MariaDB database whatever TEST_DB says: createMariaDatabase in
 * db.ts.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from './bin.js';

export interface LogLine {
  level?: number;
  msg?: string;
  [key: string]: unknown;
}

export interface ServerProcess {
  child: ChildProcess;
  /** http://127.0.0.1:PORT, from the "listening on" line. */
  url: string;
  port: number;
  /** Everything written to stdout so far, parsed where it is JSON. */
  readonly lines: LogLine[];
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (or the signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits (up to `ms`) for a log line that matches. */
  waitForLine(match: (l: LogLine) => boolean, ms?: number): Promise<LogLine>;
  /** SIGKILLs the process if it is still running. */
  kill(): Promise<void>;
}

/** Runs `node [nodeArgs] bin/watchstore.js <args>` and collects its output; does not wait for anything. */
export function spawnCli(args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string; nodeArgs?: string[] } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), BIN, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '', lines: [] as LogLine[] };
  const waiters = new Set<() => void>();
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out.stdout += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      if (!p.trim()) continue;
      try {
        out.lines.push(JSON.parse(p) as LogLine);
      } catch {
        out.lines.push({ msg: p });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    out.stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const w of waiters) w();
      resolve({ code, signal });
    });
  });

  const waitForLine = (match: (l: LogLine) => boolean, ms = 20_000): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const line = out.lines.find(match);
        if (line) return done(() => resolve(line));
        if (child.exitCode !== null || child.signalCode !== null) {
          done(() =>
            reject(
              new Error(`the process exited (${child.exitCode ?? child.signalCode}) before the expected line.\nstdout: ${out.stdout}\nstderr: ${out.stderr}`),
            ),
          );
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no matching line within ${ms} ms.\nstdout: ${out.stdout}\nstderr: ${out.stderr}`))), ms);
      const done = (f: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        f();
      };
      waiters.add(check);
      check();
    });

  return { child, out, exited, waitForLine };
}

/** Starts `watchstore serve --port 0` and waits for its "listening on" line. */
export async function startServerProcess(
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    args?: string[];
    /** Called at once with the starting process's waitForLine, to follow its start-up. */
    onSpawn?: (p: { waitForLine: ReturnType<typeof spawnCli>['waitForLine'] }) => void;
  } = {},
): Promise<ServerProcess> {
  const spawned = spawnCli(['serve', '--port', '0', '--host', '127.0.0.1', ...(opts.args ?? [])], opts);
  opts.onSpawn?.({ waitForLine: spawned.waitForLine });
  let listening: LogLine;
  try {
    listening = await spawned.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('listening on '), 30_000);
  } catch (err) {
    await killProcess(spawned);
    throw err;
  }
  return serverProcess(spawned, String(listening.msg).slice('listening on '.length));
}

/** SIGKILLs a spawned process if it is still running, and waits for its exit. */
async function killProcess({ child, exited }: ReturnType<typeof spawnCli>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited;
  }
}

/** The ServerProcess of a `serve` spawned by spawnCli that answers at `url`. */
export function serverProcess(spawned: ReturnType<typeof spawnCli>, url: string): ServerProcess {
  const { child, out, exited, waitForLine } = spawned;
  return {
    child,
    url,
    port: Number(new URL(url).port),
    get lines() {
      return out.lines;
    },
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exited,
    waitForLine,
    kill: () => killProcess(spawned),
  };
}

/** Resolves with the exit of a process, or rejects after `ms`. */
export async function exitWithin<T>(exited: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the process did not exit within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
