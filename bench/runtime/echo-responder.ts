import { connectToBus } from "../../common/nats-connect.js";
import { ECHO_SUBJECTS } from "./calls.js";

/**
 * The raw NATS column's responder, in a process of its own like a runtime worker: answers every
 * request on `nf.*.agent.*.echo` (queue group, as workers take `…call`) with the request's bytes.
 * Started by bench/run.ts over IPC, not by hand:
 *
 *   NATS_URL=… NATS_CREDS=… tsx bench/runtime/echo-responder.ts
 *
 * Sends `{ type: "ready" }` once subscribed; exits on SIGTERM/SIGINT or when the IPC channel closes.
 */


const servers = process.env.NATS_URL;
if (!servers || !process.send) {
  console.error("echo-responder: NATS_URL and an IPC channel are required");
  process.exit(1);
}
const nc = await connectToBus({ servers, name: "bench-echo", credsFile: process.env.NATS_CREDS || undefined });
nc.subscribe(ECHO_SUBJECTS, { queue: "bench-echo", callback: (error, msg) => void (error ? undefined : msg.respond(msg.data)) });
await nc.flush();
process.send({ type: "ready" });

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await nc.close();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
process.once("disconnect", () => void stop());
