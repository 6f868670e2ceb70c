/**
 * Delivers the outbox's webhook rows (docs/api.md, "Outgoing webhooks"): one signed POST of the
 * queued body to the endpoint's URL, redirects not followed, within `timeoutMs`. A 2xx answer is
 * delivered; any other answer, a timeout or a refused connection throws, and the worker retries
 * with backoff. Each attempt writes one `webhook_deliveries` row (after the request, outside the
 * claim's transaction). A removed endpoint is not called: its rows go dead at once.
 */
import type { Db } from '../db/connection.js';
import type { WebhookPayload } from '../outbox/outbox.schemas.js';
import { type Deliverer, UndeliverableError } from '../outbox/worker.js';
import { VERSION } from '../version.js';
import { signatureHeader } from './webhook-event.js';
import { webhooksRepository as repo } from './webhooks.repository.js';

/** Why a request got no answer, in a line: a timeout, a refused connection, a DNS failure. */
function noAnswer(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = e?.cause;
  if (cause?.code) return `${cause.message ?? 'request failed'} (${cause.code})`;
  return cause?.message ?? e?.message ?? String(err);
}

export function webhookDeliverer(db: Db, opts: { timeoutMs: number }): Deliverer {
  return async (msg) => {
    const p = msg.payload as WebhookPayload;
    const endpoint = msg.endpoint_id === null ? undefined : await repo.findById(db, msg.endpoint_id);
    const base = { endpointId: msg.endpoint_id ?? 0, outboxId: msg.id, event: p.event, attempt: msg.attempts };
    if (!endpoint || endpoint.removed_at) {
      const error = `endpoint ${msg.endpoint_id} was removed: not sent`;
      if (endpoint) await repo.insertDelivery(db, { ...base, statusCode: null, ok: false, error, durationMs: 0 });
      throw new UndeliverableError(error);
    }
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': `Watchstore-Webhooks/${VERSION}`,
          'watchstore-event': p.event,
          'watchstore-delivery': msg.message_key,
          'watchstore-signature': signatureHeader(endpoint.secret, p.body),
        },
        body: p.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      statusCode = res.status;
      // The answer's body is not read: only its status counts.
      await res.body?.cancel().catch(() => {});
      if (statusCode < 200 || statusCode > 299)
        error = statusCode >= 300 && statusCode < 400 ? `HTTP ${statusCode} (redirects are not followed)` : `HTTP ${statusCode}`;
    } catch (err) {
      error = noAnswer(err, opts.timeoutMs);
    }
    const durationMs = Math.round(performance.now() - started);
    await repo.insertDelivery(db, { ...base, statusCode, ok: error === null, error, durationMs });
    if (error !== null) throw new Error(`webhook to ${new URL(endpoint.url).host}: ${error}`);
  };
}
