import type { ErrorCode } from '../errors.js';
import type { HttpErrorCode } from './http-error.js';

/** The one table from error codes (the domain's and HTTP's own) to HTTP statuses (docs/api.md, Conventions). */
export const STATUS_OF: Record<ErrorCode | HttpErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  EMPTY_CART: 400,
  INVALID_TOKEN: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_REUSED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  USERNAME_TAKEN: 409,
  EMAIL_TAKEN: 409,
  OUT_OF_STOCK: 409,
  ORDER_NOT_PAYABLE: 409,
  INVALID_TRANSITION: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  PAYMENT_PROVIDER_ERROR: 502,
  PAYMENTS_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
};
