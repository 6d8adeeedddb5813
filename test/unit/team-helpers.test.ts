import { describe, expect, it } from "vitest";
import { parseVotingRule } from "../../runtime/teams/voting/index.js";
import {
  assignSubtasks,
  capabilityOverlap,
  decompose,
  parseReview,
  parseSubtasks,
  pickLeader,
  pickSynthesiser,
  pipelineOrder,
  reassign,
} from "../../runtime/teams/assignment.js";
import { convergenceScore, jaccard } from "../../runtime/teams/convergence.js";
import { memberWeights, priorityWeight, voteContext, voteOptions } from "../../runtime/teams/democratic-vote.js";
import { appendLog, openAsks, settleAsk, startRun } from "../../runtime/teams/team-run.js";
import { agent, member, runInput } from "../support/team-fakes.js";

describe("assignment", () => {
  const leader = member(1, { role: "LEADER", priority: 0, capabilities: ["sql"] });
  const analyst = member(2, { capabilities: ["data-analysis", "sql"] });
  const writer = member(3, { capabilities: ["writing"], priority: 1 });
  const team = [leader, analyst, writer];

  it("picks the LEADER, else the highest priority; the synthesiser by config", () => {
    expect(pickLeader(team)).toBe(leader);
    expect(pickLeader([analyst, writer])).toBe(writer);
    expect(pickLeader([])).toBeNull();
    const coordinator = member(4, { role: "COORDINATOR", priority: -5 });
    expect(pickSynthesiser([...team, coordinator], "coordinator")).toBe(coordinator);
    expect(pickSynthesiser([...team, coordinator], "highest-priority")).toBe(writer);
    expect(pickSynthesiser(team, "coordinator")).toBe(writer);
  });

  it("orders pipeline stages by priority, then agent id", () => {
    expect(pipelineOrder([member(3), member(2, { priority: -1 }), member(1)]).map((entry) => entry.agentId)).toEqual([agent(2), agent(1), agent(3)]);
  });

  it("reads numbered and bulleted lines as subtasks and falls back to the whole task", () => {
    expect(parseSubtasks("Plan:\n1. Gather data\n2) Analyse it\n- Write it up\n* write it up\nnot a step")).toEqual(["Gather data", "Analyse it", "Write it up"]);
    expect(decompose("1. a\n2. b\n3. c", "task", 2)).toEqual({ subtasks: ["a", "b"], fallback: false });
    expect(decompose("I'd just answer it: 42", "What is 6x7?", 5)).toEqual({ subtasks: ["What is 6x7?"], fallback: true });
    expect(decompose("1.   what is 6x7? ", "What is 6x7?", 5)).toEqual({ subtasks: ["What is 6x7?"], fallback: true });
  });

  it("reads reviews: APPROVE first, else REDO anywhere, else approve", () => {
    expect(parseReview("APPROVE. Though a redo might polish it.")).toBe("approve");
    expect(parseReview("This needs a REDO: no sources")).toBe("redo");
    expect(parseReview("Looks fine")).toBe("approve");
  });

  it("assigns by capability overlap, then priority, then load — never to the leader", () => {
    expect(capabilityOverlap("Run the SQL for the data analysis", analyst.capabilities)).toBe(2);
    expect(capabilityOverlap("analysis only", analyst.capabilities)).toBe(0);
    expect(assignSubtasks(["write SQL queries", "do the writing", "misc"], team, leader.agentId)).toEqual([agent(2), agent(3), agent(3)]);
    const equals = [leader, member(2), member(3)];
    expect(assignSubtasks(["a", "b", "c", "d"], equals, leader.agentId)).toEqual([agent(2), agent(3), agent(2), agent(3)]);
    expect(assignSubtasks(["a"], [leader], leader.agentId)).toEqual([]);
    expect(reassign("sql", team, leader.agentId, [agent(2)], [agent(2)])).toBe(agent(3));
    expect(reassign("sql", [leader, analyst], leader.agentId, [agent(2)], [])).toBeNull();
  });
});

