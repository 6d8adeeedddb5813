import { describe, expect, it } from "vitest";
import { parseTeamSubject, subjects, teamExecEventSchema, teamExecEventsOf, teamLogEntrySchema, toTeamExecEvents, type TeamLogEntry } from "../../runtime/protocol/index.js";

const org = "0b8f2a52-3c1d-4f5e-9a7b-123456789abc";
const team = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
const execution = "c0ffee00-1234-4abc-8def-000000000042";

describe("team execution subjects and events", () => {
  it("builds org-first subjects and parses them back", () => {
    expect(subjects.teamExecEvents(org, team, execution)).toBe(`nf.${org}.team.${team}.exec.${execution}.event`);
    expect(subjects.teamExecCancel(org, team, execution)).toBe(`nf.${org}.team.${team}.exec.${execution}.cancel`);
    expect(parseTeamSubject(subjects.teamExecEvents(org, team, execution))).toEqual({ kind: "team.exec.event", orgId: org, teamId: team, executionId: execution });
    expect(parseTeamSubject(subjects.teamExecCancel(org, team, execution))).toEqual({ kind: "team.exec.cancel", orgId: org, teamId: team, executionId: execution });
  });

  it("has a wildcard for every org's team events that matches what teamExecEvents builds", () => {
    expect(subjects.anyTeamExecEvent).toBe("nf.*.team.*.exec.*.event");
    const pattern = new RegExp(`^${subjects.anyTeamExecEvent.replaceAll(".", "\\.").replaceAll("*", "[^.]+")}$`);
    expect(pattern.test(subjects.teamExecEvents(org, team, execution))).toBe(true);
    expect(pattern.test(subjects.teamExecCancel(org, team, execution))).toBe(false);
  });

  it.each([
    `nf.${org}.team.${team}.exec.${execution}`,
    `nf.${org}.team.${team}.exec.*.event`,
    `nf.${org}.team.${team}.run.${execution}.event`,
    `nf.${org}.agent.${team}.exec.${execution}.event`,
    `xx.${org}.team.${team}.exec.${execution}.event`,
    `nf.${org}.team.${team}.exec.${execution}.status`,
    `nf.${org}.agent.${team}.task`,
  ])("refuses %s", (subject) => {
    expect(() => parseTeamSubject(subject)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
  });

  it.each(["a.b", "*", ">", ""])("refuses to build from the token %j", (bad) => {
    expect(() => subjects.teamExecEvents(bad, team, execution)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(() => subjects.teamExecEvents(org, bad, execution)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(() => subjects.teamExecCancel(org, team, bad)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
  });

  it("parses an envelope and refuses an unknown event type or a missing field", () => {
    const entry: TeamLogEntry = { seq: 3, event: { type: "team.synthesis", agentId: team, text: "done" } };
    expect(teamLogEntrySchema.parse(entry)).toEqual(entry);
    const envelope = { orgId: org, teamId: team, executionId: execution, at: "2026-01-01T00:00:00.000Z", ...entry };
    expect(teamExecEventSchema.parse(envelope)).toEqual(envelope);
    expect(teamExecEventsOf(toTeamExecEvents({ orgId: org, teamId: team, executionId: execution }, [entry], envelope.at))).toEqual([envelope]);
    expect(teamExecEventSchema.safeParse({ ...envelope, event: { type: "team.unknown" } }).success).toBe(false);
    expect(teamExecEventSchema.safeParse({ ...envelope, seq: 0 }).success).toBe(false);
    expect(teamExecEventSchema.safeParse({ ...envelope, at: undefined }).success).toBe(false);
  });
});
