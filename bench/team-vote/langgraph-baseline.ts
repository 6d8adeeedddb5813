import { Annotation, END, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import type { SingleChoiceBallot } from "../../runtime/teams/voting/index.js";
import { VOTER_IDS, ballotFor, countRound, measureRounds, type Choice, type MeasureOptions, type RoundStats } from "./common.js";

/**
 * Baseline (a) of the team-vote benchmark: the same round as a LangGraph.js StateGraph, in process.
 * START fans out to 7 voter nodes (run in one superstep), each adds its ballot to the state through a
 * concatenating reducer; a tally node joined on all 7 (`addEdge([...voters], "tally")`) counts them
 * with the project's voting library. The graph is compiled once and invoked once per round.
 */

/** The graph's state: the round, the ballots gathered so far, the winner once counted. */
const VoteState = Annotation.Root({
  roundId: Annotation<string>(),
  ballots: Annotation<SingleChoiceBallot[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
  winner: Annotation<Choice | null>({ reducer: (_left, right) => right, default: () => null }),
});
type VoteStateValue = typeof VoteState.State;
type VoteStateUpdate = typeof VoteState.Update;

/** Options of {@link measureLangGraph}. */
export interface LangGraphOptions extends MeasureOptions {
  /**
   * Compile with LangGraph's in-memory checkpointer (`MemorySaver`, one thread per round), so every
   * superstep is checkpointed — LangGraph's nearest thing to persisted ballots. Default false: the
   * plain in-process graph.
   */
  checkpointer?: boolean;
}

/** Builds and compiles the fan-out/fan-in vote graph. */
function compileVoteGraph(checkpointer: boolean) {
  const voters = VOTER_IDS.map(
    (voterId, index): [string, (state: VoteStateValue) => Promise<VoteStateUpdate>] => [
      voterId,
      async (state) => ({ ballots: [ballotFor(state.roundId, index)] }),
    ],
  );
  const graph = new StateGraph(VoteState)
    .addNode(voters)
    .addNode("tally", async (state: VoteStateValue): Promise<VoteStateUpdate> => ({ winner: countRound(state.roundId, state.ballots) }));
  for (const voterId of VOTER_IDS) graph.addEdge(START, voterId);
  graph.addEdge([...VOTER_IDS], "tally").addEdge("tally", END);
  return graph.compile(checkpointer ? { checkpointer: new MemorySaver() } : {});
}

/**
 * Measures vote rounds per second through the compiled graph with `inFlight` (default 64) concurrent
 * `graph.invoke` calls, after a warm-up. Rejects when a round fails or ends without a winner.
 */
export async function measureLangGraph(options: LangGraphOptions = {}): Promise<RoundStats> {
  const checkpointer = options.checkpointer ?? false;
  const graph = compileVoteGraph(checkpointer);
  return measureRounds(async (roundId) => {
    const final = await graph.invoke({ roundId }, checkpointer ? { configurable: { thread_id: roundId } } : {});
    if (final.winner === null) throw new Error(`round ${roundId}: the graph ended without a winner`);
  }, options);
}
