import { z } from "zod";

/**
 * Every error code that crosses a process boundary. Callers compare `code` after a crossing, never
 * `instanceof`. The HTTP status and WebSocket close code for each live in one table each
 * (control-plane/http/error-table.ts, control-plane/ws/close-codes.ts).
 */
export const errorCodes = [
  "VALIDATION_FAILED",
  "INVALID_SUBJECT",
  "INVALID_MESSAGE",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFLICT",
  "PAYLOAD_TOO_LARGE",
  "UNAVAILABLE",
  "TIMEOUT",
  /** The task was cancelled on request (a terminal outcome, not a fault). */
  "CANCELLED",
  "PROVIDER_ERROR",
  "INTERNAL",
] as const;
export const errorCodeSchema = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** The wire form of an error: what a NATS reply, a status event or a WS frame carries. */
export const wireErrorSchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  retryable: z.boolean(),
});
export type WireError = z.infer<typeof wireErrorSchema>;

/** A typed error with a stable `code`; `details` carries structured context (e.g. zod issues). */
export class NeuroflowError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; retryable?: boolean; details?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "NeuroflowError";
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }

  static fromWire(wire: WireError): NeuroflowError {
    return new NeuroflowError(wire.code, wire.message, { retryable: wire.retryable });
  }

  /** Any thrown value as a wire error; unknown errors become INTERNAL without leaking their text. */
  static toWire(error: unknown): WireError {
    if (error instanceof NeuroflowError) return error.toWire();
    return { code: "INTERNAL", message: "internal error", retryable: false };
  }
}
