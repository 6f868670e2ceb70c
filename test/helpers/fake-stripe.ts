/**
 * A small stand-in for Stripe's API (no network here): a node:http server on a random port that
 * answers the PaymentIntent calls the app makes, the way the official SDK expects them.
 *
 *   POST /v1/payment_intents             create (form-encoded, honours Idempotency-Key)
 *   GET  /v1/payment_intents/:id         retrieve
 *   POST /v1/payment_intents/:id/cancel  cancel (refused once succeeded or canceled, as Stripe does)
 *   POST /v1/refunds                     refund a succeeded intent (honours Idempotency-Key; never
 *                                        more than received: 400 amount_too_large / charge_already_refunded)
 *   GET  /v1/refunds/:id                 retrieve
 *   GET  /v1/charges/:id                 the intent's charge, with amount_refunded and refunded
 *   POST /v1/checkout/sessions           create a Checkout Session (amount_total from its lines and shipping rate)
 *   GET  /v1/checkout/sessions/:id       retrieve
 *   POST /v1/checkout/sessions/:id/expire  expire an open session (refused once complete or expired)
 *
 * Tests point the app at it with STRIPE_API_BASE, set an intent's status as if the customer had
 * paid, make requests fail, and read back what was asked. It also signs webhook payloads with the
 * SDK's own test-header helper, so the app verifies real signatures.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';

export type IntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'canceled'
  | 'succeeded';

export interface FakeIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  status: IntentStatus;
  client_secret: string;
  metadata: Record<string, string>;
  automatic_payment_methods: { enabled: boolean } | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  created: number;
  livemode: false;
  /** The intent's charge once succeeded (`ch_…`). */
  latest_charge: string | null;
  /** Not a field of Stripe's PaymentIntent: the fake's running total of refunds (the charge's). */
  amount_refunded: number;
}

export interface FakeRefund {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  charge: string;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled' | 'requires_action';
  metadata: Record<string, string>;
  reason: string | null;
  created: number;
}

export interface FakeCharge {
  id: string;
  object: 'charge';
  amount: number;
  amount_refunded: number;
  refunded: boolean;
  currency: string;
  payment_intent: string;
}

export interface FakeShippingDetails {
  name: string;
  address: { line1: string; line2: string | null; city: string; postal_code: string; state: string | null; country: string };
}

export interface FakeSession {
  id: string;
  object: 'checkout.session';
  mode: 'payment';
  status: 'open' | 'complete' | 'expired';
  payment_status: 'unpaid' | 'paid' | 'no_payment_required';
  amount_subtotal: number;
  amount_total: number;
  currency: string;
  client_reference_id: string | null;
  metadata: Record<string, string>;
  success_url: string;
  cancel_url: string;
  url: string | null;
  payment_intent: string | null;
  expires_at: number;
  created: number;
  livemode: false;
  collected_information: { shipping_details: FakeShippingDetails | null } | null;
  shipping_cost: { amount_total: number } | null;
  /** What the customer typed on the hosted page (Stripe always asks for an e-mail). */
  customer_details: { email: string | null; name: string | null } | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The form body decoded into nested objects (`metadata[order_id]=5` → `{metadata: {order_id: '5'}}`). */
  body: Record<string, any>;
  idempotencyKey?: string;
  authorization?: string;
}

interface Failure {
  status: number;
  times: number;
  when?: (req: RecordedRequest) => boolean;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

/** `a[b][c]=v` → `{a: {b: {c: v}}}` (what the SDK's form encoding means). */
export function decodeForm(text: string): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const parts = key.split(/\[|\]\[|\]/).filter((p) => p !== '');
    let node = out;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = node[part] ??= {};
    });
  }
  return out;
}

