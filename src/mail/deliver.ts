/** Delivers the outbox's e-mail rows (docs/data.md, "outbox"): render, then send. */
import type { EmailPayload, OutboxMessage } from '../outbox/outbox.schemas.js';
import type { Deliverer } from '../outbox/worker.js';
import type { Mailer } from './mailer.js';
import { type MailContext, renderEmail } from './render.js';

/** The domain of the sender's address, for Message-IDs (`<order-12.paid@shop.example.com>`). */
export function messageIdDomain(from: string): string {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m ? m[1] : 'watchstore.invalid';
}

/** The stable Message-ID of an outbox row: the same on every attempt, unique per message. */
export function messageIdOf(msg: Pick<OutboxMessage, 'message_key'>, domain: string): string {
  return `<${msg.message_key.replace(/[^A-Za-z0-9._-]/g, '_')}@${domain}>`;
}

export function emailDeliverer(mailer: Mailer, ctx: MailContext & { from: string }): Deliverer {
  const domain = messageIdDomain(ctx.from);
  return async (msg) => {
    const p = msg.payload as EmailPayload;
    const rendered = renderEmail(p.template, p.data, ctx);
    return mailer.send({ messageId: messageIdOf(msg, domain), to: p.to, ...rendered });
  };
}
