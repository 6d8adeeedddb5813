import type { ErrorCode } from "../../runtime/protocol/index.js";

/** The one table from error code to HTTP status. */
export const httpStatusOf: Record<ErrorCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_SUBJECT: 400,
  INVALID_MESSAGE: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  CANCELLED: 409,
  PROVIDER_ERROR: 502,
  INTERNAL: 500,
};