export class FakeStripe {
  readonly intents = new Map<string, FakeIntent>();
  readonly refunds = new Map<string, FakeRefund>();
  readonly sessions = new Map<string, FakeSession>();
  readonly requests: RecordedRequest[] = [];
  private readonly idempotent = new Map<string, { body: string; status: number; response: unknown }>();
  private failures: Failure[] = [];
  /** Runs (and is awaited) before each request is answered: lets a test act "while Stripe is busy". */
  beforeAnswer?: (req: RecordedRequest) => unknown;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeStripe> {
    let fake!: FakeStripe;
    const server = http.createServer((req, res) => {
      fake.handle(req, res).catch((err) => {
        res.statusCode = 500;
        res.end(JSON.stringify({ error: { type: 'api_error', message: String(err) } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake = new FakeStripe(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return fake;
  }

  /** Environment for the app or a child process to use this fake. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return { STRIPE_SECRET_KEY: 'sk_test_fake', STRIPE_API_BASE: this.url, ...extra };
  }

  /** Makes the next `times` matching requests fail with `status` (500 → api_error, 402 → card_error). */
  failNext(status: number, opts: { times?: number; when?: (req: RecordedRequest) => boolean } = {}): void {
    this.failures.push({ status, times: opts.times ?? 1, when: opts.when });
  }

  clearFailures(): void {
    this.failures = [];
  }

  /** Moves an intent as if the customer (or Stripe) had acted; `succeeded` records the amount received. */
  setStatus(intentId: string, status: IntentStatus, patch: Partial<FakeIntent> = {}): FakeIntent {
    const intent = this.intents.get(intentId);
    if (!intent) throw new Error(`fake Stripe: no intent ${intentId}`);
    intent.status = status;
    if (status === 'succeeded') {
      intent.amount_received = intent.amount;
      intent.latest_charge ??= id('ch');
    }
    if (status === 'canceled') intent.canceled_at = Math.floor(Date.now() / 1000);
    Object.assign(intent, patch);
    return intent;
  }

  /**
   * The customer finished the hosted page: the session is complete (paid by default, with a
   * succeeded PaymentIntent for its amount) and carries the shipping details and e-mail they typed.
   */
  completeSession(sessionId: string, patch: Partial<FakeSession> = {}, shipping: FakeShippingDetails | null = FAKE_SHIPPING): FakeSession {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`fake Stripe: no session ${sessionId}`);
    const intent = this.newIntent({ amount: session.amount_total, currency: session.currency, metadata: session.metadata });
    intent.status = 'succeeded';
    intent.amount_received = intent.amount;
    intent.latest_charge = id('ch');
    this.intents.set(intent.id, intent);
    Object.assign(
      session,
      {
        status: 'complete',
        payment_status: 'paid',
        payment_intent: intent.id,
        url: null,
        collected_information: { shipping_details: shipping },
        customer_details: { email: FAKE_CUSTOMER_EMAIL, name: shipping?.name ?? null },
      },
      patch,
    );
    return session;
  }

  /** Adds an intent the app never created (e.g. someone else's). */
  addIntent(fields: Partial<FakeIntent> & { amount: number }): FakeIntent {
    const intent = this.newIntent({ currency: 'usd', ...fields } as Partial<FakeIntent> & { amount: number });
    this.intents.set(intent.id, intent);
    return intent;
  }

  /** The intent's charge as Stripe shows it (amount_refunded is the running total). */
  chargeOf(intentId: string): FakeCharge {
    const intent = this.intents.get(intentId);
    if (!intent?.latest_charge) throw new Error(`fake Stripe: intent ${intentId} has no charge`);
    return {
      id: intent.latest_charge,
      object: 'charge',
      amount: intent.amount_received,
      amount_refunded: intent.amount_refunded,
      refunded: intent.amount_refunded >= intent.amount_received,
      currency: intent.currency,
      payment_intent: intent.id,
    };
  }

  /** A refund made in Stripe's dashboard (not through the app). */
  refundInDashboard(intentId: string, amount: number): FakeRefund {
    const intent = this.intents.get(intentId);
    if (!intent?.latest_charge) throw new Error(`fake Stripe: intent ${intentId} has no charge`);
    const refund = this.newRefund(intent, amount, {});
    return refund;
  }

  private newRefund(intent: FakeIntent, amount: number, metadata: Record<string, string>): FakeRefund {
    const refund: FakeRefund = {
      id: id('re'),
      object: 'refund',
      amount,
      currency: intent.currency,
      payment_intent: intent.id,
      charge: intent.latest_charge!,
      status: 'succeeded',
      metadata,
      reason: null,
      created: Math.floor(Date.now() / 1000),
    };
    intent.amount_refunded += amount;
    this.refunds.set(refund.id, refund);
    return refund;
  }

  requestsTo(method: string, pathPrefix: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private newIntent(f: Partial<FakeIntent> & { amount: number }): FakeIntent {
    const intentId = f.id ?? id('pi');
    return {
      object: 'payment_intent',
      amount_received: 0,
      status: 'requires_payment_method',
      client_secret: `${intentId}_secret_${randomBytes(8).toString('hex')}`,
      metadata: {},
      automatic_payment_methods: null,
      canceled_at: null,
      cancellation_reason: null,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      latest_charge: f.status === 'succeeded' ? id('ch') : null,
      amount_refunded: 0,
      currency: 'usd',
      ...f,
      id: intentId,
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      body: decodeForm(raw),
      idempotencyKey: req.headers['idempotency-key'] as string | undefined,
      authorization: req.headers.authorization,
    };
    this.requests.push(recorded);
    await this.beforeAnswer?.(recorded);

    const send = (status: number, body: unknown) => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Request-Id', id('req'));
      res.end(JSON.stringify(body));
    };

    if (!/^Bearer sk_/.test(recorded.authorization ?? '')) {
      return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided.' } });
    }

    const failure = this.failures.find((f) => f.times > 0 && (!f.when || f.when(recorded)));
    if (failure) {
      failure.times -= 1;
      if (failure.status === 402) {
        return send(402, { error: { type: 'card_error', code: 'card_declined', message: 'Your card was declined.' } });
      }
      return send(failure.status, { error: { type: 'api_error', message: 'Something went wrong on the fake Stripe.' } });
    }

    // Stripe replays the first answer to a repeated idempotency key; other parameters are an error.
    const idemKey = recorded.method === 'POST' ? recorded.idempotencyKey : undefined;
    if (idemKey && !idemKey.startsWith('stripe-node-retry-')) {
      const seen = this.idempotent.get(`${recorded.path}\n${idemKey}`);
      if (seen) {
        if (seen.body !== raw) {
          return send(400, {
            error: { type: 'idempotency_error', message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.' },
          });
        }
        return send(seen.status, seen.response);
      }
    }
    const remember = (status: number, response: unknown) => {
      if (idemKey && !idemKey.startsWith('stripe-node-retry-')) this.idempotent.set(`${recorded.path}\n${idemKey}`, { body: raw, status, response });
      send(status, response);
    };

    const missing = (intentId: string) =>
      send(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such payment_intent: '${intentId}'` } });

    let m: RegExpExecArray | null;
    const noSession = (sessionId: string) =>
      send(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such checkout.session: '${sessionId}'` } });
    if (recorded.method === 'POST' && recorded.path === '/v1/checkout/sessions') {
      const b = recorded.body;
      const lines = Object.values((b.line_items ?? {}) as Record<string, any>);
      let subtotal = 0;
      let currency: string | undefined;
      for (const l of lines) {
        const unit = Number(l.price_data?.unit_amount);
        const quantity = Number(l.quantity);
        if (!Number.isInteger(unit) || unit < 0 || !Number.isInteger(quantity) || quantity < 1 || !l.price_data?.product_data?.name) {
          return send(400, {
            error: { type: 'invalid_request_error', message: 'line_items need price_data (unit_amount, currency, product_data.name) and quantity.' },
          });
        }
        currency = l.price_data.currency;
        subtotal += unit * quantity;
      }
      const rate = Object.values((b.shipping_options ?? {}) as Record<string, any>)[0]?.shipping_rate_data;
      const shippingAmount = rate ? Number(rate.fixed_amount?.amount) : 0;
      if (lines.length === 0 || b.mode !== 'payment' || !b.success_url || !b.cancel_url || !/^[a-z]{3}$/.test(currency ?? '')) {
        return send(400, { error: { type: 'invalid_request_error', message: 'mode=payment, line_items, success_url and cancel_url are required.' } });
      }
      const sessionId = id('cs_test');
      const now = Math.floor(Date.now() / 1000);
      const session: FakeSession = {
        id: sessionId,
        object: 'checkout.session',
        mode: 'payment',
        status: 'open',
        payment_status: 'unpaid',
        amount_subtotal: subtotal,
        amount_total: subtotal + shippingAmount,
        currency: currency!,
        client_reference_id: b.client_reference_id ?? null,
        metadata: b.metadata ?? {},
        success_url: b.success_url,
        cancel_url: b.cancel_url,
        url: `https://checkout.stripe.com/c/pay/${sessionId}`,
        payment_intent: null,
        expires_at: Number(b.expires_at ?? now + 86_400),
        created: now,
        livemode: false,
        collected_information: null,
        shipping_cost: rate ? { amount_total: shippingAmount } : null,
        customer_details: null,
      };
      this.sessions.set(sessionId, session);
      return remember(200, session);
    }
    if (recorded.method === 'GET' && (m = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(recorded.path))) {
      const session = this.sessions.get(m[1]);
      return session ? send(200, session) : noSession(m[1]);
    }
    if (recorded.method === 'POST' && (m = /^\/v1\/checkout\/sessions\/([^/]+)\/expire$/.exec(recorded.path))) {
      const session = this.sessions.get(m[1]);
      if (!session) return noSession(m[1]);
      if (session.status !== 'open') {
        return remember(400, {
          error: {
            type: 'invalid_request_error',
            message: `Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a status of "${session.status}".`,
          },
        });
      }
      session.status = 'expired';
      session.url = null;
      return remember(200, session);
    }
    if (recorded.method === 'POST' && recorded.path === '/v1/payment_intents') {
      const b = recorded.body;
      const amount = Number(b.amount);
      if (!Number.isInteger(amount) || amount < 1 || !/^[a-z]{3}$/.test(b.currency ?? '')) {
        return send(400, { error: { type: 'invalid_request_error', message: 'amount and currency are required.' } });
      }
      const intent = this.newIntent({
        amount,
        currency: b.currency,
        metadata: b.metadata ?? {},
        automatic_payment_methods: b.automatic_payment_methods ? { enabled: b.automatic_payment_methods.enabled === 'true' } : null,
      });
      this.intents.set(intent.id, intent);
      return remember(200, intent);
    }
    if (recorded.method === 'GET' && (m = /^\/v1\/payment_intents\/([^/]+)$/.exec(recorded.path))) {
      const intent = this.intents.get(m[1]);
      return intent ? send(200, intent) : missing(m[1]);
    }
    if (recorded.method === 'POST' && (m = /^\/v1\/payment_intents\/([^/]+)\/cancel$/.exec(recorded.path))) {
      const intent = this.intents.get(m[1]);
      if (!intent) return missing(m[1]);
      if (intent.status === 'succeeded' || intent.status === 'canceled' || intent.status === 'processing') {
        return remember(400, {
          error: {
            type: 'invalid_request_error',
            code: 'payment_intent_unexpected_state',
            message: `You cannot cancel this PaymentIntent because it has a status of ${intent.status}.`,
            payment_intent: intent,
          },
        });
      }
      intent.status = 'canceled';
      intent.canceled_at = Math.floor(Date.now() / 1000);
      intent.cancellation_reason = recorded.body.cancellation_reason ?? null;
      return remember(200, intent);
    }
    if (recorded.method === 'POST' && recorded.path === '/v1/refunds') {
      const b = recorded.body;
      const intent = this.intents.get(b.payment_intent ?? '');
      if (!intent) return missing(String(b.payment_intent));
      if (intent.status !== 'succeeded') {
        return remember(400, {
          error: { type: 'invalid_request_error', code: 'charge_not_refundable', message: 'This PaymentIntent has no successful charge to refund.' },
        });
      }
      const left = intent.amount_received - intent.amount_refunded;
      if (left <= 0) {
        return remember(400, { error: { type: 'invalid_request_error', code: 'charge_already_refunded', message: 'Charge has already been refunded.' } });
      }
      const amount = b.amount === undefined ? left : Number(b.amount);
      if (!Number.isInteger(amount) || amount < 1) return send(400, { error: { type: 'invalid_request_error', message: 'Invalid amount.' } });
      if (amount > left) {
        return remember(400, {
          error: {
            type: 'invalid_request_error',
            code: 'amount_too_large',
            message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
          },
        });
      }
      return remember(200, this.newRefund(intent, amount, b.metadata ?? {}));
    }
    if (recorded.method === 'GET' && (m = /^\/v1\/refunds\/([^/]+)$/.exec(recorded.path))) {
      const refund = this.refunds.get(m[1]);
      return refund
        ? send(200, refund)
        : send(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such refund: '${m[1]}'` } });
    }
    if (recorded.method === 'GET' && (m = /^\/v1\/charges\/([^/]+)$/.exec(recorded.path))) {
      const intent = [...this.intents.values()].find((i) => i.latest_charge === m![1]);
      return intent
        ? send(200, this.chargeOf(intent.id))
        : send(404, { error: { type: 'invalid_request_error', code: 'resource_missing', message: `No such charge: '${m[1]}'` } });
    }
    send(404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${recorded.method}: ${recorded.path}).` } });
  }
}

/** A Stripe event around a PaymentIntent, as Stripe would POST it to the webhook. */
export function paymentIntentEvent(
  type: 'payment_intent.succeeded' | 'payment_intent.payment_failed' | 'payment_intent.canceled' | 'payment_intent.created',
  intent: Partial<FakeIntent> & { id: string },
  eventId = id('evt'),
): { id: string; object: 'event'; type: string; created: number; livemode: false; api_version: string; data: { object: unknown } } {
  return {
    id: eventId,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    api_version: '2026-10-28.endive',
    data: { object: { object: 'payment_intent', metadata: {}, ...intent } },
  };
}

/** A `charge.refunded` or `refund.*` event, as Stripe would POST it to the webhook. */
export function refundEvent(
  type: 'charge.refunded' | 'refund.created' | 'refund.updated',
  object: FakeCharge | FakeRefund,
  eventId = id('evt'),
): { id: string; object: 'event'; type: string; created: number; livemode: false; api_version: string; data: { object: unknown } } {
  return {
    id: eventId,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    api_version: '2026-10-28.endive',
    data: { object: { ...object } },
  };
}

/** What a customer types on the hosted page, unless a test says otherwise. */
export const FAKE_SHIPPING: FakeShippingDetails = {
  name: 'Ada Lovelace',
  address: { line1: '12 Analytical Row', line2: 'Flat 3', city: 'London', postal_code: 'N1 7AA', state: null, country: 'GB' },
};

/** The e-mail a customer types on the hosted page, unless a test says otherwise (customer_details). */
export const FAKE_CUSTOMER_EMAIL = 'ada.lovelace@example.net';

/** A Stripe event around a Checkout Session, as Stripe would POST it to the webhook. */
export function checkoutSessionEvent(
  type: 'checkout.session.completed' | 'checkout.session.async_payment_succeeded' | 'checkout.session.async_payment_failed' | 'checkout.session.expired',
  session: Partial<FakeSession> & { id: string },
  eventId = id('evt'),
): { id: string; object: 'event'; type: string; created: number; livemode: false; api_version: string; data: { object: unknown } } {
  return {
    id: eventId,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    api_version: '2026-10-28.endive',
    data: { object: { object: 'checkout.session', metadata: {}, ...structuredClone(session) } },
  };
}

/** A valid `Stripe-Signature` header for this exact payload, made by the SDK. */
export function signPayload(payload: string, secret: string): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret });
}
