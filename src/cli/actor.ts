import os from 'node:os';
import { cliActor, type Actor } from '../auth/permissions.js';

/** The CLI as the audit log names it: `cli:<os user>` (docs/cli.md). */
export function currentCliActor(): Actor {
  let name = '';
  try {
    name = os.userInfo().username;
  } catch {
    // No passwd entry for the uid (some containers): the environment's name, if any.
    name = process.env.USER ?? process.env.LOGNAME ?? `uid${process.getuid?.() ?? ''}`;
  }
  return cliActor(name);
}
