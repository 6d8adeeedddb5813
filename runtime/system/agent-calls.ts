import { headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import {
  agentTaskSchema,
  decodeJson,
  encodeJson,
  NeuroflowError,
  parseSubject,
  shardOf,
  subjects,
  type AgentCallReply,
  type AgentTask,
} from "../protocol/index.js";
import type { AgentActivations } from "./agent-activations.js";
import { TurnSlices } from "./turn-slices.js";

/** How long a call waits for its agent's shard to get an owner before it is refused. */
const HANDOFF_WAIT_MS = 2_000;

/**
 * Calls started per turn of the event loop. A burst of calls read from the socket at once used to
 * be started together, and their replies went out together after the last one had run: the caller
 * and this worker then took turns, each idle while the other worked. Started in slices, the first
 * slice's replies go out (nats.js flushes at the end of the turn) while the rest still wait, and the
 * caller works meanwhile. 32 measured best at 64 calls in flight: 0.52–0.53× raw NATS against
 * 0.42× unsliced, on 2 cores (`npm run bench -- --only throughput`).
 */
const CALLS_PER_TURN = 32;

/** Header carrying the original subject of a call forwarded to the worker hosting the agent. */
export const FORWARDED_SUBJECT = "Nf-Subject";

export interface AgentCallsDeps {
  nc: NatsConnection;
  workerId: string;
  logger: Logger;
  now: () => number;
  activations: AgentActivations;
  /** Whether this worker holds the shard's lease. */
  holds: (shard: number) => boolean;
  /** Whether the shard is being handed over by this worker (its active agents still serve). */
  releasing: (shard: number) => boolean;
  /** The worker holding the shard, as the leases last saw it. */
  owner: (shard: number) => string | undefined;
  /** Whether the worker is stopping: no call starts any more. */
  stopping: () => boolean;
}

/**
 * The agent calls of one worker (see AgentHost): calls from the bus — from the queue group or
 * forwarded by another worker — are started in slices per event-loop turn, checked, and run here
 * when this worker hosts the agent, or forwarded (reply subject unchanged) to the one that does;
 * calls made in this process run here without the bus. Each waits, by execution id, for its
 * task's ending, which the host reports with `answer`.
 */
export class AgentCalls {
  readonly #deps: AgentCallsDeps;
  /** Calls received and not yet started, with their original subject. */
  readonly #incoming = new TurnSlices<[Msg, string]>(([msg, subject]) => this.#onCall(msg, subject), CALLS_PER_TURN);
  /** Calls waiting for their task's outcome, by execution id: where each one's reply goes. */
  readonly #waiting = new Map<string, (reply: AgentCallReply) => void>();

  constructor(deps: AgentCallsDeps) {
    this.#deps = deps;
  }

  /** A call from the bus; `subject` is its original subject (a forwarded call carries it in a header). */
  receive(msg: Msg, subject: string): void {
    this.#incoming.push([msg, subject]);
  }

  /**
   * A call made in this process (a team run asking a member): when this worker hosts the agent
   * now, the task goes to its actor as a call over the bus does once it has arrived, without being
   * encoded, sent, received and decoded, and its reply the same way back. The agent's status events
   * are published as for any call. Returns undefined when the agent's shard is not held here (hosted
   * elsewhere or changing hands) or this worker is stopping: the caller then calls over the bus,
   * which routes the call. `task` is not parsed again: it must be a valid AgentTask.
   */
  callHere(task: AgentTask): Promise<AgentCallReply> | undefined {
    if (this.#deps.stopping() || !this.#deps.holds(shardOf(task.agentId))) return undefined;
    return new Promise((resolve) => {
      const refused = this.#deliver(task, resolve);
      if (refused) resolve({ ok: false, error: refused.toWire() });
    });
  }

  /** Whether a call waits for this execution's outcome. */
  waiting(executionId: string): boolean {
    return this.#waiting.has(executionId);
  }

  /** Replies to the call waiting for this execution, if one does. */
  answer(executionId: string, reply: AgentCallReply): void {
    const answer = this.#waiting.get(executionId);
    if (!answer) return;
    this.#waiting.delete(executionId);
    answer(reply);
  }

  #onCall(msg: Msg, subject: string): void {
    try {
      const target = parseSubject(subject);
      if (target.kind !== "agent.call") throw new NeuroflowError("INVALID_SUBJECT", `not a call subject: ${subject}`);
      const task = decodeJson(agentTaskSchema, msg.data, "agent call");
      if (task.orgId !== target.orgId || task.agentId !== target.agentId) {
        throw new NeuroflowError("INVALID_MESSAGE", "task orgId/agentId do not match its subject");
      }
      if (this.#deps.stopping()) throw new NeuroflowError("UNAVAILABLE", "this worker is stopping; call again", { retryable: true });
      this.#route(msg, subject, task, this.#deps.now() + HANDOFF_WAIT_MS);
    } catch (error) {
      this.#refuse(msg, subject, error);
    }
  }

  /**
   * Runs a call here when this worker hosts the agent — also while its shard is being handed over
   * and the agent is still active here — or forwards it, reply subject unchanged, to the worker
   * that does. While the shard has no owner (a handover between release and take-over, or a dead
   * worker's lease running out) it waits, up to `deadline`, rather than fail the caller.
   */
  #route(msg: Msg, subject: string, task: AgentTask, deadline: number): void {
    const { holds, releasing, activations, owner: ownerOf, workerId, nc, now, stopping } = this.#deps;
    const shard = shardOf(task.agentId);
    const here = holds(shard) || (releasing(shard) && activations.get(task.agentId) !== undefined);
    if (!here) {
      const owner = ownerOf(shard);
      if (owner && owner !== workerId) {
        const headers = natsHeaders();
        headers.set(FORWARDED_SUBJECT, subject);
        nc.publish(subjects.workerForward(owner), msg.data, { headers, ...(msg.reply ? { reply: msg.reply } : {}) });
        return;
      }
      if (now() < deadline && !stopping()) {
        setTimeout(() => this.#route(msg, subject, task, deadline), 50).unref();
        return;
      }
      this.#refuse(msg, subject, new NeuroflowError("UNAVAILABLE", `no worker holds shard ${shard} right now; call again`, { retryable: true }));
      return;
    }
    const refused = this.#deliver(task, msg.reply ? (reply) => msg.respond(encodeJson(reply)) : undefined);
    if (refused) this.#refuse(msg, subject, refused);
  }

  /**
   * Gives a call's task to its agent, hosted here: live, resting (brought back from its snapshot
   * text, no store read) or activated from the store. `answer` gets the reply once the task has
   * ended (or could not start). Returns the error when the agent id belongs to another org here.
   */
  #deliver(task: AgentTask, answer: ((reply: AgentCallReply) => void) | undefined): NeuroflowError | undefined {
    const { activations, now } = this.#deps;
    const hosted = activations.wake(task.agentId);
    if (hosted && hosted.orgId !== task.orgId) return new NeuroflowError("INVALID_MESSAGE", "no such agent in this organization");
    if (answer) this.#waiting.set(task.executionId, answer);
    if (hosted) {
      hosted.lastActiveAt = now();
      hosted.actor.send({ type: "task.received", task });
      return undefined;
    }
    void activations.activate(task.orgId, task.agentId).then(
      (activated) => {
        activated.lastActiveAt = now();
        activated.actor.send({ type: "task.received", task });
      },
      (error: unknown) => this.answer(task.executionId, { ok: false, error: NeuroflowError.toWire(error) }),
    );
    return undefined;
  }

  #refuse(msg: Msg, subject: string, error: unknown): void {
    const wire = NeuroflowError.toWire(error);
    this.#deps.logger.warn({ subject, error: wire }, "rejected a call");
    if (!(error instanceof NeuroflowError)) this.#deps.logger.error({ err: error }, "unexpected error handling a call");
    if (msg.reply) msg.respond(encodeJson({ ok: false, error: wire } satisfies AgentCallReply));
  }
}
