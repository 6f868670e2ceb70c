/**
 * What the operator does with the outbox (docs/cli.md, `watchstore outbox`): list it, look at
 * one message as its recipient will get it, and send dead or waiting messages again.
 */
import type { Db } from '../db/connection.js';
import { AppError } from '../errors.js';
import { type MailContext, type RenderedEmail, renderEmail } from '../mail/render.js';
import { dbIdTextSchema } from '../schemas.js';
import { parseInput } from '../validation.js';
import { findMessage, retryMessages } from './outbox.repository.js';
import type { EmailPayload, OutboxMessage } from './outbox.schemas.js';

export function parseMessageId(id: unknown): number {
  return parseInput(dbIdTextSchema, id, 'message id');
}

export async function getMessage(db: Db, id: number): Promise<OutboxMessage> {
  const msg = await findMessage(db, id);
  if (!msg) throw new AppError('NOT_FOUND', `No outbox message #${id}.`);
  return msg;
}

/** An e-mail as the worker would render it now, or why it cannot be rendered (an unknown template). */
export type Rendering = { email: RenderedEmail; error?: undefined } | { email?: undefined; error: string };

export function renderMessage(msg: OutboxMessage, ctx: MailContext): Rendering | undefined {
  if (msg.kind !== 'email') return undefined;
  const p = msg.payload as EmailPayload | null;
  if (!p) return { error: 'its stored payload is not a JSON object' };
  try {
    return { email: renderEmail(p.template, p.data, ctx) };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** Makes message `id` due now with its attempts counted afresh: a dead one, or one waiting to retry. */
export async function retryMessage(db: Db, id: number): Promise<OutboxMessage> {
  const msg = await getMessage(db, id);
  if (msg.status === 'sent') throw new AppError('CONFLICT', `Message #${id} was sent at ${msg.sent_at}; it is not sent again.`);
  if ((await retryMessages(db, { id })) === 0)
    throw new AppError('CONFLICT', `Message #${id} is being delivered right now; if that fails, retry it after ${msg.available_at}.`);
  return getMessage(db, id);
}

/** Makes every dead message due now; returns how many. */
export function retryDeadMessages(db: Db): Promise<number> {
  return retryMessages(db, { dead: true });
}
