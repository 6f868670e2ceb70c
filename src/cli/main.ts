/**
 * `watchstore`: the commander program and the one place where errors become exit codes.
 *
 * Each command lives in src/cli/commands/<name>.ts and is imported inside its action, so
 * `watchstore --help` loads commander and chalk only: no knex, no database, no bcrypt, no zod.
 * To add a command, add a block to buildProgram() with `.action(lazy(() => import(...), ...))`.
 *
 * Exit codes: 0 done; 1 failed (database unreachable, not found, conflict); 2 bad usage or input.
 */
import { Command, CommanderError } from 'commander';
import { isDatabaseUnavailable } from '../db/errors.js';
import { isAppError } from '../errors.js';
import { VERSION } from '../version.js';
import { type CliContext, type CliIo, currentContext, defaultContext, processIo, runInContext } from './context.js';
import { configureUi } from './ui.js';

/**
 * A command's implementation: positional arguments, its own options and the run's context
 * (context.ts: terminal, configuration, database); may return an exit code.
 */
export type CommandHandler<O = Record<string, unknown>> = (args: string[], opts: O, ctx: CliContext) => Promise<number | void>;

/** What one run of the program did: whether a command started, and the code it returned. */
interface RunState {
  started: boolean;
  exitCode: number;
}

export function buildProgram(io: CliIo = currentContext().io, run: RunState = { started: false, exitCode: 0 }): Command {
  /** Wraps a lazily imported handler as a commander action. */
  function lazy<M>(load: () => Promise<M>, pick: (m: M) => CommandHandler<never>) {
    return async (...params: unknown[]): Promise<void> => {
      const command = params[params.length - 1] as Command;
      run.started = true;
      const handler = pick(await load()) as CommandHandler;
      // Commander passes the declared arguments, then the options, then the command.
      const code = await handler(params.slice(0, -2) as string[], command.opts(), currentContext());
      if (typeof code === 'number') run.exitCode = code;
    };
  }

  const program = new Command('watchstore')
    .description("The watch shop's operator tool: database, catalog and accounts.")
    .version(VERSION, '-V, --version', 'print the version')
    .option('--json', 'machine-readable output on stdout (messages stay on stderr)')
    .option('--no-color', 'no colour (also off when stdout is not a terminal or NO_COLOR is set)')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({
      writeOut: (str) => io.stdout.write(str),
      writeErr: (str) => io.stderr.write(str),
      getOutHelpWidth: () => io.stdout.columns ?? 80,
      getErrHelpWidth: () => (io.stderr.isTTY ? (process.stderr.columns ?? 80) : 80),
      // Commander's own usage errors, as one line in the same form as ours.
      outputError: (str, write) =>
        write(
          `watchstore: ${str
            .replace(/^error: /, '')
            .trim()
            .replace(/\s*\n\s*/g, ' ')} (see --help)\n`,
        ),
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 failed (database unreachable, not found, conflict), 2 bad usage or input.\nSet DEBUG=watchstore for stack traces.',
    )
    .hook('preAction', (_program, action) => configureUi(action.optsWithGlobals()));

  program
    .command('migrate')
    .description('apply pending migrations, list them (--status), or roll back the last batch (--rollback)')
    .option('--status', 'list migrations and whether each is applied')
    .option('--rollback', 'roll back the last batch (says what it undoes and asks first)')
    .option('--step <n>', 'with --rollback: undo only the last n migrations')
    .option('-y, --yes', 'do not ask for confirmation (required when not run in a terminal)')
    .action(
      lazy(
        () => import('./commands/migrate.js'),
        (m) => m.migrate,
      ),
    );

  program
    .command('seed')
    .description('load the sample watch catalog (idempotent by product name; never creates accounts)')
    .option('--file <catalog.json>', 'a catalog file instead of the bundled seeds/catalog.json')
    .option('--reset', 'delete every product first and load the catalog afresh (asks first)')
    .option('-y, --yes', 'with --reset: do not ask for confirmation (required when not run in a terminal)')
    .action(
      lazy(
        () => import('./commands/seed.js'),
        (m) => m.seed,
      ),
    );

  program
    .command('backup')
    .description('copy the whole store to a file (SQLite: online backup; MySQL/MariaDB: a consistent dump), safe while the server runs')
    .argument('<file>', 'a new file (never overwritten)')
    .action(
      lazy(
        () => import('./commands/backup.js'),
        (m) => m.backup,
      ),
    );

  program
    .command('restore')
    .description('replace the database with a backup (asks first unless the database is empty)')
    .argument('<file>', 'a file written by `watchstore backup`')
    .option('-y, --yes', 'do not ask for confirmation (required when not run in a terminal and the database is not empty)')
    .action(
      lazy(
        () => import('./commands/backup.js'),
        (m) => m.restore,
      ),
    );

  program
    .command('doctor')
    .description('check configuration, database, pending migrations, secrets, Stripe, Redis and mail')
    .action(
      lazy(
        () => import('./commands/doctor.js'),
        (m) => m.doctor,
      ),
    );

  program
    .command('serve')
    .description('start the HTTP API (same as `npm start`); runs until SIGTERM or SIGINT')
    .option('--port <n>', 'port to listen on (default PORT or 3000; 0 picks a free one)')
    .option('--host <host>', 'address to listen on (default HOST or 127.0.0.1)')
    .action(
      lazy(
        () => import('./commands/serve.js'),
        (m) => m.serve,
      ),
    );

  program
    .command('worker')
    .description("deliver the outbox's e-mails and webhooks (what `serve` also does unless OUTBOX_WORKER=false); runs until SIGTERM or SIGINT")
    .option('--once', 'deliver what is due now, say what was done, and exit')
    .action(
      lazy(
        () => import('./commands/worker.js'),
        (m) => m.worker,
      ),
    );

  const outbox = program.command('outbox').description('the e-mails and webhooks waiting to leave, sent, or dead');
  outbox
    .command('list')
    .description('outbox messages, newest first')
    .option('--status <status>', 'pending, sent or dead')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 50)')
    .action(
      lazy(
        () => import('./commands/outbox.js'),
        (m) => m.list,
      ),
    );
  outbox
    .command('show')
    .description('one message: its state, and the e-mail as the customer gets it (or the webhook body)')
    .argument('<id>')
    .action(
      lazy(
        () => import('./commands/outbox.js'),
        (m) => m.show,
      ),
    );
  outbox
    .command('retry')
    .description('send a dead (or waiting) message again, now, with its attempts counted afresh')
    .argument('[id]', 'the message (or --dead)')
    .option('--dead', 'every dead message')
    .action(
      lazy(
        () => import('./commands/outbox.js'),
        (m) => m.retry,
      ),
    );

  const users = program.command('users').description('list and manage accounts');
  users
    .command('list')
    .description('list accounts')
    .option('--role <role>', 'customer, staff or admin')
    .option('--search <text>', 'part of a username or e-mail address')
    .option('--limit <n>', 'at most this many (default 100)')
    .action(
      lazy(
        () => import('./commands/users.js'),
        (m) => m.list,
      ),
    );
  users
    .command('add')
    .description('create an account (asks for what is missing when run in a terminal)')
    .option('--username <name>', '3 to 50 letters, digits, _ . -')
    .option('--email <address>', 'e-mail address')
    .option('--role <role>', 'customer (default) or admin')
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .action(
      lazy(
        () => import('./commands/users.js'),
        (m) => m.add,
      ),
    );
  users
    .command('role')
    .description("change an account's role")
    .argument('<username>')
    .argument('<role>', 'customer, staff or admin (the last admin stays one)')
    .action(
      lazy(
        () => import('./commands/users.js'),
        (m) => m.role,
      ),
    );
  users
    .command('passwd')
    .description("set an account's password; every session of the account ends")
    .argument('<username>')
    .option('--password-stdin', 'read the password from stdin instead of asking')
    .action(
      lazy(
        () => import('./commands/users.js'),
        (m) => m.passwd,
      ),
    );
  users
    .command('remove')
    .description('delete an account that has no orders')
    .argument('<username>')
    .option('-y, --yes', 'do not ask for confirmation (required when not run in a terminal)')
    .action(
      lazy(
        () => import('./commands/users.js'),
        (m) => m.remove,
      ),
    );
  users
    .command('disable')
    .description('disable an account: it cannot sign in and its sessions end (not the last admin); audited')
    .argument('<username>')
    .action(
      lazy(
        () => import('./commands/users-access.js'),
        (m) => m.disable,
      ),
    );
  users
    .command('enable')
    .description('enable a disabled account; audited')
    .argument('<username>')
    .action(
      lazy(
        () => import('./commands/users-access.js'),
        (m) => m.enable,
      ),
    );

  const products = program.command('products').description('list and manage the catalog');
  products
    .command('list')
    .description('list products, newest first')
    .option('--search <text>', "text in a name or description, found as the catalog's q finds it (docs/api.md)")
    .option('--low-stock <n>', 'only products with at most n in stock')
    .option('--limit <n>', 'at most this many, 1 to 100 (default 20)')
    .action(
      lazy(
        () => import('./commands/products.js'),
        (m) => m.list,
      ),
    );
  products
    .command('add')
    .description('add a product')
    // Not requiredOption: in a terminal the missing ones are asked for (docs/cli.md).
    .option('--name <name>', 'product name (asked for in a terminal)')
    .option('--price <amount>', 'price such as 199.99 (asked for in a terminal)')
    .option('--stock <n>', 'units in stock (asked for in a terminal)')
    .option('--description <text>', 'description')
    .option('--image <file>', 'a JPEG, PNG or WebP file (at most 5 MB), re-encoded into the images directory')
    .action(
      lazy(
        () => import('./commands/products.js'),
        (m) => m.add,
      ),
    );
  products
    .command('update')
    .description("change a product's name, price, description or image")
    .argument('<id>')
    .option('--name <name>', 'product name')
    .option('--price <amount>', 'price such as 199.99')
    .option('--description <text>', 'description')
    .option('--image <file>', 'a JPEG, PNG or WebP file (at most 5 MB), re-encoded into the images directory')
    .action(
      lazy(
        () => import('./commands/products.js'),
        (m) => m.update,
      ),
    );
  products
    .command('stock')
    .description('set stock (N) or adjust it (+N, -N); it never goes below zero')
    .argument('<id>')
    .argument('<change>', 'N, +N or -N')
    .action(
      lazy(
        () => import('./commands/products.js'),
        (m) => m.stock,
      ),
    );
  products
    .command('remove')
    .description('delete a product')
    .argument('<id>')
    .option('-y, --yes', 'do not ask for confirmation (required when not run in a terminal)')
    .action(
      lazy(
        () => import('./commands/products.js'),
        (m) => m.remove,
      ),
    );

  products
    .command('archive')
    .description('hide a product from the catalog (past orders keep it); audited')
    .argument('<id>')
    .action(
      lazy(
        () => import('./commands/products-archive.js'),
        (m) => m.archive,
      ),
    );
  products
    .command('unarchive')
    .description('bring an archived product back into the catalog; audited')
    .argument('<id>')
    .action(
      lazy(
        () => import('./commands/products-archive.js'),
        (m) => m.unarchive,
      ),
    );

  const orders = program.command('orders').description('list orders and move them forward');
  orders
    .command('list')
    .description('list orders, newest first')
    .option('--status <status>', 'pending, paid, shipped, delivered, canceled or refunded')
    .option('--user <username>', "only this customer's orders")
    .option('--since <date>', 'only orders created on or after this day (YYYY-MM-DD, UTC)')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 50)')
    .action(
      lazy(
        () => import('./commands/orders.js'),
        (m) => m.list,
      ),
    );
  orders
    .command('show')
    .description('one order: header, lines and payment state')
    .argument('<id>')
    .action(
      lazy(
        () => import('./commands/orders.js'),
        (m) => m.show,
      ),
    );
  orders
    .command('mark')
    .description('move an order forward (paid → shipped → delivered); canceling a pending order gives its stock back')
    .argument('<id>')
    .argument('<status>', 'shipped, delivered or canceled')
    .option('--tracking <number>', 'the tracking number (shipped only)')
    .option('--carrier <name>', 'the carrier (shipped only)')
    .action(
      lazy(
        () => import('./commands/orders.js'),
        (m) => m.mark,
      ),
    );
  orders
    .command('refund')
    .description('refund a paid, shipped or delivered order through Stripe, in full or in part; audited')
    .argument('<id>')
    .option('--amount <amount>', 'refund this much (e.g. 12.34); default the rest of what was paid')
    .option('--restock', 'the watch came back: give the order’s stock back (once per order)')
    .option('--reason <text>', 'why, for the audit log')
    .option('-y, --yes', 'do not ask for confirmation (required when not run in a terminal)')
    .action(
      lazy(
        () => import('./commands/orders.js'),
        (m) => m.refund,
      ),
    );
  orders
    .command('expire')
    .description('cancel unpaid pending orders past the hold time, giving their stock back (their PaymentIntents are canceled at Stripe first)')
    .option('--older-than <duration>', 'hold time such as 30m, 2h or 1d (default ORDER_HOLD_MINUTES, 30m)')
    .action(
      lazy(
        () => import('./commands/orders-expire.js'),
        (m) => m.expire,
      ),
    );
  orders
    .command('reconcile')
    .description('ask Stripe about pending orders that have a PaymentIntent, apply what it says, and list events that changed nothing')
    .action(
      lazy(
        () => import('./commands/orders-reconcile.js'),
        (m) => m.reconcile,
      ),
    );

  const audit = program.command('audit').description('the audit log of admin changes, over HTTP and from this CLI');
  audit
    .command('list')
    .description('audit entries, newest first')
    .option('--actor <actor>', 'a user id, or cli:<os user>')
    .option('--action <action>', 'e.g. product.stock, order.ship, user.disable, webhook.create')
    .option('--target-type <type>', 'product, order, user or webhook')
    .option('--target-id <id>', 'the target id')
    .option('--from <date>', 'on or after this day or time (YYYY-MM-DD or ISO 8601)')
    .option('--to <date>', 'before this day or time')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 50)')
    .action(
      lazy(
        () => import('./commands/audit.js'),
        (m) => m.list,
      ),
    );

  const webhooks = program.command('webhooks').description("the shop's outgoing webhooks: signed POSTs to other systems about orders");
  webhooks
    .command('add')
    .description('register an endpoint and print its signing secret; audited')
    .argument('<url>', 'http:// or https:// URL that receives the POSTs')
    .option('--events <list>', 'comma-separated: order.paid, order.shipped, order.canceled, order.refunded (default all)')
    .option('--description <text>', 'what receives them, for people')
    .action(
      lazy(
        () => import('./commands/webhooks.js'),
        (m) => m.add,
      ),
    );
  webhooks
    .command('list')
    .description('list active endpoints (never their secrets)')
    .option('--removed', 'removed endpoints too')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 100)')
    .action(
      lazy(
        () => import('./commands/webhooks.js'),
        (m) => m.list,
      ),
    );
  webhooks
    .command('remove')
    .description('remove an endpoint: nothing more is sent to it, its delivery log stays; audited')
    .argument('<id>')
    .action(
      lazy(
        () => import('./commands/webhooks.js'),
        (m) => m.remove,
      ),
    );
  webhooks
    .command('deliveries')
    .description("an endpoint's delivery attempts, newest first")
    .argument('<id>')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 50)')
    .action(
      lazy(
        () => import('./commands/webhooks.js'),
        (m) => m.deliveries,
      ),
    );
  webhooks
    .command('secret')
    .description("print an endpoint's signing secret (shown once by `add`)")
    .argument('<id>')
    .action(
      lazy(
        () => import('./commands/webhooks.js'),
        (m) => m.secret,
      ),
    );

  return program;
}

