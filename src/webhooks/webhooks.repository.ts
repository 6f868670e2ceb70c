/** SQL for `webhook_endpoints` and `webhook_deliveries` (docs/data.md). */
import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { fromDbTime, insertedId, toDbTime } from '../db/values.js';
import type { WebhookDelivery, WebhookEndpoint, WebhookEvent } from './webhooks.schemas.js';

type Runner = Db | Knex.Transaction;

export interface EndpointRow {
  id: number | string;
  url: string;
  events: string;
  secret: string;
  description: string | null;
  created_at: string | Date;
  removed_at: string | Date | null;
}

interface DeliveryRow {
  id: number | string;
  endpoint_id: number | string;
  outbox_id: number | string;
  message_key: string;
  event: string;
  attempt: number | string;
  status_code: number | string | null;
  ok: boolean | number;
  error: string | null;
  duration_ms: number | string;
  created_at: string | Date;
}

/** The endpoint as the API shows it: never its secret. */
export function toEndpoint(r: EndpointRow): WebhookEndpoint {
  return {
    id: Number(r.id),
    url: r.url,
    events: r.events.split(',').filter(Boolean) as WebhookEvent[],
    description: r.description ?? null,
    created_at: fromDbTime(r.created_at) ?? '',
    removed_at: fromDbTime(r.removed_at),
  };
}

function toDelivery(r: DeliveryRow): WebhookDelivery {
  return {
    id: Number(r.id),
    endpoint_id: Number(r.endpoint_id),
    outbox_id: Number(r.outbox_id),
    delivery_id: r.message_key,
    event: r.event,
    attempt: Number(r.attempt),
    status_code: r.status_code === null ? null : Number(r.status_code),
    ok: Boolean(r.ok),
    error: r.error ?? null,
    duration_ms: Number(r.duration_ms),
    created_at: fromDbTime(r.created_at) ?? '',
  };
}

const ERROR_MAX = 1000;

export const webhooksRepository = {
  async insert(trx: Runner, e: { url: string; events: readonly WebhookEvent[]; secret: string; description: string | null }): Promise<number> {
    const row = { url: e.url, events: e.events.join(','), secret: e.secret, description: e.description, created_at: toDbTime(new Date()) };
    return insertedId(await trx('webhook_endpoints').insert(row));
  },

  async findById(db: Runner, id: number): Promise<EndpointRow | undefined> {
    return db<EndpointRow>('webhook_endpoints').where({ id }).first();
  },

  /** An active endpoint with this URL, if any. */
  async findActiveByUrl(db: Runner, url: string): Promise<EndpointRow | undefined> {
    return db<EndpointRow>('webhook_endpoints').where({ url }).whereNull('removed_at').first();
  },

  async list(db: Runner, f: { removed?: boolean; limit: number; offset: number }): Promise<{ rows: EndpointRow[]; total: number }> {
    const filtered = () => {
      const q = db<EndpointRow>('webhook_endpoints');
      if (!f.removed) q.whereNull('removed_at');
      return q;
    };
    const [rows, count] = await Promise.all([filtered().select('*').orderBy('id').limit(f.limit).offset(f.offset), filtered().count({ n: '*' })]);
    return { rows: rows as EndpointRow[], total: Number(count[0].n) };
  },

  /** Sets removed_at on an active endpoint; false when it was not active. */
  async markRemoved(trx: Runner, id: number, at: Date): Promise<boolean> {
    return (
      (await trx('webhook_endpoints')
        .where({ id })
        .whereNull('removed_at')
        .update({ removed_at: toDbTime(at) })) === 1
    );
  },

  /** The active endpoints subscribed to `event`, by id. */
  async subscribedTo(trx: Runner, event: WebhookEvent): Promise<EndpointRow[]> {
    const rows: EndpointRow[] = await trx<EndpointRow>('webhook_endpoints').whereNull('removed_at').orderBy('id');
    return rows.filter((r) => r.events.split(',').includes(event));
  },

  async insertDelivery(
    db: Runner,
    d: {
      endpointId: number;
      outboxId: number;
      event: string;
      attempt: number;
      statusCode: number | null;
      ok: boolean;
      error: string | null;
      durationMs: number;
    },
  ): Promise<void> {
    await db('webhook_deliveries').insert({
      endpoint_id: d.endpointId,
      outbox_id: d.outboxId,
      event: d.event,
      attempt: d.attempt,
      status_code: d.statusCode,
      ok: d.ok,
      error: d.error === null ? null : d.error.slice(0, ERROR_MAX),
      duration_ms: d.durationMs,
      created_at: toDbTime(new Date()),
    });
  },

  /** An endpoint's delivery attempts, newest first. */
  async listDeliveries(db: Runner, endpointId: number, page: { limit: number; offset: number }): Promise<{ items: WebhookDelivery[]; total: number }> {
    const [rows, count] = await Promise.all([
      db('webhook_deliveries as d')
        .join('outbox as o', 'o.id', 'd.outbox_id')
        .where('d.endpoint_id', endpointId)
        .orderBy('d.id', 'desc')
        .limit(page.limit)
        .offset(page.offset)
        .select('d.*', 'o.message_key'),
      db('webhook_deliveries').where('endpoint_id', endpointId).count({ n: '*' }),
    ]);
    return { items: (rows as DeliveryRow[]).map(toDelivery), total: Number(count[0].n) };
  },
};
