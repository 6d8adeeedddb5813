import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The parts of a V8 `.cpuprofile` (Node `--cpu-prof`) this summary reads. */
interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  /** Microseconds, CLOCK_MONOTONIC (the clock of `process.hrtime`). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One function's share of the sampled time. */
export interface ProfileEntry {
  name: string;
  /** Milliseconds with the function on top of the stack. */
  selfMs: number;
  /** Milliseconds with the function anywhere on the stack. */
  totalMs: number;
}

/** What {@link summarizeProfile} found in a window of a profile. */
export interface ProfileSummary {
  /** Sampled milliseconds in the window (idle included). */
  sampledMs: number;
  /** Sampled milliseconds not idle (program, GC and JS together). */
  busyMs: number;
  /** Top functions by self time. */
  bySelf: ProfileEntry[];
  /** Self time grouped by where the code lives (package or project folder). */
  byArea: Array<{ area: string; selfMs: number }>;
  /** Inclusive time of every function whose name matches one of the `focus` patterns. */
  focus: ProfileEntry[];
}

const root = fileURLToPath(new URL("../..", import.meta.url));

function where(url: string): string {
  if (url === "") return "(native/vm)";
  if (url.startsWith("node:")) return "node:internal";
  const path = url.startsWith("file://") ? relative(root, fileURLToPath(url)) : url;
  const modules = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (modules) return modules[1]!;
  return path.split("/").slice(0, 2).join("/");
}

function label(frame: { functionName: string; url: string; lineNumber: number }): string {
  const name = frame.functionName || "(anonymous)";
  if (!frame.url) return name;
  const path = frame.url.startsWith("file://") ? relative(root, fileURLToPath(frame.url)) : frame.url;
  return `${name} ${path.replace(/^.*node_modules\//, "")}:${frame.lineNumber + 1}`;
}

/**
 * Self and inclusive time per function of a `.cpuprofile`, counting only samples taken within one
 * of `windows` (CLOCK_MONOTONIC µs, as `process.hrtime.bigint() / 1000n` gives them), and grouped
 * by package. `focus`: function-name patterns whose inclusive time to report.
 */
export function summarizeProfile(
  path: string,
  windows: ReadonlyArray<{ fromUs: number; toUs: number }>,
  focus: RegExp[] = [],
  top = 25,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const areas = new Map<string, number>();
  let sampledUs = 0;
  let idleUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    const next = profile.timeDeltas[i + 1] ?? 0;
    if (!windows.some((window) => at >= window.fromUs && at <= window.toUs)) continue;
    const node = byId.get(profile.samples[i]!);
    if (!node) continue;
    sampledUs += next;
    if (node.callFrame.functionName === "(idle)") {
      idleUs += next;
      continue;
    }
    const key = label(node.callFrame);
    self.set(key, (self.get(key) ?? 0) + next);
    const area = where(node.callFrame.url);
    areas.set(area, (areas.get(area) ?? 0) + next);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame) break;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      total.set(name, (total.get(name) ?? 0) + next);
    }
  }
  const entry = (name: string): ProfileEntry => ({ name, selfMs: (self.get(name) ?? 0) / 1000, totalMs: (total.get(name) ?? 0) / 1000 });
  return {
    sampledMs: sampledUs / 1000,
    busyMs: (sampledUs - idleUs) / 1000,
    bySelf: [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name]) => entry(name)),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: us / 1000 })),
    focus: [...total.keys()]
      .filter((name) => focus.some((pattern) => pattern.test(name)))
      .map(entry)
      .sort((a, b) => b.totalMs - a.totalMs),
  };
}
