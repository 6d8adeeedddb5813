import type { z } from "zod";
import { NeuroflowError } from "./errors.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A message as bytes on the wire (UTF-8 JSON). */
export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/**
 * Decodes and validates a message. Throws INVALID_MESSAGE (with the zod issues as `details`) when
 * the bytes are not UTF-8 JSON or do not match the schema.
 */
export function decodeJson<S extends z.ZodType>(schema: S, bytes: Uint8Array, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new NeuroflowError("INVALID_MESSAGE", `${what} is not valid UTF-8 JSON`, { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const summary = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ");
    throw new NeuroflowError("INVALID_MESSAGE", `${what} is invalid: ${summary}`, { details: parsed.error.issues });
  }
  return parsed.data;
}
