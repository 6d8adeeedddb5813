import { describe, expect, it } from "vitest";
import {
  ANSWER_INSTRUCTION,
  finalAnswer,
  matchOption,
  normalizeAnswer,
  parseAnswer,
  parseRanking,
  RANKING_INSTRUCTION,
  withAnswerFormat,
  withRankingFormat,
} from "../../runtime/teams/answer-format.js";
import { answerPrompt, debatePrompt, FREE_ANSWER_INSTRUCTION, rankPrompt, stagePrompt, workPrompt } from "../../runtime/teams/team-prompts.js";

const options = ["Paris", "London", "Berlin"];

describe("answer format: the exact text contract", () => {
  it("ends answer and ranking prompts with the fixed instruction lines, options listed before", () => {
    expect(ANSWER_INSTRUCTION).toBe("Reply with your answer on its own line as: Answer: <option>");
    expect(RANKING_INSTRUCTION).toBe("Reply with a ranking of every option, best first, as: Ranking: <option> > <option> > ...");
    const prompt = withAnswerFormat("Capital of France?", options);
    expect(prompt.split("\n")).toEqual(["Capital of France?", "", "Options:", "- Paris", "- London", "- Berlin", ANSWER_INSTRUCTION]);
    expect(withRankingFormat("Rank them.", options).split("\n").at(-1)).toBe(RANKING_INSTRUCTION);
  });

  it("puts the instruction last in every member prompt of a task with an answer key", () => {
    const task = { prompt: "Capital of France?", answerKey: { options, correct: "Paris" } };
    for (const prompt of [answerPrompt(task), debatePrompt(task, 1, "Answer: Paris", [{ name: "b", text: "Answer: Berlin" }]), workPrompt(task, "look it up"), stagePrompt(task, 1, 3, "prev")]) {
      expect(prompt.split("\n").at(-1)).toBe(ANSWER_INSTRUCTION);
      expect(prompt).toContain("- Berlin");
    }
    expect(rankPrompt(task, options).split("\n").at(-1)).toBe(RANKING_INSTRUCTION);
    expect(answerPrompt({ prompt: "Free question" }).split("\n").at(-1)).toBe(FREE_ANSWER_INSTRUCTION);
    expect(workPrompt({ prompt: "Free question" }, "part")).not.toContain("Answer:");
  });
});

describe("parseAnswer", () => {
  it("takes the last answer line, any case and spacing", () => {
    expect(parseAnswer("Answer: London\nOn reflection...\n  answer :  paris ", options)).toBe("Paris");
    expect(parseAnswer("ANSWER: berlin", options)).toBe("Berlin");
  });

  it("finds an option inside the answer line as a whole word, longest first", () => {
    expect(parseAnswer("Answer: I'd say Paris, definitely.", options)).toBe("Paris");
    expect(matchOption("C. Paris", ["A", "B", "C", "D"])).toBe("C");
    expect(matchOption("New York City", ["York", "New York"])).toBe("New York");
    expect(matchOption("Parisian", options)).toBeNull();
  });

  it("is null when the line names no option, and reads a reply without a line only when it is exactly an option", () => {
    expect(parseAnswer("Answer: Madrid", options)).toBeNull();
    expect(parseAnswer(" london ", options)).toBe("London");
    expect(parseAnswer("Paris or London, hard to say", options)).toBeNull();
    expect(parseAnswer("", options)).toBeNull();
  });

  it("without options: the normalized answer line, else the normalized reply", () => {
    expect(parseAnswer("thinking...\nAnswer:   The   Eiffel TOWER  ")).toBe("the eiffel tower");
    expect(parseAnswer("  Just   THIS \n")).toBe("just this");
    expect(parseAnswer("   ")).toBeNull();
    expect(parseAnswer(`Answer: ${"x".repeat(300)}`)?.length).toBe(200);
    expect(normalizeAnswer(" A\t\nB ")).toBe("a b");
  });

  it("finalAnswer maps to an option when it can and keeps the text otherwise", () => {
    expect(finalAnswer("So.\nAnswer: paris", options)).toBe("Paris");
    expect(finalAnswer("  no idea  ", options)).toBe("no idea");
    expect(finalAnswer(" free text ")).toBe("free text");
  });
});

describe("parseRanking", () => {
  it("reads the last ranking line, maps pieces to options, drops unknowns and repeats", () => {
    expect(parseRanking("Ranking: Berlin > paris > London", options)).toEqual(["Berlin", "Paris", "London"]);
    expect(parseRanking("ranking: Paris > Madrid > paris > Berlin\nlater\nRanking: London>Paris", options)).toEqual(["London", "Paris"]);
    expect(parseRanking("Ranking: Paris (clearly) > Berlin", options)).toEqual(["Paris", "Berlin"]);
  });

  it("is empty when unreadable: the member abstains", () => {
    expect(parseRanking("Paris > London", options)).toEqual([]);
    expect(parseRanking("Ranking: Madrid > Rome", options)).toEqual([]);
    expect(parseRanking("Ranking:   ", options)).toEqual([]);
  });
});
