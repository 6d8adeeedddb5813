import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { decodeJson, encodeJson, subjects, teamRunReplySchema, type TeamRunRequest } from "../../runtime/protocol/index.js";
import { measureRounds, OPTIONS, VOTER_COUNT, type MeasureOptions, type RoundStats } from "./common.js";

/** A standing team of the runtime column: its id and its 7 members (agents with simulated models). */
export interface StandingTeam {
  teamId: string;
  members: TeamRunRequest["members"];
}

/** A new team of 7 voters, each a fresh agent (simulated model, 0 latency, seeded by its index). */
export function newStandingTeam(): StandingTeam {
  return {
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
  };
}

/** The team.run request of one round: a 7-member DEMOCRATIC vote (majority, no debate) on a yes/no question. */
export function voteRequest(orgId: string, team: StandingTeam, roundId: string, executionId: string = randomUUID()): TeamRunRequest {
  return {
    type: "team.run",
    orgId,
    teamId: team.teamId,
    executionId,
    task: { prompt: `Round ${roundId}: is the answer yes?`, answerKey: { options: [...OPTIONS], correct: "yes" } },
    members: team.members,
    coordination: {
      structure: "DEMOCRATIC",
      coordination: { rule: { kind: "majority", quorum: 0, tieBreak: "random", abstentionsCount: false }, debateRounds: 0, memberTimeoutMs: 30_000 },
    },
    seed: 1,
  };
}

/**
 * Measures `vote` over standing teams, one per lane (`inFlight`, default 64): a round borrows a free
 * team, so the rounds in flight are that many teams voting (an agent works one task at a time, as a
 * person would: the same 7 agents in every round would serialise the rounds on their mailboxes).
 * Before the warm-up each team is set up with `setUp` and votes once, so every agent is active on
 * its worker when the measuring starts — as the LangGraph graph is compiled and the bare-NATS
 * responders are subscribed before theirs. Rejects with the first round's error.
 */
export async function measureStandingTeams(
  vote: (team: StandingTeam, roundId: string) => Promise<void>,
  options: MeasureOptions & { setUp?: (team: StandingTeam) => Promise<void> },
): Promise<RoundStats> {
  const free: StandingTeam[] = [];
  let sequence = 0;
  await Promise.all(
    Array.from({ length: options.inFlight ?? 64 }, async () => {
      const team = newStandingTeam();
      await options.setUp?.(team);
      await vote(team, `warm-${++sequence}`);
      free.push(team);
    }),
  );
  return measureRounds(async (roundId) => {
    const team = free.pop();
    if (team === undefined) throw new Error("more rounds in flight than standing teams");
    try {
      await vote(team, roundId);
    } finally {
      free.push(team);
    }
  }, options);
}

/** Throws unless a run's log holds a tally of all 7 ballots, none abstaining. */
export function expectSevenBallots(roundId: string, log: ReadonlyArray<{ event: { type: string; abstained?: boolean } }>): void {
  const ballots = log.filter((entry) => entry.event.type === "team.ballot" && entry.event.abstained === false).length;
  if (ballots !== VOTER_COUNT || !log.some((entry) => entry.event.type === "team.tally")) {
    throw new Error(`round ${roundId}: expected a tally of ${VOTER_COUNT} ballots, the log has ${ballots}`);
  }
}

/**
 * The runtime column without persistence: one 7-agent DEMOCRATIC vote round per `team.run` request
 * sent straight to the runtime pool. The worker that takes it runs the team actor, which asks each
 * member over `nf.<org>.agent.<id>.call` — real agent actors (mailbox, memory, simulated model at 0
 * latency) on the workers hosting their shards — then tallies with the voting library and replies
 * with the outcome; every coordination step's log entries (answers, ballots, tally, decision) are
 * published together as one team.exec.events message, which nobody stores here. A round counts only when the team COMPLETED with all 7
 * ballots counted.
 */
export async function measureRuntime(nc: NatsConnection, orgId: string, options: MeasureOptions): Promise<RoundStats> {
  return measureStandingTeams(async (team, roundId) => {
    const request = voteRequest(orgId, team, roundId);
    const reply = decodeJson(
      teamRunReplySchema,
      (await nc.request(subjects.teamExecRun(orgId, team.teamId, request.executionId), encodeJson(request), { timeout: 30_000 })).data,
      "team run reply",
    );
    if (!reply.ok) throw new Error(`round ${roundId}: ${reply.error.code} ${reply.error.message}`);
    if (reply.output.status !== "COMPLETED") throw new Error(`round ${roundId}: ${reply.output.status} ${reply.output.error?.message ?? ""}`);
    expectSevenBallots(roundId, reply.output.log);
  }, options);
}
