import { RequestError, TimeoutError, type NatsConnection } from "@nats-io/transport-node";
import { cancelReplySchema, decodeJson, encodeJson, NeuroflowError } from "../../runtime/protocol/index.js";

/** Whether a request failed only because nobody answered (timeout, or no subscriber at all). */
function unanswered(error: unknown): boolean {
  return error instanceof TimeoutError || (error instanceof RequestError && error.isNoResponders());
}

/**
 * Asks the runtime worker holding a piece of work (an agent task, a team run) to cancel it. Every
 * worker hears the request and only the holder answers, so silence within `timeoutMs` means no
 * worker holds it: resolves true when the holder took the cancel, false on silence. Rejects with the
 * worker's typed error when the request was refused, UNAVAILABLE when NATS fails otherwise.
 */
export async function askHolderToCancel(nc: NatsConnection, subject: string, request: unknown, timeoutMs: number): Promise<boolean> {
  try {
    const reply = await nc.request(subject, encodeJson(request), { timeout: timeoutMs });
    const answer = decodeJson(cancelReplySchema, reply.data, "cancel reply");
    if (!answer.ok) throw NeuroflowError.fromWire(answer.error);
    return answer.found;
  } catch (cause) {
    if (cause instanceof NeuroflowError) throw cause;
    if (unanswered(cause)) return false;
    throw new NeuroflowError("UNAVAILABLE", "could not reach the runtime workers", { cause, retryable: true });
  }
}
