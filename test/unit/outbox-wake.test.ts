/**
 * Which requests wake the outbox worker (src/http/middleware/outbox-wake.ts): those that may have
 * queued a message and succeeded, the legacy adapter's checkout (an order placed) included.
 */
import test from 'ava';
import type { AppContext } from '../../src/http/context.js';
import { wakeOutboxAfter } from '../../src/http/middleware/outbox-wake.js';

async function wakes(path: string, opts: { method?: string; status?: number; legacyPrefix?: string } = {}): Promise<boolean> {
  let woken = false;
  const ctx = { method: opts.method ?? 'POST', path, status: opts.status ?? 200 } as AppContext;
  await wakeOutboxAfter(() => {
    woken = true;
  }, opts.legacyPrefix)(ctx, async () => {});
  return woken;
}

test('when an order, checkout, admin or reset request succeeds, then the worker is woken', async (t) => {
  for (const path of ['/api/orders', '/api/checkout/session', '/api/admin/orders/4/status', '/api/auth/password-reset', '/api/webhooks/stripe'])
    t.true(await wakes(path), path);
});

test('when the legacy adapter’s checkout succeeds (it places an order), then the worker is woken', async (t) => {
  t.true(await wakes('/legacy/api/checkout', { legacyPrefix: '/legacy' }));
  t.false(await wakes('/legacy/api/add-to-cart', { legacyPrefix: '/legacy' }), 'a cart change queues nothing');
  t.false(await wakes('/legacy/api/checkout'), 'no adapter without LEGACY_API_PREFIX');
});

test('when the request is a read, failed, or cannot queue, then the worker is left to its poll', async (t) => {
  t.false(await wakes('/api/orders', { method: 'GET' }));
  t.false(await wakes('/api/orders', { status: 409 }));
  t.false(await wakes('/api/cart/items'));
  t.false(await wakes('/api/auth/signin'));
});
