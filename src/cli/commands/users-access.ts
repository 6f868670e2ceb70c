/** `watchstore users disable|enable <username>`: through the admin users service, audited as `cli:<os user>`. */
import { adminUpdateUser, userIdByUsername } from '../../users/admin-users.service.js';
import { currentCliActor } from '../actor.js';
import { openDb } from '../db.js';
import { ui } from '../ui.js';

async function setDisabled(username: string, disabled: boolean): Promise<void> {
  const db = await openDb();
  const user = await adminUpdateUser(db, currentCliActor(), await userIdByUsername(db, username), { disabled });
  await ui.result(user, () =>
    ui.print(
      disabled ? `${ui.style.bold(user.username)} is disabled: cannot sign in, and every session has ended.` : `${ui.style.bold(user.username)} is enabled.`,
    ),
  );
}

export async function disable([username]: string[]): Promise<void> {
  await setDisabled(username, true);
}

export async function enable([username]: string[]): Promise<void> {
  await setDisabled(username, false);
}
