/**
 * SQL for `outbox` (docs/data.md, "outbox"): every e-mail and outgoing webhook is a row here,
 * written in the transaction of the change that causes it, and delivered by a worker that claims
 * due rows with a lease.
 *
 * The invariant: a row is delivered by whoever holds its current claim. A claim sets
 * `available_at` to the lease's end and a fresh `claim_token`, in one transaction that sees only
 * rows nobody else holds (`FOR UPDATE SKIP LOCKED` on MariaDB ≥ 10.6 / MySQL 8; on SQLite the
 * transaction holds the single write lock from BEGIN). Completing or failing a row matches its
 * claim token, so a worker whose lease ran out (and whose row another worker took over) changes
 * nothing. A worker killed mid-send leaves its rows to be claimed again once the lease ends:
 * at-least-once, with a stable message key for the receiver to drop a duplicate.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import type { Db } from '../db/connection.js';
import { isMysql } from '../db/dialect.js';
import { fromDbTime, toDbTime } from '../db/values.js';
import type { EmailPayload, NewOutboxMessage, OutboxKind, OutboxMessage, OutboxStatus } from './outbox.schemas.js';

type Runner = Db | Knex.Transaction;

interface Row {
  id: number | string;
  kind: OutboxKind;
  topic: string;
  message_key: string;
  recipient: string;
  endpoint_id: number | string | null;
  payload: string;
  status: OutboxStatus;
  attempts: number | string;
  available_at: string | Date;
  claim_token: string | null;
  last_error: string | null;
  created_at: string | Date;
  sent_at: string | Date | null;
}

const ERROR_MAX = 1000;

/**
 * The stored payload, or null when it is not a JSON object (a row changed by hand, a damaged
 * restore): such a message is listed as it is, and the worker marks it dead instead of failing
 * every claim that reads it.
 */
function parsePayload(text: string): OutboxMessage['payload'] | null {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as OutboxMessage['payload']) : null;
  } catch {
    return null;
  }
}

function toMessage(r: Row): OutboxMessage {
  return {
    id: Number(r.id),
    kind: r.kind,
    topic: r.topic,
    message_key: r.message_key,
    recipient: r.recipient,
    endpoint_id: r.endpoint_id === null ? null : Number(r.endpoint_id),
    payload: parsePayload(r.payload),
    status: r.status,
    attempts: Number(r.attempts),
    available_at: fromDbTime(r.available_at) ?? String(r.available_at),
    last_error: r.last_error,
    created_at: fromDbTime(r.created_at) ?? String(r.created_at),
    sent_at: fromDbTime(r.sent_at),
  };
}

/**
 * Queues `msg` in `trx`, the transaction of the change that causes it: committed with it or not
 * at all. A second message with the same key is ignored (true when this call queued it).
 */
export async function enqueue(trx: Runner, msg: NewOutboxMessage): Promise<boolean> {
  const row = {
    kind: msg.kind,
    topic: msg.topic,
    message_key: msg.key,
    recipient: (msg.kind === 'email' ? msg.payload.to : msg.url).slice(0, 2000),
    endpoint_id: msg.kind === 'webhook' ? msg.endpointId : null,
    payload: JSON.stringify(msg.payload),
    available_at: toDbTime(new Date()),
  };
  const insert = trx('outbox').insert(row).onConflict('message_key').ignore();
  // MariaDB: INSERT IGNORE answers insert id 0 when the key was there; SQLite: RETURNING is empty.
  if (isMysql(trx)) return Number(((await insert) as unknown[])[0]) > 0;
  return ((await insert.returning('id')) as unknown[]).length > 0;
}

export interface Claim {
  token: string;
  messages: OutboxMessage[];
}

/**
 * Claims up to `limit` due rows for `leaseMs`: each is held by this claim until the lease ends
 * (then any worker may claim it again) or until `markSent` / `markFailed` with the claim's token.
 */
export async function claimDue(db: Db, opts: { limit: number; leaseMs: number; now?: Date }): Promise<Claim> {
  const now = opts.now ?? new Date();
  const token = randomBytes(16).toString('hex');
  // An idle poll is one indexed read, not a transaction: on SQLite a transaction takes the
  // file's write lock at BEGIN (db/sqlite-immediate-client.ts), which every poll of every
  // process would otherwise contend for. A row seen here may be taken by another worker first:
  // the claim below decides.
  const anyDue = await db('outbox').where('status', 'pending').andWhere('available_at', '<=', toDbTime(now)).first('id');
  if (!anyDue) return { token, messages: [] };
  const messages = await db.transaction(async (trx) => {
    const due = trx('outbox')
      .where('status', 'pending')
      .andWhere('available_at', '<=', toDbTime(now))
      .orderBy('available_at')
      .orderBy('id')
      .limit(opts.limit)
      .select('id');
    const ids = (await (isMysql(trx) ? due.forUpdate().skipLocked() : due)).map((r: { id: number | string }) => Number(r.id));
    if (ids.length === 0) return [];
    await trx('outbox')
      .whereIn('id', ids)
      .update({ available_at: toDbTime(new Date(now.getTime() + opts.leaseMs)), claim_token: token, attempts: trx.raw('attempts + 1') });
    const rows: Row[] = await trx('outbox').whereIn('id', ids).orderBy('id');
    return rows.map(toMessage);
  });
  return { token, messages };
}

