/** `watchstore outbox list|show|retry`: the messages waiting to leave, sent, or given up on (docs/cli.md). */
import { listMessages, payloadAfterSending } from '../../outbox/outbox.repository.js';
import { outboxListSchema, type OutboxMessage, type OutboxStatus, type WebhookPayload } from '../../outbox/outbox.schemas.js';
import { getMessage, parseMessageId, renderMessage, retryDeadMessages, retryMessage } from '../../outbox/outbox.service.js';
import { parseInput } from '../../validation.js';
import { cliConfig } from '../context.js';
import { openDb } from '../db.js';
import { shortTime, ui, usageError } from '../ui.js';

function statusText(s: OutboxStatus): string {
  if (s === 'pending') return ui.style.yellow(s);
  if (s === 'dead') return ui.style.red(s);
  return ui.style.green(s);
}

/** When it left, or when it is next due (while it waits, or while a worker holds it). */
const when = (m: OutboxMessage) => (m.status === 'sent' ? `sent ${shortTime(m.sent_at)}` : m.status === 'dead' ? 'dead' : `due ${shortTime(m.available_at)}`);

export interface ListOptions {
  status?: string;
  limit?: string;
}

export async function list(_args: string[], opts: ListOptions): Promise<void> {
  const f = parseInput(outboxListSchema, { status: opts.status, limit: opts.limit }, 'options');
  const items = await listMessages(await openDb(), f);
  // A listing is pasted into tickets and monitors: an unsent e-mail's secrets (a reset token) stay
  // out of it, as they leave the row once it is sent (`outbox show` renders the e-mail whole).
  const listed = items.map((m) => ({ ...m, payload: payloadAfterSending(m.payload) ?? m.payload }));
  await ui.result(listed, async () => {
    if (items.length === 0) return ui.print('No outbox messages match.');
    await ui.table(
      ['ID', 'Status', 'Kind', 'Topic', 'To', 'Tries', 'When', 'Created', 'Last error'],
      items.map((m) => [m.id, statusText(m.status), m.kind, m.topic, m.recipient, m.attempts, when(m), shortTime(m.created_at), m.last_error ?? '-']),
      ['right', 'left', 'left', 'left', 'left', 'right', 'left', 'left', 'left'],
    );
  });
}

export async function show([id]: string[]): Promise<void> {
  const msgId = parseMessageId(id);
  const config = await cliConfig();
  const msg = await getMessage(await openDb(), msgId);
  const rendering = renderMessage(msg, { storeName: config.storeName, storeUrl: config.storeUrl });
  const json = rendering ? { ...msg, rendered: rendering.email ?? null, render_error: rendering.error ?? null } : msg;
  await ui.result(json, () => {
    ui.print(`Message #${msg.id}  ${statusText(msg.status)}  ${msg.kind}  ${msg.topic}`);
    ui.print(`To:          ${msg.recipient}`);
    ui.print(`Key:         ${msg.message_key}`);
    ui.print(`Attempts:    ${msg.attempts}`);
    ui.print(`Created:     ${msg.created_at}`);
    if (msg.status === 'sent') ui.print(`Sent:        ${msg.sent_at}`);
    if (msg.status === 'pending') ui.print(`Next due:    ${msg.available_at}`);
    ui.print(`Last error:  ${msg.last_error ?? '-'}`);
    ui.print();
    if (!rendering) {
      ui.print((msg.payload as WebhookPayload | null)?.body ?? 'Its stored payload is not a JSON object.');
    } else if (rendering.email) {
      ui.print(`Subject: ${rendering.email.subject}`);
      ui.print();
      ui.print(rendering.email.text.replace(/\n$/, ''));
    } else {
      ui.print(`Cannot render this e-mail: ${rendering.error}.`);
    }
  });
}

export interface RetryOptions {
  dead?: boolean;
}

export async function retry([id]: string[], opts: RetryOptions): Promise<void> {
  if (opts.dead && id !== undefined) throw usageError('Give a message id or --dead, not both.');
  if (!opts.dead && id === undefined) throw usageError('Give a message id, or --dead for every dead message.');
  if (opts.dead) {
    const n = await retryDeadMessages(await openDb());
    await ui.result({ retried: n }, () => ui.print(n === 0 ? 'No dead messages.' : `${n} dead message${n === 1 ? ' is' : 's are'} due again.`));
    return;
  }
  const msg = await retryMessage(await openDb(), parseMessageId(id));
  await ui.result(msg, () => ui.print(`Message #${msg.id} is due again (its attempts start over).`));
}
