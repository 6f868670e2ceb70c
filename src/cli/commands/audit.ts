/** `watchstore audit list`: the audit log of admin changes (HTTP and CLI), newest first. */
import { auditQuerySchema } from '../../audit/audit.schemas.js';
import { listAudit } from '../../audit/audit.service.js';
import { CLI_PAGE_MAX, limitSchema } from '../../schemas.js';
import { parseInput } from '../../validation.js';
import { openDb } from '../db.js';
import { ui } from '../ui.js';

export interface ListOptions {
  actor?: string;
  action?: string;
  targetType?: string;
  targetId?: string;
  from?: string;
  to?: string;
  limit?: string;
}

const brief = (fields: Record<string, unknown> | null) =>
  fields
    ? Object.entries(fields)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(' ')
    : '-';

export async function list(_args: string[], opts: ListOptions): Promise<void> {
  const query = parseInput(
    auditQuerySchema.extend({ limit: limitSchema(CLI_PAGE_MAX, 50) }),
    {
      actor: opts.actor,
      action: opts.action,
      target_type: opts.targetType,
      target_id: opts.targetId,
      from: opts.from,
      to: opts.to,
      limit: opts.limit,
    },
    'options',
  );
  const { items } = await listAudit(await openDb(), query);
  await ui.result(items, async () => {
    if (items.length === 0) return ui.print('No audit entries match.');
    await ui.table(
      ['ID', 'When', 'Actor', 'Action', 'Target', 'Before', 'After'],
      items.map((e) => [e.id, e.created_at, e.actor, e.action, `${e.target_type} ${e.target_id}`, brief(e.before), brief(e.after)]),
      ['right', 'left', 'left', 'left', 'left', 'left', 'left'],
    );
  });
}
