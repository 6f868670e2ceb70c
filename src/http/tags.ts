/**
 * What each route tag (RouteSpec.tag) groups, shown as the section introductions of the OpenAPI
 * document and of the reference page at /api/docs (docs/api.md). A tag used by a route must have
 * a line here: the document's lint (test/api/openapi-lint.test.ts) fails otherwise.
 */
export const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  Admin:
    'The shop run over HTTP, under `/api/admin`: products, stock and images, all orders, users and roles, the audit log, and the outgoing webhooks (signed POSTs to the shop’s other systems when an order is paid, shipped, canceled or refunded). `staff` may use the catalog and order routes, `admin` all of them; each operation names the permission it needs in `x-permission`.',
  Auth: 'Accounts and sessions: sign-up, sign-in, token refresh, logout and password reset. The JWT pair travels in HttpOnly cookies; `Authorization: Bearer` works too.',
  Cart: "The signed-in customer's cart: one line per product, quantities never above the stock.",
  Catalog: 'The public catalog: search, filters, sort and paging, one product, and product images.',
  Checkout:
    "Paying an order with Stripe: a PaymentIntent per order (the store's own payment form) or a hosted Checkout Session (Stripe's page), and the signed Stripe webhook that settles either.",
  Legacy:
    "The old Express backend's API, served under `LEGACY_API_PREFIX` when it is set (docs/legacy.md): the old paths, shapes and status codes over the same services and rules.",
  Operations: 'For operators and tools: health check, this OpenAPI document and its reference page.',
  Orders: "The signed-in customer's orders: placing one from the cart, listing, showing and canceling.",
};
