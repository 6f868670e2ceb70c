/**
 * The customer's e-mails about an order (docs/data.md, "E-mails"): placed, paid (the
 * confirmation), shipped, delivered, canceled or expired, refunded. Each shows the order as it
 * was when the message was queued (notifications/order-events.ts OrderSnapshot): its lines,
 * totals in the order's currency, the shipping address, and the tracking once shipped.
 */
import { formatMoney } from '../money.js';
import type { OrderEvent, OrderEventFacts, OrderSnapshot } from '../notifications/order-events.js';
import { html, htmlPage, type SafeHtml, textPage } from './layout.js';
import { defineTemplate, type MailContext, type RenderedEmail } from './templates.js';

/** The payload's `data` for an order e-mail (order-email.ts queues it). */
export type OrderEmailData = OrderEventFacts & { order: OrderSnapshot };

/**
 * Tracking pages of the carriers a shop is most likely to name; any other carrier's number is
 * shown without a link. Matched on the carrier's name without case, spaces or punctuation.
 */
const TRACKING_PAGES: Record<string, (n: string) => string> = {
  ups: (n) => `https://www.ups.com/track?tracknum=${n}`,
  usps: (n) => `https://tools.usps.com/go/TrackConfirmAction?tLabels=${n}`,
  fedex: (n) => `https://www.fedex.com/fedextrack/?trknbr=${n}`,
  dhl: (n) => `https://www.dhl.com/global-en/home/tracking.html?tracking-id=${n}`,
};

