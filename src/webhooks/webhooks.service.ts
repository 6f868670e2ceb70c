/**
 * Outgoing webhook endpoints as the admin API and the CLI manage them (docs/api.md, "Outgoing
 * webhooks"): created with a signing secret shown once, listed, removed (softly: nothing new is
 * queued, the delivery log stays readable). Each change writes its audit row in its transaction;
 * the secret never reaches the audit log.
 */
import { randomBytes } from 'node:crypto';
import type { Actor } from '../auth/permissions.js';
import { recordAudit } from '../audit/audit.service.js';
import type { Db } from '../db/connection.js';
import { inTransaction } from '../db/transaction.js';
import { AppError, notFound } from '../errors.js';
import { parseInput } from '../validation.js';
import { toEndpoint, webhooksRepository as repo } from './webhooks.repository.js';
import {
  type CreatedWebhookEndpoint,
  newWebhookEndpointSchema,
  WEBHOOK_EVENTS,
  type WebhookDelivery,
  type WebhookDeliveryQuery,
  type WebhookEndpoint,
  type WebhookEndpointQuery,
} from './webhooks.schemas.js';

/** A new signing secret: `whsec_` and 32 random bytes, base64url. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

const auditFields = (e: WebhookEndpoint) => ({ url: e.url, events: e.events, description: e.description });

const endpointNotFound = (id: number) => notFound(`Webhook endpoint ${id}`);

/**
 * Registers an endpoint (input checked here, for the CLI's text as for the API's JSON); refuses a
 * URL an active endpoint already has (CONFLICT).
 */
export async function createWebhookEndpoint(
  db: Db,
  actor: Actor,
  input: { url: string; events?: readonly string[]; description?: string },
): Promise<CreatedWebhookEndpoint> {
  const e = parseInput(newWebhookEndpointSchema, input, 'webhook endpoint');
  const secret = newWebhookSecret();
  return inTransaction(db, async (trx) => {
    const same = await repo.findActiveByUrl(trx, e.url);
    if (same) throw new AppError('CONFLICT', `Webhook endpoint ${same.id} already has this URL: remove it first, or use it.`);
    const id = await repo.insert(trx, { url: e.url, events: e.events ?? WEBHOOK_EVENTS, secret, description: e.description || null });
    const endpoint = toEndpoint((await repo.findById(trx, id))!);
    await recordAudit(trx, actor, { action: 'webhook.create', targetType: 'webhook', targetId: id, after: auditFields(endpoint) });
    return { ...endpoint, secret };
  });
}

export async function listWebhookEndpoints(
  db: Db,
  q: Pick<WebhookEndpointQuery, 'removed' | 'limit' | 'offset'>,
): Promise<{ items: WebhookEndpoint[]; total: number }> {
  const { rows, total } = await repo.list(db, q);
  return { items: rows.map(toEndpoint), total };
}

/** One endpoint, removed or not. */
export async function getWebhookEndpoint(db: Db, id: number): Promise<WebhookEndpoint> {
  const row = await repo.findById(db, id);
  if (!row) throw endpointNotFound(id);
  return toEndpoint(row);
}

/** The signing secret of an endpoint (the CLI's `webhooks secret`, run on the server). */
export async function webhookEndpointSecret(db: Db, id: number): Promise<string> {
  const row = await repo.findById(db, id);
  if (!row) throw endpointNotFound(id);
  return row.secret;
}

/**
 * Removes an active endpoint: nothing new is queued for it, and messages already queued go dead
 * unsent when the worker reaches them (webhooks/deliver.ts). NOT_FOUND when it is unknown or
 * already removed.
 */
export async function removeWebhookEndpoint(db: Db, actor: Actor, id: number): Promise<WebhookEndpoint> {
  return inTransaction(db, async (trx) => {
    const before = await repo.findById(trx, id);
    if (!before || !(await repo.markRemoved(trx, id, new Date()))) throw notFound(`Webhook endpoint ${id} (active)`);
    const endpoint = toEndpoint((await repo.findById(trx, id))!);
    await recordAudit(trx, actor, { action: 'webhook.remove', targetType: 'webhook', targetId: id, before: auditFields(toEndpoint(before)) });
    return endpoint;
  });
}

/** An endpoint's delivery attempts, newest first; removed endpoints keep theirs. */
export async function listWebhookDeliveries(db: Db, id: number, page: WebhookDeliveryQuery): Promise<{ items: WebhookDelivery[]; total: number }> {
  if (!(await repo.findById(db, id))) throw endpointNotFound(id);
  return repo.listDeliveries(db, id, page);
}
