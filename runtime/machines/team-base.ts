import { assign, enqueueActions, fromCallback, type AnyActorRef, type CallbackActorLogic, type EventObject } from "xstate";
import { NeuroflowError } from "../protocol/index.js";
import {
  askResultOf,
  batchSettled,
  cancelledRun,
  finishRun,
  invalidTeam,
  settleAsks,
  type AskSettlement,
  type OpenAsk,
  type TeamRunContext,
} from "../teams/team-run.js";
import type { AskMember, MemberAnswer, TeamCancelEvent } from "./team.js";

/**
 * What the four team machines share: the `askMember` child that runs one batch of member asks,
 * the events a team machine takes, and the actions, guards and states every structure has — start
 * (or fail an invalid team), settle asks, stop asking, end COMPLETED / FAILED / CANCELLED. Each
 * machine adds its own steps with `setup({ actions: { ...teamRunActions<Context>(), … }, guards: {
 * ...teamRunGuards, … } })`, `on: teamRunHandlers` and `states: { starting: startingState(first),
 * asking: askingState(open, next), …, ...endStates }`. (Not in team.ts, which imports the four
 * machines: they would import it back, and an import cycle leaves these constants undefined while
 * the machines are being built.)
 *
 * Asking is one child per batch, not one per ask: a 7-member vote round costs one actor and — when
 * the answers arrive together — one event, where an actor and an event per ask made the machine
 * the most expensive part of a round.
 */

/** What the `askMember` child of a batch gets: the batch's asks, in order. */
export interface AskBatchInput {
  asks: ReadonlyArray<Pick<OpenAsk, "askId" | "input">>;
}

/**
 * Sent by the batch's child to its team machine: asks that ended, in the order they ended. Results
 * that end in the same turn of the event loop arrive together in one event.
 */
export interface AsksSettledEvent {
  type: "team.asks.settled";
  settled: AskSettlement[];
}

/** Every event a team machine takes: `team.cancel` from outside, `team.asks.settled` from its child. */
export type TeamRunEvent = TeamCancelEvent | AsksSettledEvent;

/** The logic of the `askMember` child: runs a batch of asks and reports them as they settle. */
export type AskMemberLogic = CallbackActorLogic<EventObject, AskBatchInput>;

/**
 * Runs `asks` through `ask`, each with its own AbortSignal; reports settlements with `report`,
 * gathering those that settle in the same turn (a microtask later) into one report. The returned
 * stop function aborts the signals of the asks still pending and drops any later settlement.
 */
function runBatch(ask: AskMember, asks: AskBatchInput["asks"], report: (settled: AskSettlement[]) => void): () => void {
  const pending = new Map<string, AbortController>();
  let settled: AskSettlement[] = [];
  let stopped = false;
  const flush = () => {
    const batch = settled;
    settled = [];
    if (!stopped) report(batch);
  };
  const settle = (settlement: AskSettlement) => {
    if (stopped) return;
    pending.delete(settlement.askId);
    if (settled.push(settlement) === 1) queueMicrotask(flush);
  };
  for (const { askId, input } of asks) {
    const controller = new AbortController();
    pending.set(askId, controller);
    let answer: Promise<MemberAnswer>;
    try {
      answer = ask(input, controller.signal);
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      (value) => settle({ askId, ok: true, answer: value }),
      (error: unknown) => settle({ askId, ok: false, error }),
    );
  }
  return () => {
    stopped = true;
    for (const controller of pending.values()) controller.abort();
    pending.clear();
  };
}

const notProvided: AskMember = async () => {
  throw new NeuroflowError("INTERNAL", "askMember is not provided");
};

/**
 * The `askMember` logic over a plain function; the wiring provides it with
 * `.provide({ actors: { askMember: askMemberActor(ask) } })`. Each ask's signal is aborted when the
 * team stops waiting for it (cancel, deadline) and only then.
 */
export function askMemberActor(ask: AskMember): AskMemberLogic {
  return fromCallback<EventObject, AskBatchInput>(({ input, sendBack }) => runBatch(ask, input.asks, (settled) => sendBack({ type: "team.asks.settled", settled })));
}

