/**
 * Voting rules for agent teams (the democratic structure): pure functions a team actor calls to turn
 * ballots into a decision with an audit trail anyone can recount. No I/O, no clock; randomness only
 * from a seeded PRNG.
 */
export {
  optionIdSchema,
  parseRankedBallot,
  parseSingleChoiceBallot,
  rankedBallotSchema,
  singleChoiceBallotSchema,
  voterIdSchema,
  voterWeightsSchema,
  type RankedBallot,
  type SingleChoiceBallot,
  type VoterWeights,
} from "./ballot.js";
export {
  ballotKindOf,
  parseVotingRule,
  tieBreakPolicySchema,
  votingRuleSchema,
  type BallotKind,
  type TieBreakPolicy,
  type VotingRule,
  type VotingRuleInput,
  type VotingRuleKind,
} from "./rules.js";
export { tallyContextSchema, type TallyContext, type TallyContextInput } from "./tally-context.js";
export * from "./result.js";
export { quorumRequired, tally } from "./tally.js";
export { recount, verifyRecount, type RecountCheck } from "./recount.js";
export { createPrng, type Prng } from "./prng.js";
export { canonicalJson, toJsonValue, type JsonValue } from "./canonical-json.js";