describe("convergence", () => {
  it("jaccard over word sets", () => {
    expect(jaccard("the cat sat", "The cat, sat!")).toBe(1);
    expect(jaccard("a b", "b c")).toBeCloseTo(1 / 3);
    expect(jaccard("", "")).toBe(1);
  });

  it("scores a round against the last by mean similarity or by the unchanged fraction", () => {
    const previous = new Map([
      ["x", "a b c d"],
      ["y", "same text"],
    ]);
    const current = new Map([
      ["x", "a b c e"],
      ["y", "same  text"],
      ["z", "new member"],
    ]);
    expect(convergenceScore("similarity", previous, current)).toBeCloseTo((3 / 5 + 1) / 2);
    expect(convergenceScore("unchanged", previous, current)).toBeCloseTo(1 / 3);
    expect(convergenceScore("similarity", new Map(), current)).toBe(0);
    expect(convergenceScore("unchanged", previous, new Map())).toBe(0);
  });
});

describe("democratic vote helpers", () => {
  it("weights members by priority (1 at 0, positive below), success rate or explicit weight", () => {
    expect([priorityWeight(0), priorityWeight(4), priorityWeight(-1), priorityWeight(-3)]).toEqual([1, 5, 0.5, 0.25]);
    const members = [member(1, { priority: 2, successRate: 0.8, weight: 4 }), member(2)];
    expect(memberWeights(members, "priority")).toEqual({ [agent(1)]: 3, [agent(2)]: 1 });
    expect(memberWeights(members, "successRate")).toEqual({ [agent(1)]: 0.8, [agent(2)]: 0 });
    expect(memberWeights(members, "explicit")).toEqual({ [agent(1)]: 4, [agent(2)]: 1 });
  });

  it("builds the tally context the rule needs and no more", () => {
    const members = [member(1, { role: "LEADER" }), member(2)];
    expect(voteContext(parseVotingRule({ kind: "majority" }), members, ["a", "b"], 3)).toEqual({ eligibleVoters: [agent(1), agent(2)], seed: 3, options: ["a", "b"] });
    const leader = voteContext(parseVotingRule({ kind: "plurality", tieBreak: "leader" }), members, [], 3);
    expect(leader).toEqual({ eligibleVoters: [agent(1), agent(2)], seed: 3, leaderId: agent(1) });
    expect(voteContext(parseVotingRule({ kind: "plurality", tieBreak: "highest-weight" }), members, [], 3).weights).toEqual({ [agent(1)]: 1, [agent(2)]: 1 });
  });

  it("takes the answer key's options, else the distinct answers in code-unit order", () => {
    const stances = [
      { agentId: "a", text: "", answer: "paris" },
      { agentId: "b", text: "", answer: null },
      { agentId: "c", text: "", answer: "lyon" },
      { agentId: "d", text: "", answer: "paris" },
    ];
    expect(voteOptions(stances)).toEqual(["lyon", "paris"]);
    expect(voteOptions(stances, ["X", "Y"])).toEqual(["X", "Y"]);
  });
});

describe("team run bookkeeping", () => {
  it("numbers the log on, counts calls when asking and tokens when answered; late results change nothing", () => {
    const input = runInput({ structure: "PIPELINE", coordination: {} }, [member(1), member(2)]);
    const start = startRun(input, "PIPELINE");
    expect(appendLog(start.log, { type: "team.synthesis", agentId: agent(1), text: "x" }).map((entry) => entry.seq)).toEqual([1, 2]);
    const opened = { ...start, ...openAsks(start, [{ key: "k", input: { agentId: agent(2), purpose: "stage", prompt: "p" } }]) };
    expect(opened.batch.asks.map((ask) => ask.askId)).toEqual(["ask-1"]);
    expect(opened.participation[1]?.calls).toBe(1);
    const answer = { text: "t", usage: { promptTokens: 2, completionTokens: 3 }, costMicroUsd: 5, durationMs: 1 };
    const settled = { ...opened, ...settleAsk(opened, "ask-1", { ok: true, answer }) };
    expect(settled.participation[1]).toMatchObject({ calls: 1, failures: 0, tokens: { promptTokens: 2, completionTokens: 3 }, costMicroUsd: 5 });
    expect(settleAsk(settled, "ask-1", { ok: true, answer })).toEqual({});
    expect(settleAsk(settled, "ask-9", { ok: true, answer })).toEqual({});
  });
});
