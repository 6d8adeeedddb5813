import { describe, expect, it } from "vitest";
import { createActor, toPromise } from "xstate";
import { collaborativeTeamMachine } from "../../runtime/machines/team-collaborative.machine.js";
import { democraticTeamMachine } from "../../runtime/machines/team-democratic.machine.js";
import { hierarchicalTeamMachine } from "../../runtime/machines/team-hierarchical.machine.js";
import { pipelineTeamMachine } from "../../runtime/machines/team-pipeline.machine.js";
import { askMemberActor, teamMachineFor, type AskMemberInput, type MemberAnswer } from "../../runtime/machines/team.js";
import { teamStructureSchema, type TeamStructure } from "../../runtime/protocol/index.js";
import { expectConsistent, member, runInput } from "../support/team-fakes.js";

const coordinations: Record<TeamStructure, unknown> = {
  HIERARCHICAL: { structure: "HIERARCHICAL", coordination: {} },
  COLLABORATIVE: { structure: "COLLABORATIVE", coordination: {} },
  PIPELINE: { structure: "PIPELINE", coordination: {} },
  DEMOCRATIC: { structure: "DEMOCRATIC", coordination: { rule: { kind: "majority" } } },
};

/** An askMember whose asks never end on their own; it records each ask's signal. */
function hangingAsk() {
  const asks: { input: AskMemberInput; signal: AbortSignal }[] = [];
  const actor = askMemberActor((input, signal) => {
    asks.push({ input, signal });
    return new Promise<MemberAnswer>(() => undefined);
  });
  return { actor, asks };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("team machines: cancel and lookup", () => {
  it("teamMachineFor returns each structure's machine", () => {
    expect(teamMachineFor("HIERARCHICAL")).toBe(hierarchicalTeamMachine);
    expect(teamMachineFor("COLLABORATIVE")).toBe(collaborativeTeamMachine);
    expect(teamMachineFor("PIPELINE")).toBe(pipelineTeamMachine);
    expect(teamMachineFor("DEMOCRATIC")).toBe(democraticTeamMachine);
  });

  it.each(teamStructureSchema.options)("%s: team.cancel mid-run ends CANCELLED and aborts every pending ask", async (structure) => {
    const ask = hangingAsk();
    const members = [member(1, { role: "LEADER" }), member(2), member(3)];
    const actor = createActor(teamMachineFor(structure).provide({ actors: { askMember: ask.actor } }), { input: runInput(coordinations[structure], members) });
    actor.start();
    await tick();
    expect(ask.asks.length).toBeGreaterThan(0);
    expect(ask.asks.some((entry) => entry.signal.aborted)).toBe(false);
    actor.send({ type: "team.cancel" });
    const output = await toPromise(actor);
    expect(output.status).toBe("CANCELLED");
    expect(output.error).toEqual({ code: "CANCELLED", message: "team execution cancelled", retryable: false });
    expect(ask.asks.every((entry) => entry.signal.aborted)).toBe(true);
    expect(output.log.at(-1)?.event).toMatchObject({ type: "team.cancelled", costMicroUsd: 0 });
    expectConsistent(output, ask.asks.map((entry) => entry.input));
  });
});
