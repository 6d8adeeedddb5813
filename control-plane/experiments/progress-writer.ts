import type { Logger } from "pino";
import type { ExperimentProgressView } from "../../runtime/protocol/index.js";

export interface ProgressWriterOptions {
  /** Stores one progress value; called one at a time, never concurrently. */
  write: (progress: ExperimentProgressView) => Promise<void>;
  /** The value before any trial has finished. */
  initial: ExperimentProgressView;
  /** Least time between two writes of new progress. */
  intervalMs: number;
  /** Longest time without a write: the latest value is written again (a heartbeat) when nothing new came. */
  heartbeatMs: number;
  logger: Logger;
}

export interface ProgressWriter {
  /** Records the latest progress; written now or once `intervalMs` has passed since the last write. */
  report(progress: ExperimentProgressView): void;
  latest(): ExperimentProgressView;
  /** Stops writing: drops a scheduled write, stops the heartbeat, waits for the write in flight. */
  close(): Promise<void>;
}

/**
 * Throttled writes of a run's progress, plus a heartbeat so that a run whose trials take long still
 * writes now and then — each write is also where the run learns it was cancelled elsewhere. A failed
 * write is logged and does not stop later ones. Never throws.
 */
export function createProgressWriter(options: ProgressWriterOptions): ProgressWriter {
  let latest = options.initial;
  let lastWrite = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    lastWrite = Date.now();
    const value = latest;
    writing = writing
      .then(() => options.write(value))
      .catch((error: unknown) => options.logger.warn({ err: error }, "could not write the experiment's progress"));
  };
  const heartbeat = setInterval(() => {
    if (Date.now() - lastWrite >= options.heartbeatMs) flush();
  }, options.heartbeatMs).unref();
  return {
    report(progress) {
      latest = progress;
      if (timer) return;
      const wait = options.intervalMs - (Date.now() - lastWrite);
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait).unref();
    },
    latest: () => latest,
    async close() {
      clearInterval(heartbeat);
      clearTimeout(timer);
      timer = undefined;
      await writing;
    },
  };
}
