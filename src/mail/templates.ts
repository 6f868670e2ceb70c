/**
 * The e-mails' words (docs/data.md, "outbox"): one function per template turns the facts queued
 * with the message into a subject, a plain-text part and an HTML part. Every value that reaches
 * the HTML goes through `escapeHtml`: a product named `<script>` stays text.
 */

/** The shop's settings the templates show. */
export interface MailContext {
  storeName: string;
  storeUrl: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

type Template = (data: Record<string, unknown>, ctx: MailContext) => RenderedEmail;

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const TEMPLATES: Record<string, Template> = {};

/** Registers a template under its name (the outbox row's `payload.template`). */
export function defineTemplate(name: string, template: Template): void {
  TEMPLATES[name] = template;
}

/** Renders `template`; an unknown name throws (the message is retried, then dead, and says why). */
export function renderEmail(template: string, data: Record<string, unknown>, ctx: MailContext): RenderedEmail {
  const t = TEMPLATES[template];
  if (!t) throw new Error(`no e-mail template named ${template}`);
  return t(data, ctx);
}

// TEMPORARY (branch outbox-runtime): a minimal 'order.placed' so the outbox's process tests send
// real order e-mails before the order templates land; the order-mail branch replaces it.
defineTemplate('order.placed', (data, ctx) => {
  const order = data.order as { id: number };
  const subject = `${ctx.storeName}: order #${order.id} received`;
  const text = `Thank you for your order #${order.id}.\n\n${ctx.storeUrl}\n`;
  return { subject, text, html: `<p>Thank you for your order #${escapeHtml(order.id)}.</p>` };
});
