import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeJson, encodeJson, subjects, teamRunReplySchema, type TeamRunRequest } from "../../runtime/protocol/index.js";
import { measureRounds, OPTIONS, VOTER_COUNT, type MeasureOptions, type RoundStats } from "./common.js";

/**
 * The runtime column: one 7-agent DEMOCRATIC vote round per `team.run` request to the runtime pool.
 * The worker that takes it runs the team actor, which asks each member over
 * `nf.<org>.agent.<id>.call` — real agent actors (mailbox, memory, simulated model at 0 latency) on
 * the workers hosting their shards — then tallies with the voting library and replies with the
 * outcome; every coordination step (answers, ballot, tally, decision) is published as a team event.
 * A round counts only when the team COMPLETED with all 7 ballots counted.
 */
export async function measureRuntime(nc: NatsConnection, orgId: string, options: MeasureOptions): Promise<RoundStats> {
  // Standing teams of 7 warm agents each; a round borrows a free team, so the 64 rounds in flight are
  // 64 teams voting (an agent works one task at a time, as a person would: the same 7 agents in every
  // round would serialise the rounds on their mailboxes).
  const free: Array<{ teamId: string; members: TeamRunRequest["members"] }> = [];
  const newTeam = () => ({
    teamId: randomUUID(),
    members: Array.from({ length: VOTER_COUNT }, (_, index) => ({
      agentId: randomUUID(),
      name: `voter-${index}`,
      role: "WORKER" as const,
      priority: 0,
      capabilities: [],
      profile: {
        name: `voter-${index}`,
        personality: {},
        modelConfig: { provider: "simulated" as const, model: "sim-1", simulated: { latencyMs: 0, seed: index + 1, accuracy: 0.7 } },
        capabilities: [],
      },
    })),
  });
  const round = async (roundId: string): Promise<void> => {
    const team = free.pop() ?? newTeam();
    const { teamId, members } = team;
    const executionId = randomUUID();
    const request: TeamRunRequest = {
      type: "team.run",
      orgId,
      teamId,
      executionId,
      task: { prompt: `Round ${roundId}: is the answer yes?`, answerKey: { options: [...OPTIONS], correct: "yes" } },
      members,
      coordination: {
        structure: "DEMOCRATIC",
        coordination: { rule: { kind: "majority", quorum: 0, tieBreak: "random", abstentionsCount: false }, debateRounds: 0, memberTimeoutMs: 30_000 },
      },
      seed: 1,
    };
    const reply = decodeJson(
      teamRunReplySchema,
      (await nc.request(subjects.teamExecRun(orgId, teamId, executionId), encodeJson(request), { timeout: 30_000 })).data,
      "team run reply",
    );
    if (!reply.ok) throw new Error(`round ${roundId}: ${reply.error.code} ${reply.error.message}`);
    if (reply.output.status !== "COMPLETED") throw new Error(`round ${roundId}: ${reply.output.status} ${reply.output.error?.message ?? ""}`);
    const tallied = reply.output.log.find((entry) => entry.event.type === "team.tally");
    if (!tallied) throw new Error(`round ${roundId}: no tally in the log`);
    free.push(team);
  };
  return measureRounds(round, options);
}
