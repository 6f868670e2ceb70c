/**
 * Roles and what they may do, in one place (docs/api.md, "Admin API"). Routes name the permission
 * they need (RouteSpec.permission, http/route.ts); the middleware in http/middleware/auth.ts asks
 * `can` here after reading the caller's role from the database, never from the token.
 *
 *   customer  the storefront only (no admin permission)
 *   staff     the catalog, stock and orders
 *   admin     everything, users and roles too, and the outgoing webhooks
 *
 * The CLI runs on the server with full power and records itself as the actor (`cli:<os user>`).
 */
import type { Role } from '../users/users.schemas.js';

export const PERMISSIONS = [
  'catalog:read',
  'catalog:write',
  'orders:read',
  'orders:write',
  'users:read',
  'users:write',
  'audit:read',
  'webhooks:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  customer: [],
  staff: ['catalog:read', 'catalog:write', 'orders:read', 'orders:write'],
  admin: PERMISSIONS,
};

/** True when `role` holds `permission`. */
export function can(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role]?.includes(permission) ?? false;
}

/** Who made a change, as the audit log records it: a user id, or `cli:<os user>`. */
export interface Actor {
  /** `"17"` for user 17, `"cli:ada"` for the CLI run by the OS user ada. */
  id: string;
  /** The HTTP request id (X-Request-Id), when the change came over HTTP. */
  requestId?: string | null;
}

export const userActor = (userId: number, requestId?: string | null): Actor => ({ id: String(userId), requestId: requestId ?? null });

/** The CLI as an actor: `cli:` and the operating-system user running it. */
export function cliActor(osUser: string): Actor {
  return { id: `cli:${osUser || 'unknown'}`.slice(0, 100), requestId: null };
}
