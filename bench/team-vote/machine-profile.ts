import { randomUUID } from "node:crypto";
import { createActor, toPromise } from "xstate";
import { askMemberActor, teamMachineFor, type AskMember, type TeamRunInput } from "../../runtime/machines/team.js";
import { teamCoordinationSchema } from "../../runtime/protocol/index.js";
import { OPTIONS, VOTER_COUNT, voterChoice } from "./common.js";

/**
 * The pure team machine alone, in process: `--rounds` 7-member DEMOCRATIC rounds (majority, no
 * debate, the same coordination the runtime column sends) with an `askMember` that answers at once,
 * `--in-flight` at a time, and the CPU each round cost (process user+system time ÷ rounds). No NATS,
 * no agents: what the team actor itself costs a worker per round. Run it under `node --cpu-prof` to
 * see where that goes:
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir /tmp/team-prof bench/team-vote/machine-profile.ts --rounds 20000
 *
 * Prints one JSON line: rounds, wall seconds, rounds/s, CPU µs per round.
 */
const flags = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) flags.set(process.argv[i]!.replace(/^--/, ""), process.argv[i + 1] ?? "");
const rounds = Number(flags.get("rounds") ?? 10_000);
const inFlight = Number(flags.get("in-flight") ?? 64);
const warmup = Number(flags.get("warmup") ?? 2_000);

const members = Array.from({ length: VOTER_COUNT }, (_, index) => ({
  agentId: randomUUID(),
  name: `voter-${index}`,
  role: "WORKER" as const,
  priority: 0,
  capabilities: [],
}));
const indexOf = new Map<string, number>(members.map((member, index) => [member.agentId, index]));
const coordination = teamCoordinationSchema.parse({
  structure: "DEMOCRATIC",
  coordination: { rule: { kind: "majority", quorum: 0, tieBreak: "random", abstentionsCount: false }, debateRounds: 0, memberTimeoutMs: 30_000 },
});

let sequence = 0;
const ask: AskMember = async (input) => {
  const roundId = input.prompt.slice(0, input.prompt.indexOf(":"));
  return {
    text: `Answer: ${voterChoice(roundId, indexOf.get(input.agentId) ?? 0)}`,
    usage: { promptTokens: 10, completionTokens: 4 },
    costMicroUsd: 3,
    durationMs: 0,
  };
};
const machine = teamMachineFor("DEMOCRATIC").provide({ actors: { askMember: askMemberActor(ask) } });

async function round(): Promise<void> {
  const id = ++sequence;
  const input: TeamRunInput = {
    orgId: "00000000-0000-4000-8000-000000000001",
    teamId: "00000000-0000-4000-8000-000000000002",
    executionId: randomUUID(),
    task: { prompt: `r${id}: is the answer yes?`, answerKey: { options: [...OPTIONS], correct: "yes" } },
    members,
    coordination,
    seed: 1,
  };
  const output = await toPromise(createActor(machine, { input }).start());
  if (output.status !== "COMPLETED") throw new Error(`round r${id}: ${output.status} ${output.error?.message ?? ""}`);
}

async function run(count: number): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (started < count) {
        started++;
        await round();
      }
    }),
  );
}

await run(warmup);
const cpu = process.cpuUsage();
const begin = process.hrtime.bigint();
await run(rounds);
const wallSeconds = Number(process.hrtime.bigint() - begin) / 1e9;
const used = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    rounds,
    inFlight,
    wallSeconds: +wallSeconds.toFixed(3),
    roundsPerSec: Math.round(rounds / wallSeconds),
    cpuMicrosPerRound: Math.round((used.user + used.system) / rounds),
  }),
);
