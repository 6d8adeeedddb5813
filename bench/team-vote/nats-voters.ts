import { connectToBus } from "../../common/nats-connect.js";
import { serveVoters } from "./nats-baseline.js";

/**
 * Helper process for the bare-NATS baseline: serves the 7 voters (see `serveVoters`) on its own
 * connection, so the requests and the tally run in one process and the answers in another, as they
 * do between a caller and a runtime worker. Started by bench/team-vote/baselines.ts, not by hand:
 *
 *   NATS_URL=nats://127.0.0.1:4222 NATS_CREDS_FILE=/path/service.creds VOTE_ORG_ID=<uuid> tsx bench/team-vote/nats-voters.ts
 *
 * Prints `ready` on stdout once subscribed; exits when its stdin closes (the parent is gone) or on
 * SIGTERM/SIGINT. Exits 1 when a variable is missing or the connection fails.
 */
const servers = process.env.NATS_URL;
const orgId = process.env.VOTE_ORG_ID;
if (!servers || !orgId) {
  console.error("nats-voters: NATS_URL and VOTE_ORG_ID are required");
  process.exit(1);
}
const nc = await connectToBus({ servers, name: "bench-voters", credsFile: process.env.NATS_CREDS_FILE || undefined });
const voters = serveVoters(nc, orgId);
await nc.flush();
process.stdout.write("ready\n");

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  voters.stop();
  await nc.close();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