/** The carrier's tracking page for `trackingNumber`, when the carrier is a known one. */
export function trackingUrl(carrier: string | null, trackingNumber: string | null): string | null {
  if (!carrier || !trackingNumber) return null;
  const page = TRACKING_PAGES[carrier.toLowerCase().replace(/[^a-z]/g, '')];
  return page ? page(encodeURIComponent(trackingNumber)) : null;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const countries = new Intl.DisplayNames(['en'], { type: 'region' });

function day(iso: string | null): string | null {
  return iso ? dateFormat.format(new Date(iso)) : null;
}

function countryName(code: string): string {
  try {
    return countries.of(code.toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** The address as lines, the way a label shows it. */
function addressLines(a: NonNullable<OrderSnapshot['shipping_address']>): string[] {
  const place = [[a.city, a.region].filter(Boolean).join(', '), a.postal_code].filter(Boolean).join(' ');
  return [a.name, a.line1, a.line2, place, countryName(a.country)].filter((l): l is string => Boolean(l));
}

interface Totals {
  subtotal: string;
  shipping: string;
  total: string;
  refunded: string | null;
}

function totalsOf(o: OrderSnapshot): Totals {
  const money = (cents: number) => formatMoney(cents, o.currency);
  return {
    subtotal: money(o.total_cents - o.shipping_cents),
    shipping: o.shipping_cents === 0 ? 'free' : money(o.shipping_cents),
    total: money(o.total_cents),
    refunded: o.refunded_cents > 0 ? money(o.refunded_cents) : null,
  };
}

/* ------------------------------------------------------------------------------------------ */
/* Text part                                                                                  */

const WIDTH = 60;

/** `left` and `right` on one line `WIDTH` wide (or two spaces apart when `left` is long). */
function row(left: string, right: string): string {
  const room = WIDTH - right.length;
  return left.length + 2 <= room ? left.padEnd(room) + right : `${left}  ${right}`;
}

function orderText(o: OrderSnapshot): string {
  const lines: string[] = [`Order #${o.id}, placed ${day(o.created_at) ?? 'today'}`, ''];
  for (const i of o.items) {
    lines.push(row(`  ${i.quantity} × ${i.name}`, formatMoney(i.unit_price_cents * i.quantity, o.currency)));
    if (i.quantity > 1) lines.push(`      ${formatMoney(i.unit_price_cents, o.currency)} each`);
  }
  const t = totalsOf(o);
  lines.push('', row('  Subtotal', t.subtotal), row('  Shipping', t.shipping), row('  Total', t.total));
  if (t.refunded) lines.push(row('  Refunded', t.refunded));
  if (o.shipping_address) lines.push('', 'Shipping to:', ...addressLines(o.shipping_address).map((l) => `  ${l}`));
  return lines.join('\n');
}

function trackingText(o: OrderSnapshot): string | null {
  if (!o.tracking_number && !o.carrier) return null;
  const url = trackingUrl(o.carrier, o.tracking_number);
  return [o.carrier && `Carrier: ${o.carrier}`, o.tracking_number && `Tracking number: ${o.tracking_number}`, url && `Track your parcel: ${url}`]
    .filter(Boolean)
    .join('\n');
}

/* ------------------------------------------------------------------------------------------ */
/* HTML part                                                                                  */

const CELL = 'padding:6px 0;border-bottom:1px solid #eeeeee;vertical-align:top;';
const AMOUNT = 'padding:6px 0 6px 12px;text-align:right;white-space:nowrap;vertical-align:top;';

function orderHtml(o: OrderSnapshot): SafeHtml {
  const t = totalsOf(o);
  const items = o.items.map(
    (i) => html`<tr><td style="${CELL}">${i.quantity} × ${i.name}${
      i.quantity > 1 ? html`<br><span style="color:#666666;font-size:13px;">${formatMoney(i.unit_price_cents, o.currency)} each</span>` : ''
    }</td><td style="${CELL}${AMOUNT}">${formatMoney(i.unit_price_cents * i.quantity, o.currency)}</td></tr>
`,
  );
  const total = (label: string, value: string, strong = false) =>
    html`<tr><td style="padding:4px 0;${strong ? 'font-weight:bold;' : ''}">${label}</td><td style="${AMOUNT}${strong ? 'font-weight:bold;' : ''}">${value}</td></tr>
`;
  const address = o.shipping_address
    ? html`<p style="margin:24px 0 4px;font-weight:bold;">Shipping to</p>
<p style="margin:0;">${addressLines(o.shipping_address).map((l, n) => (n === 0 ? html`${l}` : html`<br>${l}`))}</p>
`
    : '';
  return html`<p style="margin:24px 0 8px;font-weight:bold;">Order #${o.id}, placed ${day(o.created_at) ?? 'today'}</p>
<table role="presentation" style="width:100%;border-collapse:collapse;">
${items}${total('Subtotal', t.subtotal)}${total('Shipping', t.shipping)}${total('Total', t.total, true)}${t.refunded ? total('Refunded', t.refunded) : ''}</table>
${address}`;
}

function trackingHtml(o: OrderSnapshot): SafeHtml | '' {
  if (!o.tracking_number && !o.carrier) return '';
  const url = trackingUrl(o.carrier, o.tracking_number);
  return html`<p style="margin:16px 0;padding:12px;background:#f4f4f4;">${o.carrier ? html`Carrier: ${o.carrier}<br>` : ''}${
    o.tracking_number ? html`Tracking number: <strong>${o.tracking_number}</strong>` : ''
  }${url ? html`<br><a href="${url}">Track your parcel</a>` : ''}</p>
`;
}

/* ------------------------------------------------------------------------------------------ */
/* The e-mails                                                                                */

interface OrderMessage {
  subject: string;
  /** Paragraphs above the order, plain text. */
  intro: string[];
  /** Paragraphs below the order. */
  outro?: string[];
  /** Shown between the intro and the order (tracking). */
  text?: string | null;
  html?: SafeHtml | '';
}

function greeting(o: OrderSnapshot): string {
  const name = o.shipping_address?.name ?? o.username;
  return name ? `Hello ${name},` : 'Hello,';
}

function compose(o: OrderSnapshot, ctx: MailContext, m: OrderMessage): RenderedEmail {
  const outro = m.outro ?? ['Questions about your order? Reply to this e-mail.'];
  const text = textPage(ctx, [greeting(o), ...m.intro, ...(m.text ? [m.text] : []), orderText(o), ...outro]);
  const para = (p: string) => html`<p style="margin:0 0 12px;">${p}</p>
`;
  const body = html`${para(greeting(o))}${m.intro.map(para)}${m.html ?? ''}${orderHtml(o)}<div style="margin-top:24px;">${outro.map(para)}</div>
`;
  return { subject: m.subject, text, html: htmlPage(ctx, m.subject, body) };
}

const MESSAGES: Record<OrderEvent, (d: OrderEmailData, ctx: MailContext) => OrderMessage> = {
  'order.placed': ({ order: o }, ctx) => ({
    subject: `We have your ${ctx.storeName} order #${o.id}`,
    intro: [
      `Thank you for your order #${o.id}. We are holding the items below for you until your payment arrives, and we will send a confirmation as soon as it does.`,
    ],
  }),
  'order.paid': ({ order: o }, ctx) => ({
    subject: `Your ${ctx.storeName} order #${o.id} is confirmed`,
    intro: [
      `Thank you for your order. We have received your payment of ${formatMoney(o.total_cents, o.currency)}${o.paid_at ? ` on ${day(o.paid_at)}` : ''}, and we are getting your order ready. We will e-mail you again when it ships.`,
    ],
  }),
  'order.shipped': ({ order: o }, ctx) => ({
    subject: `Your ${ctx.storeName} order #${o.id} has shipped`,
    intro: [`Good news: your order #${o.id} is on its way.`],
    text: trackingText(o),
    html: trackingHtml(o),
  }),
  'order.delivered': ({ order: o }, ctx) => ({
    subject: `Your ${ctx.storeName} order #${o.id} was delivered`,
    intro: [`Your order #${o.id} has been delivered. We hope you enjoy it.`],
    outro: ['If anything is wrong with it, reply to this e-mail and we will put it right.'],
  }),
  'order.canceled': ({ order: o, expired }, ctx) =>
    expired
      ? {
          subject: `Your ${ctx.storeName} order #${o.id} has expired`,
          intro: [
            `Your order #${o.id} was not paid in time, so we have canceled it and released the items we were holding for you. You have not been charged.`,
          ],
          outro: [`If you still want them, you are welcome to order again.`],
        }
      : {
          subject: `Your ${ctx.storeName} order #${o.id} has been canceled`,
          intro: [`Your order #${o.id} has been canceled. You have not been charged.`],
          outro: ['If you did not expect this, reply to this e-mail.'],
        },
  'order.refunded': ({ order: o }, ctx) => ({
    subject: `Your ${ctx.storeName} order #${o.id} has been refunded`,
    intro: [
      `We have refunded ${formatMoney(o.refunded_cents || o.total_cents, o.currency)} for your order #${o.id} to the card or account you paid with. Depending on your bank, it can take 5 to 10 business days to show on your statement.`,
    ],
  }),
};

for (const [event, message] of Object.entries(MESSAGES)) {
  defineTemplate(event, (data, ctx) => {
    const d = data as unknown as OrderEmailData;
    return compose(d.order, ctx, message(d, ctx));
  });
}
