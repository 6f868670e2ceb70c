/**
 * The security notice sent when an account's e-mail changes (docs/data.md, "E-mails"): to the
 * old address, so the owner hears of a change they did not make. The new address gets nothing
 * (notifications/account-email.ts says why).
 */
import { html, htmlPage, textPage } from './layout.js';
import { defineTemplate } from './templates.js';

/** The payload's `data` for 'account.email_changed'. */
export interface EmailChangedData {
  username: string;
  old_email: string;
  new_email: string;
  /** ISO time of the change. */
  changed_at: string;
}

const when = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

defineTemplate('account.email_changed', (data, ctx) => {
  const d = data as unknown as EmailChangedData;
  const at = `${when.format(new Date(d.changed_at))} UTC`;
  const subject = `The e-mail address of your ${ctx.storeName} account was changed`;
  const intro = `The e-mail address of your ${ctx.storeName} account "${d.username}" was changed on ${at}.`;
  const meaning = 'From now on, order e-mails and password resets go to the new address, and this one is no longer linked to the account.';
  const fine = 'If you made this change, there is nothing more to do.';
  const alarm = 'If you did not, someone else may have access to your account: reply to this e-mail straight away and we will help you get it back.';
  const text = textPage(ctx, [`Hello ${d.username},`, intro, `  from  ${d.old_email}\n  to    ${d.new_email}`, meaning, fine, alarm]);
  const body = html`<p style="margin:0 0 12px;">Hello ${d.username},</p>
<p style="margin:0 0 12px;">${intro}</p>
<table role="presentation" style="margin:0 0 12px;border-collapse:collapse;">
<tr><td style="padding:2px 12px 2px 0;color:#666666;">from</td><td style="padding:2px 0;">${d.old_email}</td></tr>
<tr><td style="padding:2px 12px 2px 0;color:#666666;">to</td><td style="padding:2px 0;"><strong>${d.new_email}</strong></td></tr>
</table>
<p style="margin:0 0 12px;">${meaning}</p>
<p style="margin:0 0 12px;">${fine}</p>
<p style="margin:0 0 12px;font-weight:bold;">${alarm}</p>
`;
  return { subject, text, html: htmlPage(ctx, subject, body) };
});
