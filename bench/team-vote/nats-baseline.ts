import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { decodeJson, encodeJson, subjects } from "../../runtime/protocol/index.js";
import { VOTER_IDS, ballotFor, countRound, measureRounds, type MeasureOptions, type RoundStats } from "./common.js";

/**
 * Baseline (b) of the team-vote benchmark: bare NATS, no runtime. 7 responders — core NATS
 * subscriptions, one per voter, on the subjects a team actor calls its members on
 * (`nf.<org>.agent.<voter>.call`, see runtime/messaging/agent-client.ts) — answer a round's request
 * with their ballot at once; a round is 7 parallel `nc.request`s and a tally of the replies with the
 * project's voting library. No actors, no persistence, no JetStream.
 */

/** The 7 voters' request subjects in organization `orgId`, in voter order. */
export function voterSubjects(orgId: string): string[] {
  return VOTER_IDS.map((voterId) => subjects.agentCall(orgId, voterId));
}

const voteRequestSchema = z.object({ roundId: z.string().min(1) });

/** Running voter responders; `stop()` unsubscribes them. */
export interface VoterResponders {
  stop(): void;
}

/**
 * Subscribes the 7 voters on `nc` for organization `orgId`: each answers `{ roundId }` with its ballot
 * for that round. A request it cannot read is logged to stderr and left unanswered (the requester
 * times out). Call `nc.flush()` before relying on them.
 */
export function serveVoters(nc: NatsConnection, orgId: string): VoterResponders {
  const subscriptions = voterSubjects(orgId).map((subject, index) =>
    nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return;
        try {
          const { roundId } = decodeJson(voteRequestSchema, msg.data, "vote request");
          msg.respond(encodeJson(ballotFor(roundId, index)));
        } catch (cause) {
          console.error(`voter ${index}: ${String(cause)}`);
        }
      },
    }),
  );
  return { stop: () => subscriptions.forEach((subscription) => subscription.unsubscribe()) };
}

/** Options of {@link measureBareNats}. */
export interface BareNatsOptions extends MeasureOptions {
  /**
   * Where the voters answer. A connection: they are subscribed on it in this process (default: `nc`
   * itself) and unsubscribed at the end. `"external"`: someone else already serves them for `orgId`
   * (e.g. a helper process running bench/team-vote/nats-voters.ts).
   */
  responders?: NatsConnection | "external";
  /** The organization in the subjects; required with external responders. Default: a random UUID. */
  orgId?: string;
  /** Per-request timeout. Default 5 s. */
  timeoutMs?: number;
}

/**
 * Measures vote rounds per second over bare NATS request/reply with `inFlight` (default 64) rounds in
 * flight, after a warm-up. Rejects when a request times out (or finds no responders) or a round ends
 * without a winner from all 7 ballots; throws at once for external responders without an `orgId`.
 */
export async function measureBareNats(nc: NatsConnection, options: BareNatsOptions = {}): Promise<RoundStats> {
  const responders = options.responders ?? nc;
  if (responders === "external" && options.orgId === undefined) throw new Error("external responders need the orgId they serve");
  const orgId = options.orgId ?? randomUUID();
  const timeout = options.timeoutMs ?? 5_000;
  const targets = voterSubjects(orgId);
  const served = responders === "external" ? undefined : serveVoters(responders, orgId);
  try {
    if (responders !== "external") await responders.flush();
    return await measureRounds(async (roundId) => {
      const request = encodeJson({ roundId });
      const replies = await Promise.all(targets.map((subject) => nc.request(subject, request, { timeout })));
      countRound(
        roundId,
        replies.map((reply): unknown => reply.json()),
      );
    }, options);
  } finally {
    served?.stop();
  }
}
