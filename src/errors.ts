/**
 * Domain errors. They carry a stable code and a kind, never an HTTP status:
 * the HTTP layer maps codes to statuses in one place, the CLI maps kinds to exit codes.
 */
export type ErrorKind =
  | 'invalid' // bad input or usage: HTTP 400-ish, CLI exit 2
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'unavailable' // a dependency (database, payments) is not there
  | 'upstream'; // a dependency answered with an error

export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'INVALID_JSON'
  | 'EMPTY_CART'
  | 'UNAUTHENTICATED'
  | 'INVALID_CREDENTIALS'
  | 'TOKEN_REUSED'
  | 'INVALID_TOKEN'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'USERNAME_TAKEN'
  | 'EMAIL_TAKEN'
  | 'OUT_OF_STOCK'
  | 'ORDER_NOT_PAYABLE'
  | 'INVALID_TRANSITION'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'CONFLICT'
  | 'PAYMENT_PROVIDER_ERROR'
  | 'PAYMENTS_UNAVAILABLE'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL';

const KIND_OF: Record<ErrorCode, ErrorKind> = {
  VALIDATION_FAILED: 'invalid',
  INVALID_JSON: 'invalid',
  EMPTY_CART: 'invalid',
  UNAUTHENTICATED: 'unauthenticated',
  INVALID_CREDENTIALS: 'unauthenticated',
  TOKEN_REUSED: 'unauthenticated',
  INVALID_TOKEN: 'invalid',
  FORBIDDEN: 'forbidden',
  NOT_FOUND: 'not_found',
  USERNAME_TAKEN: 'conflict',
  EMAIL_TAKEN: 'conflict',
  OUT_OF_STOCK: 'conflict',
  ORDER_NOT_PAYABLE: 'conflict',
  INVALID_TRANSITION: 'conflict',
  IDEMPOTENCY_KEY_REUSED: 'conflict',
  CONFLICT: 'conflict',
  PAYMENT_PROVIDER_ERROR: 'upstream',
  PAYMENTS_UNAVAILABLE: 'unavailable',
  SERVICE_UNAVAILABLE: 'unavailable',
  INTERNAL: 'upstream',
};

export interface ErrorDetail {
  path?: string;
  message?: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly details?: ErrorDetail[];

  constructor(code: ErrorCode, message: string, details?: ErrorDetail[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.kind = KIND_OF[code];
    if (details !== undefined) this.details = details;
  }
}

export const validationError = (message: string, details?: ErrorDetail[]) => new AppError('VALIDATION_FAILED', message, details);

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found.`);

/** A signed-in user's write failed because the account was removed since the token was issued. */
export const accountRemoved = (cause?: unknown) => new AppError('UNAUTHENTICATED', 'This account no longer exists. Sign in to continue.', undefined, { cause });

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
