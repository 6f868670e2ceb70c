/**
 * `watchstore webhooks add|list|remove|deliveries|secret`: the shop's outgoing webhook endpoints
 * (docs/api.md, "Outgoing webhooks"), through the same service as the admin API, changes audited
 * as `cli:<os user>`.
 */
import { CLI_PAGE_MAX, dbIdTextSchema, limitSchema } from '../../schemas.js';
import { parseInput } from '../../validation.js';
import {
  createWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
  removeWebhookEndpoint,
  webhookEndpointSecret,
} from '../../webhooks/webhooks.service.js';
import { currentCliActor } from '../actor.js';
import { openDb } from '../db.js';
import { shortTime, ui } from '../ui.js';

const idOf = (raw: string) => parseInput(dbIdTextSchema, raw, 'id');
const limitOf = (raw: string | undefined, dflt: number) => parseInput(limitSchema(CLI_PAGE_MAX, dflt), raw, 'limit');

export interface AddOptions {
  events?: string;
  description?: string;
}

export async function add([url]: string[], opts: AddOptions): Promise<void> {
  const events = opts.events
    ?.split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  const endpoint = await createWebhookEndpoint(await openDb(), currentCliActor(), { url, events, description: opts.description });
  await ui.result(endpoint, () => {
    ui.print(`Webhook endpoint ${ui.style.bold(String(endpoint.id))} added: ${endpoint.url}`);
    ui.print(`events: ${endpoint.events.join(', ')}`);
    ui.print(`signing secret: ${endpoint.secret}`);
    ui.message('Keep the secret where the receiver can read it: it checks the Watchstore-Signature header (docs/api.md).');
  });
}

export interface ListOptions {
  removed?: boolean;
  limit?: string;
}

export async function list(_args: string[], opts: ListOptions): Promise<void> {
  const { items } = await listWebhookEndpoints(await openDb(), { removed: opts.removed === true, limit: limitOf(opts.limit, 100), offset: 0 });
  await ui.result(items, async () => {
    if (items.length === 0) return ui.print(opts.removed ? 'No webhook endpoints.' : 'No active webhook endpoints.');
    const head = ['ID', 'URL', 'Events', 'Description', 'Created'];
    if (opts.removed) head.push('Removed');
    await ui.table(
      head,
      items.map((e) => {
        const row = [e.id, e.url, e.events.join(', '), e.description ?? '', shortTime(e.created_at)];
        if (opts.removed) row.push(shortTime(e.removed_at));
        return row;
      }),
      head.map((_, i) => (i === 0 ? 'right' : 'left')),
    );
  });
}

export async function remove([id]: string[]): Promise<void> {
  const endpoint = await removeWebhookEndpoint(await openDb(), currentCliActor(), idOf(id));
  await ui.result(endpoint, () =>
    ui.print(`Webhook endpoint ${endpoint.id} removed (${endpoint.url}); its delivery log stays: watchstore webhooks deliveries ${endpoint.id}`),
  );
}

export interface DeliveriesOptions {
  limit?: string;
}

export async function deliveries([id]: string[], opts: DeliveriesOptions): Promise<void> {
  const { items } = await listWebhookDeliveries(await openDb(), idOf(id), { limit: limitOf(opts.limit, 50), offset: 0 });
  await ui.result(items, async () => {
    if (items.length === 0) return ui.print('No deliveries yet.');
    await ui.table(
      ['ID', 'When', 'Event', 'Delivery', 'Attempt', 'Status', 'OK', 'Error', 'ms'],
      items.map((d) => [
        d.id,
        shortTime(d.created_at),
        d.event,
        d.delivery_id,
        d.attempt,
        d.status_code ?? '-',
        d.ok ? 'yes' : 'no',
        d.error ?? '',
        d.duration_ms,
      ]),
      ['right', 'left', 'left', 'left', 'right', 'right', 'left', 'left', 'right'],
    );
  });
}

/** The signing secret, for an operator on the server who lost it (the HTTP API shows it only once). */
export async function secret([id]: string[]): Promise<void> {
  const value = await webhookEndpointSecret(await openDb(), idOf(id));
  await ui.result({ id: idOf(id), secret: value }, () => ui.print(value));
}
