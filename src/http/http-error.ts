/**
 * Errors only HTTP can have: a method the path does not take, a body too large or not JSON, too
 * many attempts. The domain (src/errors.ts) knows nothing of them; the error handler answers
 * them with the same JSON error body as domain errors (docs/api.md, Conventions), and their
 * statuses sit in the one table in status.ts.
 */
export type HttpErrorCode = 'METHOD_NOT_ALLOWED' | 'PAYLOAD_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE' | 'RATE_LIMITED';

export class HttpError extends Error {
  readonly code: HttpErrorCode;
  readonly details?: undefined;

  constructor(code: HttpErrorCode, message: string) {
    super(message);
    this.name = 'HttpError';
    this.code = code;
  }
}

export function isHttpError(err: unknown): err is HttpError {
  return err instanceof HttpError;
}
