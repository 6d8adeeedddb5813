import { describe, expect, it } from "vitest";
import { parseSubject, subjects } from "../../runtime/protocol/index.js";

const org = "0b8f2a52-3c1d-4f5e-9a7b-123456789abc";
const agent = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";

describe("subjects", () => {
  it("puts the org first so one wildcard scopes a tenant", () => {
    expect(subjects.agentTask(org, agent)).toBe(`nf.${org}.agent.${agent}.task`);
    expect(subjects.agentStatus(org, agent)).toBe(`nf.${org}.agent.${agent}.status`);
    expect(subjects.agentCancel(org, agent)).toBe(`nf.${org}.agent.${agent}.cancel`);
    expect(subjects.org(org)).toBe(`nf.${org}.>`);
  });

  it("round-trips every subject it builds", () => {
    expect(parseSubject(subjects.agentTask(org, agent))).toEqual({ kind: "agent.task", orgId: org, agentId: agent });
    expect(parseSubject(subjects.agentStatus(org, agent))).toEqual({ kind: "agent.status", orgId: org, agentId: agent });
    expect(parseSubject(subjects.agentCancel(org, agent))).toEqual({ kind: "agent.cancel", orgId: org, agentId: agent });
  });

  it("has wildcards for every org's cancels that match what agentCancel builds", () => {
    expect(subjects.anyAgentCancel).toBe("nf.*.agent.*.cancel");
    const pattern = new RegExp(`^${subjects.anyAgentCancel.replaceAll(".", "\\.").replaceAll("*", "[^.]+")}$`);
    expect(pattern.test(subjects.agentCancel(org, agent))).toBe(true);
    expect(pattern.test(subjects.agentTask(org, agent))).toBe(false);
  });

  it.each(["a.b", "*", ">", "org id", "", "nf.x"])("refuses to build a subject from the token %j", (bad) => {
    expect(() => subjects.agentTask(bad, agent)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(() => subjects.agentStatus(org, bad)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(() => subjects.agentCancel(bad, agent)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
    expect(() => subjects.agentCancel(org, bad)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
  });

  it.each([
    "nf.*.agent.x.task",
    `nf.${org}.agent.>.task`,
    `xx.${org}.agent.${agent}.task`,
    `nf.${org}.agent.${agent}`,
    `nf.${org}.agent.${agent}.task.extra`,
    `nf.${org}.team.${agent}.task`,
    `nf.${org}.agent.${agent}.delete`,
    `nf.*.agent.${agent}.cancel`,
    `nf.${org}.agent.${agent}.cancel.extra`,
  ])("rejects %s as not one of ours", (subject) => {
    expect(() => parseSubject(subject)).toThrow(expect.objectContaining({ code: "INVALID_SUBJECT" }));
  });
});