/** One line for people and an exit code, for anything a command threw. */
async function describeFailure(err: unknown, ctx: CliContext): Promise<{ line: string; code: number }> {
  if (isAppError(err)) return { line: err.message, code: err.kind === 'invalid' ? 2 : 1 };
  const { ConfigError } = await import('../config.js');
  if (err instanceof ConfigError) return { line: err.message, code: 2 };
  const e = err as { name?: string; code?: string; message?: string };
  // Ctrl-C at a prompt: the shell's code for SIGINT (docs/cli.md, exit codes).
  if (e?.name === 'ExitPromptError') return { line: 'canceled.', code: 130 };
  const { describeDatabase, databaseFailure } = await import('./describe.js');
  const database = await ctx
    .config()
    .then((c) => c.database)
    .catch(() => undefined);
  const where = database ? describeDatabase(database) : 'the database';
  const known = databaseFailure(err, where);
  if (known) return { line: known, code: 1 };
  if (isDatabaseUnavailable(err)) {
    const reason = typeof e.code === 'string' ? e.code : e.name === 'KnexTimeoutError' ? 'timed out' : 'unavailable';
    return { line: `cannot reach the database at ${where}: ${reason}`, code: 1 };
  }
  const message = String(e?.message ?? err).split('\n')[0];
  return { line: message || String(err), code: 1 };
}

