import { createLogger } from "../../common/logger.js";
import { connectToBus } from "../../common/nats-connect.js";
import { agentTaskSchema, decodeJson, encodeJson, subjects, type AgentCallReply } from "../../runtime/protocol/index.js";
import { TeamHost } from "../../runtime/system/team-host.js";
import { VOTER_IDS, voterChoice } from "./common.js";

/**
 * Helper process of bench/team-vote/runtime-probe.ts `--members stub`: the team side of a worker
 * alone, to measure what a vote round costs besides its agents. `TEAM_SIDE_ROLE=team-host` runs a
 * TeamHost (runtime/system/team-host.ts, as runtime/main.ts starts it) and nothing else;
 * `TEAM_SIDE_ROLE=members` answers every agent call at once, like the bare-NATS voters: a COMPLETED
 * execution whose output names the option voter `voter-<i>` (the member's name) picks for the
 * round named at the start of the prompt.
 *
 *   NATS_URL=… NATS_CREDS=… TEAM_SIDE_ROLE=team-host|members tsx bench/team-vote/team-side-child.ts
 *
 * Prints `ready` once subscribed; exits on SIGTERM/SIGINT or when stdin closes.
 */
const servers = process.env.NATS_URL;
const role = process.env.TEAM_SIDE_ROLE;
if (!servers || (role !== "team-host" && role !== "members")) {
  console.error("team-side-child: NATS_URL and TEAM_SIDE_ROLE=team-host|members are required");
  process.exit(1);
}
const credsFile = process.env.NATS_CREDS || undefined;
const nc = await connectToBus({ servers, name: `bench-${role}`, credsFile });
let stop: () => Promise<void>;
if (role === "team-host") {
  const host = new TeamHost({ nc, workerId: "bench-team-host", logger: createLogger("runtime").child({ workerId: "bench-team-host" }) });
  await host.start();
  stop = () => host.stop(1_000);
} else {
  const workerId = "bench-stub-members";
  const subscription = nc.subscribe(subjects.anyAgentCall, {
    queue: "nf-runtime",
    callback: (error, msg) => {
      if (error) return;
      const task = decodeJson(agentTaskSchema, msg.data, "agent task");
      const roundId = task.prompt.slice("Round ".length, task.prompt.indexOf(":"));
      const index = VOTER_IDS.indexOf(task.agent.name);
      const at = new Date().toISOString();
      const reply: AgentCallReply = {
        ok: true,
        workerId,
        execution: {
          executionId: task.executionId,
          status: "COMPLETED",
          startedAt: at,
          completedAt: at,
          durationMs: 0,
          output: `Answer: ${voterChoice(roundId, Math.max(0, index))}`,
          usage: { promptTokens: 10, completionTokens: 4 },
          costMicroUsd: 0,
          attempt: 1,
        },
      };
      msg.respond(encodeJson(reply));
    },
  });
  stop = async () => subscription.unsubscribe();
}
await nc.flush();
process.stdout.write("ready\n");

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await stop();
  await nc.drain();
  process.exit(0);
};
process.once("SIGTERM", () => void shutdown());
process.once("SIGINT", () => void shutdown());
process.stdin.on("end", () => void shutdown());
process.stdin.resume();
