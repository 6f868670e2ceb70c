/**
 * A real SMTP server inside the test process (the `smtp-server` package) that the app's real
 * nodemailer transport talks to; `mailparser` reads what arrived. `failNext(n)` answers the next
 * n messages with a temporary failure (451), `stop()`/`start()` take the server away and back on
 * the same port, as a mail server that goes down and returns.
 */
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  envelopeTo: string[];
  parsed: ParsedMail;
  messageId: string | undefined;
  subject: string | undefined;
  text: string;
  html: string;
}

export interface TestSmtp {
  url: string;
  port: number;
  received: ReceivedMail[];
  /** Rejects the next `n` messages with 451 (a temporary failure: the sender retries). */
  failNext(n: number): void;
  /** Resolves once at least `n` messages have arrived (rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startSmtp(opts: { port?: number } = {}): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  let failing = 0;
  let waiters: { n: number; resolve: () => void }[] = [];
  let port = opts.port ?? 0;

  const make = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', async () => {
          if (failing > 0) {
            failing--;
            const err = Object.assign(new Error('try again later'), { responseCode: 451 });
            callback(err);
            return;
          }
          try {
            const parsed = await simpleParser(Buffer.concat(chunks));
            received.push({
              envelopeTo: session.envelope.rcptTo.map((r) => r.address),
              parsed,
              messageId: parsed.messageId,
              subject: parsed.subject,
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
            });
            callback();
          } catch (err) {
            callback(err as Error);
          }
          waiters = waiters.filter((w) => {
            if (received.length >= w.n) w.resolve();
            return received.length < w.n;
          });
        });
      },
    });

  let server = make();
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        port = (server.server.address() as AddressInfo).port;
        resolve();
      });
    });
  await listen();

  return {
    get url() {
      return `smtp://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    received,
    failNext(n) {
      failing = n;
    },
    waitFor(n, timeoutMs = 20_000) {
      if (received.length >= n) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${n} messages arrived within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve(received);
          },
        });
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async start() {
      server = make();
      await listen();
    },
  };
}
