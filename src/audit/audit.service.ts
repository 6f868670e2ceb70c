/**
 * The audit log (docs/data.md, audit_log): one row per admin change, over HTTP or the CLI,
 * written in the same transaction as the change, so a change without its row (or a row for a
 * change that was refused and rolled back) cannot exist. `before`/`after` hold only the fields
 * the change touched.
 */
import type { Knex } from 'knex';
import type { Actor } from '../auth/permissions.js';
import type { Db } from '../db/connection.js';
import { fromDbTime, toDbTime } from '../db/values.js';
import type { AuditEntry, AuditQuery, TargetType } from './audit.schemas.js';

type Fields = Record<string, unknown>;

export interface AuditChange {
  action: string;
  targetType: TargetType;
  targetId: number | string;
  before?: Fields | null;
  after?: Fields | null;
}

/** The fields whose values differ, each side holding only those (both null when none differ). */
export function changedFields(before: Fields, after: Fields): { before: Fields; after: Fields } {
  const b: Fields = {};
  const a: Fields = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      b[key] = before[key] ?? null;
      a[key] = after[key] ?? null;
    }
  }
  return { before: b, after: a };
}

/** Writes one audit row with `trx` (the change's own transaction). */
export async function recordAudit(trx: Knex.Transaction | Db, actor: Actor, change: AuditChange): Promise<void> {
  await trx('audit_log').insert({
    actor: actor.id,
    action: change.action,
    target_type: change.targetType,
    target_id: String(change.targetId),
    before: change.before ? JSON.stringify(change.before) : null,
    after: change.after ? JSON.stringify(change.after) : null,
    request_id: actor.requestId ?? null,
    created_at: toDbTime(new Date()),
  });
}

interface AuditRow {
  id: number;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  before: string | null;
  after: string | null;
  request_id: string | null;
  created_at: string;
}

const parsed = (text: string | null): Fields | null => (text ? (JSON.parse(text) as Fields) : null);

function toEntry(r: AuditRow): AuditEntry {
  return {
    id: Number(r.id),
    actor: r.actor,
    action: r.action,
    target_type: r.target_type,
    target_id: r.target_id,
    before: parsed(r.before),
    after: parsed(r.after),
    request_id: r.request_id ?? null,
    created_at: fromDbTime(r.created_at) ?? '',
  };
}

/** Newest first, filtered; `to` is exclusive. */
export async function listAudit(
  db: Db,
  f: Omit<AuditQuery, 'limit' | 'offset'> & { limit: number; offset: number },
): Promise<{ items: AuditEntry[]; total: number }> {
  const filtered = () => {
    const q = db<AuditRow>('audit_log');
    if (f.actor) q.where('actor', f.actor);
    if (f.action) q.where('action', f.action);
    if (f.target_type) q.where('target_type', f.target_type);
    if (f.target_id) q.where('target_id', f.target_id);
    if (f.from) q.where('created_at', '>=', toDbTime(f.from));
    if (f.to) q.where('created_at', '<', toDbTime(f.to));
    return q;
  };
  const [rows, count] = await Promise.all([filtered().select('*').orderBy('id', 'desc').limit(f.limit).offset(f.offset), filtered().count({ n: '*' })]);
  return { items: (rows as AuditRow[]).map(toEntry), total: Number(count[0].n) };
}