/**
 * The payload as kept once the message is sent: an e-mail's `secret` data fields (a password-reset
 * token) removed, so the outbox never holds a usable secret of a delivered message. Undefined when
 * there is nothing to remove (the payload stays as it is).
 */
export function payloadAfterSending(payload: OutboxMessage['payload']): OutboxMessage['payload'] | undefined {
  if (!payload) return undefined;
  const secret = 'secret' in payload ? payload.secret : undefined;
  if (!secret?.length) return undefined;
  const data = Object.fromEntries(Object.entries((payload as EmailPayload).data).filter(([k]) => !secret.includes(k)));
  return { ...(payload as EmailPayload), data };
}

/**
 * The row was delivered: sent, unless the claim was lost meanwhile (false then). Give the row's
 * `payload` and its secrets are removed in the same update (payloadAfterSending).
 */
export async function markSent(db: Runner, id: number, token: string, now: Date = new Date(), payload?: OutboxMessage['payload']): Promise<boolean> {
  const kept = payload && payloadAfterSending(payload);
  const n = await db('outbox')
    .where({ id, claim_token: token, status: 'pending' })
    .update({ status: 'sent', sent_at: toDbTime(now), claim_token: null, last_error: null, ...(kept ? { payload: JSON.stringify(kept) } : {}) });
  return n === 1;
}

/**
 * Delivery failed: due again at `retryAt`, or dead when `retryAt` is null (no more attempts).
 * False when the claim was lost meanwhile.
 */
export async function markFailed(db: Runner, id: number, token: string, error: string, retryAt: Date | null): Promise<boolean> {
  const update = retryAt ? { available_at: toDbTime(retryAt), claim_token: null } : { status: 'dead', claim_token: null };
  const n = await db('outbox')
    .where({ id, claim_token: token, status: 'pending' })
    .update({ ...update, last_error: error.slice(0, ERROR_MAX) });
  return n === 1;
}

export async function findMessage(db: Runner, id: number): Promise<OutboxMessage | undefined> {
  const row: Row | undefined = await db('outbox').where({ id }).first();
  return row ? toMessage(row) : undefined;
}

export async function listMessages(db: Runner, f: { status?: OutboxStatus; topic?: string; limit: number; offset?: number }): Promise<OutboxMessage[]> {
  const q = db('outbox')
    .orderBy('id', 'desc')
    .limit(f.limit)
    .offset(f.offset ?? 0);
  if (f.status) q.where('status', f.status);
  if (f.topic) q.where('topic', f.topic);
  return ((await q) as Row[]).map(toMessage);
}

/**
 * Makes dead (or waiting) rows due now with a fresh count of attempts; returns how many. A row a
 * worker holds (a claim whose lease has not ended) is left alone: taking it from under the
 * worker would send it twice.
 */
export async function retryMessages(db: Runner, which: { id: number } | { dead: true }, now: Date = new Date()): Promise<number> {
  const at = toDbTime(now);
  const q = db('outbox').where((w) =>
    w.where('status', 'dead').orWhere((p) => p.where('status', 'pending').andWhere((h) => h.whereNull('claim_token').orWhere('available_at', '<=', at))),
  );
  if ('id' in which) q.where('id', which.id);
  else q.where('status', 'dead');
  return q.update({ status: 'pending', attempts: 0, available_at: at, claim_token: null });
}

export interface Backlog {
  /** Rows not yet delivered (due, leased or waiting for a retry). */
  pending: number;
  /** Of those, the ones due now. */
  due: number;
  dead: number;
  /** Seconds since the oldest due row became due (0 when none is due). */
  oldestDueSeconds: number;
}

/** `exceptTopics`: rows of these topics are not counted (health's public answer; health.routes.ts says why). */
export async function backlog(db: Runner, now: Date = new Date(), exceptTopics: readonly string[] = []): Promise<Backlog> {
  const at = toDbTime(now);
  const rows = () => db('outbox').whereNotIn('topic', exceptTopics);
  const [counts, oldest] = await Promise.all([
    rows().whereIn('status', ['pending', 'dead']).select('status').count({ n: '*' }).groupBy('status') as Promise<
      { status: OutboxStatus; n: number | string }[]
    >,
    rows().where('status', 'pending').andWhere('available_at', '<=', at).min({ at: 'available_at' }).first() as Promise<
      { at: string | Date | null } | undefined
    >,
  ]);
  const n = (s: OutboxStatus) => Number(counts.find((c) => c.status === s)?.n ?? 0);
  const due = oldest?.at ? await rows().where('status', 'pending').andWhere('available_at', '<=', at).count({ n: '*' }).first() : undefined;
  const oldestAt = fromDbTime(oldest?.at ?? null);
  return {
    pending: n('pending'),
    due: Number((due as { n?: number | string } | undefined)?.n ?? 0),
    dead: n('dead'),
    oldestDueSeconds: oldestAt ? Math.max(0, Math.floor((now.getTime() - Date.parse(oldestAt)) / 1000)) : 0,
  };
}
