/**
 * The Stripe SDK, created lazily from the configuration (the `stripe` package is imported only
 * when a payment is actually made, so `watchstore --help` and the rest of the store never load it).
 * With STRIPE_API_BASE the SDK talks to that server instead of Stripe (tests use a local fake).
 *
 * Every call to Stripe goes through `callStripe`, which turns whatever Stripe or the network
 * throws into PAYMENT_PROVIDER_ERROR, so no Stripe error type leaks past this module.
 */
import type Stripe from 'stripe';
import type { Config } from '../config.js';
import { AppError, isAppError } from '../errors.js';

export type PaymentIntent = Stripe.PaymentIntent;
export type CheckoutSession = Stripe.Checkout.Session;
export type StripeEvent = Stripe.Event;

export type StripeConfig = Pick<Config, 'stripeSecretKey' | 'stripeApiBase'>;

/** Short enough that a checkout fails fast when Stripe is unreachable. */
const TIMEOUT_MS = 10_000;
const MAX_NETWORK_RETRIES = 1;

const clients = new Map<string, Promise<Stripe>>();

export function paymentsConfigured(config: StripeConfig): boolean {
  return Boolean(config.stripeSecretKey);
}

function unavailable(): AppError {
  return new AppError('PAYMENTS_UNAVAILABLE', 'Payments are not available: STRIPE_SECRET_KEY is not configured.');
}

async function loadStripe(): Promise<typeof Stripe> {
  const { default: StripeSdk } = await import('stripe');
  return StripeSdk;
}

/** The Stripe client for this configuration; PAYMENTS_UNAVAILABLE when no secret key is set. */
export function getStripe(config: StripeConfig): Promise<Stripe> {
  const key = config.stripeSecretKey;
  if (!key) return Promise.reject(unavailable());
  const cacheKey = `${key}\n${config.stripeApiBase ?? ''}`;
  let client = clients.get(cacheKey);
  if (!client) {
    client = loadStripe().then((StripeSdk) => {
      const options: Stripe.StripeConfig = { timeout: TIMEOUT_MS, maxNetworkRetries: MAX_NETWORK_RETRIES };
      if (config.stripeApiBase) {
        const base = new URL(config.stripeApiBase);
        options.host = base.hostname;
        options.protocol = base.protocol === 'http:' ? 'http' : 'https';
        options.port = base.port || (options.protocol === 'http' ? 80 : 443);
      }
      return new StripeSdk(key, options);
    });
    clients.set(cacheKey, client);
  }
  return client;
}

/** Stripe's own error fields we look at (the SDK's StripeError). */
export interface StripeErrorInfo {
  type?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  raw?: { payment_intent?: PaymentIntent };
}

export function stripeErrorInfo(err: unknown): StripeErrorInfo | undefined {
  const e = err as StripeErrorInfo & { name?: string };
  if (!e || typeof e !== 'object' || typeof e.type !== 'string' || !/^Stripe/.test(e.type)) return undefined;
  return e;
}

/** Runs a Stripe call; any failure becomes PAYMENT_PROVIDER_ERROR (502), with the cause kept. */
export async function callStripe<T>(config: StripeConfig, what: string, call: (stripe: Stripe) => Promise<T>): Promise<T> {
  const stripe = await getStripe(config);
  try {
    return await call(stripe);
  } catch (err) {
    const info = stripeErrorInfo(err);
    const reason = info?.message ?? (err as Error)?.message ?? String(err);
    throw new AppError('PAYMENT_PROVIDER_ERROR', `The payment provider could not ${what}: ${reason}`, undefined, { cause: err });
  }
}

/** The Stripe error behind a PAYMENT_PROVIDER_ERROR from callStripe, if any. */
export function stripeCause(err: unknown): StripeErrorInfo | undefined {
  return isAppError(err) ? stripeErrorInfo((err as { cause?: unknown }).cause) : undefined;
}

/** True when the PAYMENT_PROVIDER_ERROR means Stripe could not be reached at all. */
export function isStripeUnreachable(err: unknown): boolean {
  return stripeCause(err)?.type === 'StripeConnectionError';
}

/**
 * Cancels a PaymentIntent at Stripe, or learns that it can no longer be canceled: when Stripe
 * refuses because of the intent's state (already succeeded, processing, or canceled), the
 * intent as it is now is returned, and its status decides. PAYMENT_PROVIDER_ERROR otherwise.
 */
export async function cancelPaymentIntent(config: StripeConfig, intentId: string): Promise<PaymentIntent> {
  try {
    return await callStripe(config, 'cancel the payment', (stripe) => stripe.paymentIntents.cancel(intentId, { cancellation_reason: 'abandoned' }));
  } catch (err) {
    if (stripeCause(err)?.code === 'payment_intent_unexpected_state') {
      return callStripe(config, 'retrieve the payment', (stripe) => stripe.paymentIntents.retrieve(intentId));
    }
    throw err;
  }
}

/** Verifies a webhook's signature on its raw bytes; no API key is needed for this. */
export async function constructWebhookEvent(rawBody: Buffer, signature: string, secret: string): Promise<Stripe.Event> {
  const StripeSdk = await loadStripe();
  return StripeSdk.webhooks.constructEvent(rawBody, signature, secret);
}

export type Refund = Stripe.Refund;

/**
 * Creates a refund on a PaymentIntent. `idempotencyKey` makes a repeated call (the SDK's retry,
 * or a retried admin request) return the first refund instead of refunding again.
 */
export function createRefund(
  config: StripeConfig,
  params: { paymentIntentId: string; amountCents: number; metadata: Record<string, string> },
  idempotencyKey: string,
): Promise<Refund> {
  return callStripe(config, 'refund the payment', (stripe) =>
    stripe.refunds.create({ payment_intent: params.paymentIntentId, amount: params.amountCents, metadata: params.metadata }, { idempotencyKey }),
  );
}

/**
 * Expires an open Checkout Session at Stripe, or learns that it can no longer be expired
 * (already complete or expired): then the session as it is now is returned, and its status
 * decides. PAYMENT_PROVIDER_ERROR otherwise.
 */
export async function expireCheckoutSession(config: StripeConfig, sessionId: string): Promise<CheckoutSession> {
  try {
    return await callStripe(config, 'expire the checkout session', (stripe) => stripe.checkout.sessions.expire(sessionId));
  } catch (err) {
    const info = stripeCause(err);
    if (info?.type === 'StripeInvalidRequestError' && info.statusCode === 400) {
      return callStripe(config, 'retrieve the checkout session', (stripe) => stripe.checkout.sessions.retrieve(sessionId));
    }
    throw err;
  }
}
