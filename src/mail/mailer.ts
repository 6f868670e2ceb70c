/**
 * Where e-mail goes (docs/data.md, "outbox"): over SMTP (nodemailer, pooled) when SMTP_URL is set;
 * otherwise each message is written as an `.eml` file under MAIL_DIR (DATA_DIR/mail by default),
 * so a fresh `npm start` shows exactly what a customer would get.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Config } from '../config.js';

export interface MailMessage {
  /** The stable Message-ID (with angle brackets): a retried send carries the same one. */
  messageId: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Sends (or writes) one message; resolves with where it went, throws when it did not. */
  send(msg: MailMessage): Promise<string>;
  /** Checks the SMTP server answers and accepts the credentials (the file mailer: the directory). */
  verify(): Promise<string>;
  /** "smtp://host:port" or "files in <dir>" (never the credentials). */
  readonly target: string;
  close(): void;
}

/** SMTP timeouts: a stalled mail server fails the attempt (retried later), never hangs a worker. */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export function createMailer(mail: Config['mail']): Mailer {
  return mail.smtpUrl ? smtpMailer(mail.smtpUrl, mail.from) : fileMailer(mail.dir, mail.from);
}

function smtpMailer(url: string, from: string): Mailer {
  const transport: Transporter = nodemailer.createTransport({ url, pool: true, maxConnections: 3, ...SMTP_TIMEOUTS });
  const u = new URL(url);
  const target = `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}`;
  return {
    target,
    async send(msg) {
      const info = await transport.sendMail({ from, ...msg });
      const refused = (info.rejected as unknown[] | undefined)?.length ?? 0;
      if (refused > 0) throw new Error(`${target} refused the recipient: ${String(info.response ?? '')}`.slice(0, 500));
      return target;
    },
    async verify() {
      await transport.verify();
      return target;
    },
    close: () => transport.close(),
  };
}

function fileMailer(dir: string, from: string): Mailer {
  const transport: Transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    target: `files in ${dir}`,
    async send(msg) {
      const info = await transport.sendMail({ from, ...msg });
      await mkdir(dir, { recursive: true });
      // Named by the Message-ID, so a retried message overwrites its own file rather than adding one;
      // written under a temporary name first, so a reader never sees half a message.
      const name = `${msg.messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@-]/g, '_')}.eml`;
      const file = path.join(dir, name);
      await writeFile(`${file}.tmp`, info.message as Buffer);
      await rename(`${file}.tmp`, file);
      return file;
    },
    async verify() {
      await mkdir(dir, { recursive: true });
      return `files in ${dir}`;
    },
    close: () => transport.close(),
  };
}
