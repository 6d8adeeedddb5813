/**
 * A sweeper's loop: `sweepOnce` every `intervalMs`, never two at once (a slow pass skips the ticks
 * it overlaps), on an unref'd timer. `stop()` stops the timer and waits for a pass in progress.
 */
export abstract class PeriodicSweep {
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** One pass; resolves with how many rows it acted on. Must never reject. */
  abstract sweepOnce(): Promise<number>;

  start(): void {
    this.#timer = setInterval(() => {
      if (!this.#running) this.#running = this.sweepOnce().finally(() => (this.#running = undefined));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Stops sweeping; resolves once a pass in progress has finished. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
