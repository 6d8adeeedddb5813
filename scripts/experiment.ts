import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  createLocalExecutor,
  formatResultTable,
  readExperimentSpec,
  resultToCsv,
  resultToJson,
  runExperiment,
  type ExperimentProgress,
} from "../runtime/experiments/index.js";
import { NeuroflowError, type ExperimentSpec } from "../runtime/protocol/index.js";

/**
 * `npm run experiment -- <spec.yaml> [--concurrency N] [--out dir]`: runs an experiment in this
 * process (the in-process runtime: agent and team machines, simulated model, no NATS), shows
 * progress on stderr, prints the per-cell table on stdout and writes the results as
 * `<out>/<name>-<timestamp>.json` and `.csv`. Exit codes: 0 done, 1 bad arguments or spec or a
 * failed run, 130 interrupted (Ctrl-C).
 */

const usage = "usage: npm run experiment -- <spec.yaml> [--concurrency N] [--out dir]";

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

interface Arguments {
  file: string;
  concurrency: number;
  out: string;
}

function readArguments(argv: readonly string[]): Arguments {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n${usage}`);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) fail(usage);
  const concurrency = Number(parsed.values.concurrency ?? "4");
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) fail(`--concurrency must be a positive integer, got ${parsed.values.concurrency ?? ""}`);
  return { file, concurrency, out: parsed.values.out ?? "experiments/results" };
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { concurrency: { type: "string", short: "c" }, out: { type: "string", short: "o" }, help: { type: "boolean", short: "h" } },
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Progress on stderr: on a terminal one line rewritten at most ten times a second; otherwise (CI,
 * a pipe) a line at every tenth of the trials and at least every five seconds.
 */
function progressReporter(name: string, startedAt: number) {
  const tty = process.stderr.isTTY === true;
  let lastWrite = 0;
  let lastDecile = 0;
  const describe = ({ done, total, cell }: ExperimentProgress) => {
    const elapsed = performance.now() - startedAt;
    const eta = done > 0 && done < total ? ` · ETA ${seconds((elapsed / done) * (total - done))}` : "";
    return `[${name}] ${done}/${total} trials (${Math.floor((done / total) * 100)}%) · ${seconds(elapsed)}${eta} · ${cell.id}`;
  };
  return {
    update(progress: ExperimentProgress): void {
      const now = performance.now();
      const finished = progress.done === progress.total;
      if (tty) {
        if (!finished && now - lastWrite < 100) return;
        lastWrite = now;
        const columns = process.stderr.columns ?? 120;
        process.stderr.write(`\r\x1b[2K${describe(progress).slice(0, Math.max(20, columns - 1))}`);
        return;
      }
      const decile = Math.floor((progress.done / progress.total) * 10);
      if (decile === lastDecile && now - lastWrite < 5_000 && !finished) return;
      lastDecile = decile;
      lastWrite = now;
      process.stderr.write(`${describe(progress)}\n`);
    },
    end(): void {
      if (tty && lastWrite > 0) process.stderr.write("\r\x1b[2K");
    },
  };
}

/** `20261125T175548Z`: sorts by time and is safe in every file system. */
const timestamp = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z").replaceAll(/[-:]/g, "");
/** The experiment's name as a file name: anything but letters, digits, `.`, `_` and `-` becomes `-`. */
const fileSafe = (name: string) => name.replaceAll(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+/, "") || "experiment";

async function loadSpec(file: string): Promise<ExperimentSpec> {
  try {
    return await readExperimentSpec(file);
  } catch (error) {
    if (error instanceof NeuroflowError && (error.code === "VALIDATION_FAILED" || error.code === "NOT_FOUND")) fail(error.message);
    fail(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function main(): Promise<void> {
  const args = readArguments(process.argv.slice(2));
  const spec = await loadSpec(args.file);
  const controller = new AbortController();
  process.once("SIGINT", () => {
    process.stderr.write("\ninterrupted: waiting for the trials in flight…\n");
    controller.abort();
  });

  const startedAt = performance.now();
  const progress = progressReporter(spec.name, startedAt);
  let result;
  try {
    result = await runExperiment(spec, createLocalExecutor(), { concurrency: args.concurrency, onProgress: progress.update, signal: controller.signal });
  } catch (error) {
    progress.end();
    if (error instanceof NeuroflowError && error.code === "CANCELLED") {
      process.stderr.write(`${error.message}\n`);
      process.exit(130);
    }
    throw error;
  }
  progress.end();
  const elapsedMs = performance.now() - startedAt;

  const trials = result.cells.reduce((sum, cell) => sum + cell.trials, 0);
  process.stdout.write(`${spec.name}: ${result.cells.length} cells × ${spec.trials} trials over ${result.taskCount} tasks (seed ${spec.seed})\n\n`);
  process.stdout.write(formatResultTable(result));
  process.stdout.write(`\n${trials} trials in ${seconds(elapsedMs)} (concurrency ${args.concurrency})\n`);

  const dir = resolve(args.out);
  await mkdir(dir, { recursive: true });
  const base = join(dir, `${fileSafe(spec.name)}-${timestamp(new Date())}`);
  await writeFile(`${base}.json`, resultToJson(result));
  await writeFile(`${base}.csv`, resultToCsv(result));
  process.stderr.write(`wrote ${base}.json and ${base}.csv\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`experiment failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
