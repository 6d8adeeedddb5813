import { describe, expect, it } from "vitest";
import { csvColumns, csvField, resultToCsv, resultToJson } from "../../runtime/experiments/index.js";
import { experimentResultSchema, type CellResult, type ExperimentResult } from "../../runtime/protocol/index.js";

/** A small RFC 4180 reader, to check that what the writer quotes reads back unchanged. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i += 1;
    } else field += char;
  }
  return rows;
}

const cell = (id: string, overrides: Partial<CellResult> = {}): CellResult => ({
  cell: {
    id,
    structure: "DEMOCRATIC",
    rule: { kind: "weighted", weightSource: "explicit", threshold: "plurality", quorum: 0, tieBreak: "highest-weight", abstentionsCount: false },
    teamSize: 2,
    debateRounds: 1,
    latencyMs: 0,
    members: [
      { accuracy: 0.9, weight: 2.2, priority: 0, role: "WORKER" },
      { accuracy: 0.6, weight: 1, priority: 0, role: "WORKER" },
    ],
  },
  trials: 10,
  correct: 8,
  accuracy: 0.8,
  ci95: { low: 0.4902, high: 0.9433 },
  tokens: { prompt: 100, completion: 40, total: 140 },
  costMicroUsd: 12,
  latencyMs: { p50: 5, p95: 9 },
  failures: 1,
  ...overrides,
});

const result: ExperimentResult = {
  name: "export",
  seed: 1,
  trialsPerCell: 10,
  taskCount: 10,
  cells: [cell("DEMOCRATIC/weighted-explicit/n2/d1"), cell('odd, "id"\nhere', { correct: 3, accuracy: 0.3 })],
  skipped: [{ combination: { structure: "PIPELINE", teamSize: 2, debateRounds: 1 }, reason: "debate rounds apply only to DEMOCRATIC teams" }],
};

describe("experiment export", () => {
  it("quotes CSV fields per RFC 4180", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField(0.25)).toBe("0.25");
    expect(csvField(undefined)).toBe("");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\r")).toBe('"cr\r"');
  });

  it("writes a header and one CRLF-terminated row per cell that reads back unchanged", () => {
    const csv = resultToCsv(result);
    expect(csv.startsWith(`${csvColumns.join(",")}\r\n`)).toBe(true);
    expect(csv.endsWith("\r\n")).toBe(true);
    const rows = readCsv(csv);
    expect(rows).toHaveLength(3);
    expect(rows.every((row) => row.length === csvColumns.length)).toBe(true);
    const at = (row: number, column: string) => rows[row]?.[csvColumns.indexOf(column)];
    expect(at(2, "cell")).toBe('odd, "id"\nhere');
    expect(JSON.parse(at(1, "rule") ?? "null")).toEqual(result.cells[0]?.cell.rule);
    expect(at(1, "memberAccuracies")).toBe("0.9 0.6");
    expect(at(1, "accuracy")).toBe("0.8");
    expect(at(2, "accuracy")).toBe("0.3");
    expect(at(1, "totalTokens")).toBe("140");
  });

  it("leaves the rule columns empty for a rule-less cell", () => {
    const { rule: _rule, ...ruleless } = cell("x").cell;
    const rows = readCsv(resultToCsv({ ...result, cells: [cell("PIPELINE/n2", { cell: { ...ruleless, id: "PIPELINE/n2", structure: "PIPELINE" } })] }));
    expect(rows[1]?.[csvColumns.indexOf("ruleKind")]).toBe("");
    expect(rows[1]?.[csvColumns.indexOf("rule")]).toBe("");
  });

  it("writes JSON that parses back to the same result", () => {
    const json = resultToJson(result);
    expect(json.endsWith("\n")).toBe(true);
    expect(experimentResultSchema.parse(JSON.parse(json))).toEqual(result);
  });
});