function debugOn(env: NodeJS.ProcessEnv): boolean {
  return /(^|,)\s*watchstore\s*(,|$)/.test(env.DEBUG ?? '');
}

/**
 * Runs the program once: `argv` as in process.argv (node, script, arguments...), against `io`
 * (the process's terminal by default) and a context (the process's configuration and database by
 * default). Returns the exit code; never exits the process and writes nothing anywhere but io.
 */
export async function main(
  argv: string[] = process.argv,
  io: CliIo = processIo(),
  ctx: CliContext = defaultContext(io),
  opts: { alone?: boolean } = {},
): Promise<number> {
  const run: RunState = { started: false, exitCode: 0 };
  return runInContext(
    ctx,
    async () => {
      try {
        await buildProgram(io, run).parseAsync(argv);
        return run.exitCode;
      } catch (err) {
        // Commander has already printed its message (or the help / version).
        if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
        const { line, code } = await describeFailure(err, ctx);
        io.stderr.write(`watchstore: ${line}\n`);
        if (debugOn(io.env) && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
        return code;
      } finally {
        // Closing the pool lets the process exit at once.
        if (run.started) await ctx.close();
      }
    },
    opts,
  );
}

/**
 * The shipped CLI (bin/watchstore.js): runs main() on the process's terminal. A reader that goes
 * away (`watchstore orders show 1 | head -1`) ends the process quietly, as `git` and `ls` do.
 */
export async function runAsProcess(): Promise<void> {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  // The only run in this process: no AsyncLocalStorage (context.ts, runInContext).
  process.exitCode = await main(process.argv, processIo(), undefined, { alone: true });
}
