/** The transports the outbox worker hands each kind of message to (docs/data.md, "outbox"). */
import type { Config } from '../config.js';
import type { Db } from '../db/connection.js';
import { emailDeliverer } from '../mail/deliver.js';
import { createMailer, type Mailer } from '../mail/mailer.js';
import { webhookDeliverer } from '../webhooks/deliver.js';
import type { Deliverers } from './worker.js';

export interface Transports {
  deliverers: Deliverers;
  mailer: Mailer;
  close(): void;
}

export function createTransports(config: Config, db: Db): Transports {
  const mailer = createMailer(config.mail);
  return {
    mailer,
    deliverers: {
      email: emailDeliverer(mailer, { storeName: config.storeName, storeUrl: config.storeUrl, from: config.mail.from }),
      webhook: webhookDeliverer(db, { timeoutMs: config.webhookTimeoutMs }),
    },
    close: () => mailer.close(),
  };
}
