import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * JSON lines on stdout (or `destination`, e.g. a stream a test reads). Anything that looks like a
 * secret is redacted, wherever it appears.
 *
 * Stdout is written asynchronously (pino's SonicBoom destination with `sync: false`): a log call
 * appends to a buffer and returns; the buffer is written by the event loop. The server flushes it
 * when it stops (`flushLogger`), and pino flushes it synchronously on process exit; a crash of the
 * machine itself can lose the last lines.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: undefined,
    redact: {
      paths: [
        'password',
        '*.password',
        'token',
        '*.token',
        'authorization',
        '*.authorization',
        'cookie',
        '*.cookie',
        '*.headers.cookie',
        '*.headers.authorization',
      ],
      censor: '[redacted]',
    },
  };
  return pino(options, destination ?? pino.destination({ dest: 1, sync: false }));
}

/** Writes out whatever the logger still buffers (the asynchronous stdout destination); never throws. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve());
    } catch {
      resolve();
    }
  });
}
