/**
 * Every e-mail template, loaded (each registers itself by name with defineTemplate), and the one
 * function that renders an outbox e-mail: the worker and `watchstore outbox show` both use this.
 */
import './account-emails.js';
import './order-emails.js';
import './password-reset.template.js';

export { type MailContext, type RenderedEmail, renderEmail } from './templates.js';
