/** `watchstore users list|add|role|passwd|remove`: accounts, through the users service. */
import { cliConfig } from '../context.js';
import { openDb } from '../db.js';
import { emailSchema, passwordSchema, type PublicUser, roleSchema, usernameSchema } from '../../users/users.schemas.js';
import { adminUpdateUser, userIdByUsername } from '../../users/admin-users.service.js';
import { currentCliActor } from '../actor.js';
import { parseInput } from '../../validation.js';
import { createUser, getUserByUsername, listUsers, removeUser, setPassword } from '../../users/users.service.js';
import { checkWith, joinAnd, shortTime, ui, usageError } from '../ui.js';

export interface ListOptions {
  role?: string;
  search?: string;
  limit?: string;
}

export async function list(_args: string[], opts: ListOptions): Promise<void> {
  const users = await listUsers(await openDb(), { role: opts.role, search: opts.search, limit: opts.limit });
  await ui.result(users, async () => {
    if (users.length === 0) return ui.print('No accounts match.');
    await ui.table(
      ['ID', 'Username', 'E-mail', 'Role', 'Created'],
      users.map((u) => [u.id, u.username, u.email ?? '-', u.role === 'admin' ? ui.style.magenta(u.role) : u.role, shortTime(u.created_at)]),
      ['right', 'left', 'left', 'left', 'left'],
    );
  });
}

export interface AddOptions {
  username?: string;
  email?: string;
  role?: string;
  passwordStdin?: boolean;
}

export async function add(_args: string[], opts: AddOptions): Promise<void> {
  if (!ui.interactive()) {
    const missing = [!opts.username && '--username', !opts.email && '--email', !opts.passwordStdin && '--password-stdin'].filter(Boolean);
    if (missing.length > 0) throw usageError(`users add needs ${joinAnd(missing as string[])} when not run interactively.`);
  }
  // Each answer is checked as it is given (as `products add` does); the service checks again.
  const username =
    opts.username ??
    (await ui.ask(
      'Username:',
      checkWith((v) => parseInput(usernameSchema, v.trim(), 'username')),
    ));
  const email =
    opts.email ??
    (await ui.ask(
      'E-mail:',
      checkWith((v) => parseInput(emailSchema, v.trim(), 'email')),
    ));
  const password = opts.passwordStdin
    ? await ui.readStdin()
    : await ui.askPassword(
        'Password (8 to 72 bytes):',
        true,
        checkWith((v) => parseInput(passwordSchema, v, 'password')),
      );
  const user = await createUser(
    await openDb(),
    { username, email, password, role: opts.role as PublicUser['role'] | undefined },
    {
      bcryptCost: (await cliConfig()).bcryptCost,
    },
  );
  await ui.result(user, () => ui.print(`Created ${user.role} ${ui.style.bold(user.username)} <${user.email}> (id ${user.id}).`));
}

export async function role([username, role]: string[]): Promise<void> {
  // Through the admin users service: audited as `cli:<os user>`, and the last admin stays one.
  const db = await openDb();
  const r = parseInput(roleSchema, role, 'role');
  const user = await adminUpdateUser(db, currentCliActor(), await userIdByUsername(db, username), { role: r });
  await ui.result(user, () => ui.print(`${ui.style.bold(user.username)} is now ${user.role === 'admin' ? 'an admin' : `a ${user.role}`}.`));
}

export interface PasswdOptions {
  passwordStdin?: boolean;
}

export async function passwd([username]: string[], opts: PasswdOptions): Promise<void> {
  let password: string;
  if (opts.passwordStdin) password = await ui.readStdin();
  else if (ui.interactive()) password = await ui.askPassword(`New password for ${username}:`, true);
  else throw usageError('users passwd needs --password-stdin when not run interactively.');
  const user = await setPassword(await openDb(), username, password, { bcryptCost: (await cliConfig()).bcryptCost });
  await ui.result(user, () => ui.print(`Password changed for ${ui.style.bold(user.username)}.`));
}

export interface RemoveOptions {
  yes?: boolean;
}

export async function remove([username]: string[], opts: RemoveOptions): Promise<number | void> {
  const db = await openDb();
  const named = async () => {
    const u = await getUserByUsername(db, username);
    return `${u.role} ${u.username} <${u.email}>`;
  };
  if (!(await ui.confirmRemoval('users remove', opts.yes, named))) return 1;
  const user = await removeUser(db, username);
  await ui.result(user, () => ui.print(`Removed ${user.role} ${ui.style.bold(user.username)} <${user.email}>.`));
}
