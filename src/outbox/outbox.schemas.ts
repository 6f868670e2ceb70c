/** The outbox's messages (docs/data.md, "outbox"). */
import { z } from 'zod';
import { CLI_PAGE_MAX, limitSchema } from '../schemas.js';

export const OUTBOX_STATUSES = ['pending', 'sent', 'dead'] as const;
export type OutboxStatus = (typeof OUTBOX_STATUSES)[number];

export type OutboxKind = 'email' | 'webhook';

/**
 * An e-mail: the recipient, the template, and the facts it shows as they were in the transaction
 * that caused it (an order's lines, totals, address, tracking). The worker renders it with the
 * shop's settings (mail/templates), the same text on every attempt.
 */
export interface EmailPayload {
  to: string;
  template: string;
  data: Record<string, unknown>;
  /**
   * Names of `data` fields that are secrets (a password-reset token): kept only until the message
   * is sent, then removed from the stored payload (`payloadAfterSending`).
   */
  secret?: string[];
}

/** An outgoing webhook's body (JSON text, signed at delivery) for one endpoint. */
export interface WebhookPayload {
  event: string;
  body: string;
}

/** What a caller queues: one message, in the caller's transaction. */
export type NewOutboxMessage =
  | { kind: 'email'; topic: string; key: string; payload: EmailPayload }
  | { kind: 'webhook'; topic: string; key: string; endpointId: number; url: string; payload: WebhookPayload };

export interface OutboxMessage {
  id: number;
  kind: OutboxKind;
  topic: string;
  message_key: string;
  recipient: string;
  endpoint_id: number | null;
  /** Null when the stored text is not a JSON object: the worker marks such a message dead. */
  payload: EmailPayload | WebhookPayload | null;
  status: OutboxStatus;
  attempts: number;
  available_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

/** `outbox list`'s filter: a status, and how many rows (newest first). */
export const outboxListSchema = z.object({
  status: z.enum(OUTBOX_STATUSES, { message: `must be ${OUTBOX_STATUSES.join(', ').replace(/, (?=[^,]*$)/, ' or ')}` }).optional(),
  limit: limitSchema(CLI_PAGE_MAX, 50),
});