/**
 * The `askMember` logic for a host that runs many teams on one provided machine (providing a
 * machine builds it anew, so a host should do it once per structure, not once per run): each
 * batch asks through the function `askFor` returns for the run's actor system — register it with
 * the run's `actor.system` before starting the actor. Asks of a run without one fail INTERNAL.
 */
export function askMemberActorBy(askFor: (system: AnyActorRef["system"]) => AskMember | undefined): AskMemberLogic {
  return fromCallback<EventObject, AskBatchInput>(({ input, system, sendBack }) =>
    runBatch(askFor(system) ?? notProvided, input.asks, (settled) => sendBack({ type: "team.asks.settled", settled })),
  );
}

/** The placeholder every team machine declares; the wiring and tests provide the real one. */
export const askMemberNotProvided: AskMemberLogic = askMemberActor(notProvided);

/** The actor every team machine may spawn, as `setup` sees it. */
type AskMemberActor = { src: "askMember"; logic: AskMemberLogic; id: string | undefined };

/**
 * Actions every team machine has, for its context type (each returns the whole context, so it
 * type-checks for any context that extends TeamRunContext). `spawnAsks` starts the open batch's
 * child (nothing to start for an empty batch); `stopAsks` stops it, aborting the asks still
 * pending — a state that asks runs `spawnAsks` on entry after opening its batch and `stopAsks` on
 * exit. `failInvalid` ends a run with its `problem`; `endCancelled` ends it CANCELLED.
 */
export function teamRunActions<TContext extends TeamRunContext>() {
  type Assign = typeof assign<TContext, TeamRunEvent, undefined, TeamRunEvent, AskMemberActor>;
  const update: Assign = (assignment) => assign(assignment);
  const enqueue = enqueueActions<TContext, TeamRunEvent, undefined, TeamRunEvent, AskMemberActor, never, never, never, EventObject>;
  return {
    settleAsks: update(({ context, event }) => (event.type === "team.asks.settled" ? { ...context, ...settleAsks(context, event.settled.map(askResultOf)) } : context)),
    spawnAsks: enqueue(({ context, enqueue }) => {
      const { batch } = context;
      if (!batchSettled(batch)) enqueue.spawnChild("askMember", { id: batch.id, input: { asks: batch.asks } });
    }),
    stopAsks: enqueue(({ context, enqueue }) => {
      if (context.batch.asks.length > 0) enqueue.stopChild(context.batch.id);
    }),
    failInvalid: update(({ context }) => ({ ...context, ...finishRun(context, { status: "FAILED", error: context.problem ?? invalidTeam("invalid team") }) })),
    endCancelled: update(({ context }) => ({ ...context, ...finishRun(context, { status: "CANCELLED", error: cancelledRun() }) })),
  };
}

/** Guards every team machine has. */
export const teamRunGuards = {
  hasProblem: ({ context }: { context: TeamRunContext }) => context.problem !== null,
  settled: ({ context }: { context: TeamRunContext }) => batchSettled(context.batch),
  completed: ({ context }: { context: TeamRunContext }) => context.status === "COMPLETED",
  failed: ({ context }: { context: TeamRunContext }) => context.status === "FAILED",
};

/** The machine-level transitions every team machine has: settle asks whatever the state, cancel from any state. */
export const teamRunHandlers = {
  "team.asks.settled": { actions: "settleAsks" },
  "team.cancel": { target: ".cancelled" },
} as const;

/** The initial state: an invalid team fails before anyone is asked, any other goes to `first`. */
export const startingState = <const First extends string>(first: First) =>
  ({ always: [{ guard: "hasProblem", target: "failed", actions: "failInvalid" }, { target: first }] }) as const;

/** A state that asks: `open` opens the batch, the batch runs while in the state, and once it is settled the machine goes to `next`. */
export const askingState = <const Open extends string, const Next extends string>(open: Open, next: Next) =>
  ({ entry: [open, "spawnAsks"], exit: "stopAsks", always: { guard: "settled", target: next } }) as const;

/** The final states: the outcome is in the context when `completed` / `failed` is entered; `cancelled` records it. */
export const endStates = {
  completed: { type: "final" },
  failed: { type: "final" },
  cancelled: { type: "final", entry: "endCancelled" },
} as const;
