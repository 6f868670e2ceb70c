/**
 * A bounded load of mixed shop traffic over plain HTTP (node:http, keep-alive), recording every
 * answer: browsing, carts, orders (each retried once with its Idempotency-Key, as a client whose
 * answer was lost would) and sign-ins. Each worker owns its users, so what the database must hold
 * afterwards follows from the answers alone (checkLoad in test-cluster/). Used by the cluster test
 * and the bench's `cluster` scenario.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  ms: number;
}

/** A keep-alive HTTP client; `localAddress` picks the source address (127.0.0.0/8 is all loopback). */
export function httpClient(opts: { localAddress?: string; maxSockets?: number } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 64 });
  const request = (url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      const payload = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      const req = http.request(
        url,
        {
          method: init.method ?? 'GET',
          agent,
          localAddress: opts.localAddress,
          headers: {
            ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
            ...init.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            if (String(res.headers['content-type'] ?? '').includes('json')) {
              try {
                body = JSON.parse(text);
              } catch {
                /* left as text */
              }
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - started });
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  return { request, close: () => agent.destroy() };
}

export type Kind = 'browse' | 'cart' | 'order' | 'signin';
export const KINDS: Kind[] = ['browse', 'cart', 'order', 'signin'];

export interface LoadUsers {
  /** Products to browse, add and order (stock large enough never to run out). */
  productIds: number[];
  /** One shopper (adds to and reads a cart) and one buyer (adds then orders) per worker. */
  shoppers: { id: number; token: string }[];
  buyers: { id: number; token: string }[];
  /** Accounts that sign in with their password. */
  signers: { login: string; password: string }[];
  /** Sign-ins per signer at most (keep it under RATE_LIMIT_SIGNIN_PER_IP_LOGIN). */
  signinsPerSigner: number;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  /** Requests that did not get their expected status (status 0: no answer at all). */
  failures: { kind: Kind; method: string; path: string; status: number; detail: string }[];
  perKind: Record<Kind, { requests: number; failures: number; latencies: number[] }>;
  /** Answered adds per shopper and product: `${userId}:${productId}` → count. */
  adds: Map<string, number>;
  /** Idempotency-Key → the order ids answered for it (the first answer and its retry). */
  orders: Map<string, { userId: number; ids: number[] }>;
  /** X-Request-Id of every answered request. */
  requestIds: string[];
}

export interface LoadOptions {
  concurrency: number;
  /** Stops after this many requests in all … */
  maxRequests: number;
  /** … or after this long … */
  maxMs: number;
  /** … or once this resolves (and at least `minRequests` were made). */
  until?: Promise<unknown>;
  minRequests?: number;
}

const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs the mixed load against `baseUrl` (nginx, or one instance) until a bound is reached. */
export async function runMixedLoad(baseUrl: string, users: LoadUsers, opts: LoadOptions): Promise<LoadResult> {
  if (users.shoppers.length < opts.concurrency || users.buyers.length < opts.concurrency) throw new Error('one shopper and one buyer per worker');
  const client = httpClient({ maxSockets: opts.concurrency * 2 });
  const result: LoadResult = {
    requests: 0,
    seconds: 0,
    failures: [],
    perKind: Object.fromEntries(KINDS.map((k) => [k, { requests: 0, failures: 0, latencies: [] }])) as unknown as LoadResult['perKind'],
    adds: new Map(),
    orders: new Map(),
    requestIds: [],
  };
  let stopped = false;
  let untilReached = false;
  void opts.until?.then(() => {
    untilReached = true;
  });
  const started = performance.now();
  const done = () =>
    stopped || result.requests >= opts.maxRequests || performance.now() - started > opts.maxMs || (untilReached && result.requests >= (opts.minRequests ?? 0));
  const signinsLeft = users.signers.map(() => users.signinsPerSigner);
  let keySeq = 0;
  const run = `${process.pid}-${Date.now().toString(36)}`;

  const call = async (
    kind: Kind,
    method: string,
    path: string,
    expect: number,
    init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => {
    result.requests++;
    const stat = result.perKind[kind];
    stat.requests++;
    try {
      const a = await client.request(baseUrl + path, {
        method,
        body: init.body,
        headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers },
      });
      stat.latencies.push(a.ms);
      if (typeof a.headers['x-request-id'] === 'string') result.requestIds.push(a.headers['x-request-id']);
      if (a.status !== expect) {
        stat.failures++;
        result.failures.push({
          kind,
          method,
          path,
          status: a.status,
          detail: typeof a.body === 'string' ? a.body.slice(0, 200) : JSON.stringify(a.body).slice(0, 200),
        });
        return undefined;
      }
      return a;
    } catch (err) {
      stat.failures++;
      result.failures.push({ kind, method, path, status: 0, detail: (err as Error).message });
      return undefined;
    }
  };

  const browsePaths = () => [
    '/api/products',
    '/api/products?limit=5',
    '/api/products?sort=price',
    '/api/products?sort=-price&limit=10',
    '/api/products?limit=5&offset=5',
    '/api/products?q=watch',
    `/api/products/${pick(users.productIds)}`,
  ];

  const worker = async (w: number) => {
    const shopper = users.shoppers[w];
    const buyer = users.buyers[w];
    while (!done()) {
      const r = Math.random();
      if (r < 0.45) {
        await call('browse', 'GET', pick(browsePaths()), 200);
      } else if (r < 0.75) {
        if (Math.random() < 0.6) {
          const productId = pick(users.productIds);
          const a = await call('cart', 'POST', '/api/cart', 200, { token: shopper.token, body: { product_id: productId, quantity: 1 } });
          if (a) result.adds.set(`${shopper.id}:${productId}`, (result.adds.get(`${shopper.id}:${productId}`) ?? 0) + 1);
        } else {
          await call('cart', 'GET', '/api/cart', 200, { token: shopper.token });
        }
      } else if (r < 0.92) {
        const added = await call('order', 'POST', '/api/cart', 200, { token: buyer.token, body: { product_id: pick(users.productIds), quantity: 1 } });
        if (!added) continue;
        const key = `load-${run}-${w}-${++keySeq}`;
        const entry = { userId: buyer.id, ids: [] as number[] };
        result.orders.set(key, entry);
        const first = await call('order', 'POST', '/api/orders', 201, { token: buyer.token, headers: { 'idempotency-key': key } });
        if (first) entry.ids.push(first.body.id);
        // The client retries as if the first answer had been lost: the same order, not a second.
        const again = await call('order', 'POST', '/api/orders', 200, { token: buyer.token, headers: { 'idempotency-key': key } });
        if (again) entry.ids.push(again.body.id);
      } else {
        const i = signinsLeft.findIndex((n) => n > 0);
        if (i < 0) {
          await call('browse', 'GET', pick(browsePaths()), 200);
          continue;
        }
        signinsLeft[i]--;
        await call('signin', 'POST', '/api/auth/signin', 200, { body: users.signers[i] });
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  } finally {
    stopped = true;
    result.seconds = (performance.now() - started) / 1000;
    client.close();
  }
  return result;
}
