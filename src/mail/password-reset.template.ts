/**
 * The password-reset e-mail (docs/api.md, "Password reset"): the link to the shop's reset page
 * and the token itself (for a client that asks for it), when it expires, and what to do when the
 * reader did not ask. Registered under the outbox row's `payload.template`, 'password.reset'.
 */
import { defineTemplate, escapeHtml } from './templates.js';

/** "2026-12-01 09:30 UTC": the expiry as any reader can place it. */
function utc(iso: unknown): string {
  const d = new Date(String(iso));
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

defineTemplate('password.reset', (data, ctx) => {
  // A sent message's token is removed from the outbox (docs/data.md): never send a link without one.
  if (typeof data.token !== 'string' || data.token === '') throw new Error('password.reset: the message has no token (it was sent already)');
  const link = `${ctx.storeUrl}/reset-password?token=${encodeURIComponent(data.token)}`;
  const username = String(data.username ?? '');
  const expires = utc(data.expires_at);
  const minutes = Number(data.minutes);
  const within = Number.isFinite(minutes) && minutes > 0 ? ` (${minutes} minutes after the request)` : '';
  const subject = `Reset your ${ctx.storeName} password`;
  const text = [
    `Hello ${username},`,
    '',
    `Someone asked to reset the password of your ${ctx.storeName} account. To choose a new password, open this link:`,
    '',
    link,
    '',
    `Or enter this code on the reset page: ${data.token}`,
    '',
    `The link works once and expires at ${expires}${within}.`,
    '',
    'If you did not ask for this, ignore this e-mail: your password stays as it is.',
    '',
    `— ${ctx.storeName}`,
    '',
  ].join('\n');
  const e = escapeHtml;
  const html = [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${e(subject)}</title></head><body>`,
    `<p>Hello ${e(username)},</p>`,
    `<p>Someone asked to reset the password of your ${e(ctx.storeName)} account. To choose a new password, open this link:</p>`,
    `<p><a href="${e(link)}">${e(link)}</a></p>`,
    `<p>Or enter this code on the reset page: <code>${e(data.token)}</code></p>`,
    `<p>The link works once and expires at ${e(expires)}${e(within)}.</p>`,
    '<p>If you did not ask for this, ignore this e-mail: your password stays as it is.</p>',
    `<p>— ${e(ctx.storeName)}</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { subject, text, html };
});
