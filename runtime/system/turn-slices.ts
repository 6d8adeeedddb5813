/**
 * Work items handled at most `perTurn` per turn of the event loop (`setImmediate` between slices),
 * in arrival order. For a burst that arrives at once: everything the first slice's handling sends
 * goes out at the end of its turn, while the rest of the burst still waits (see AgentHost's calls).
 */
export class TurnSlices<T> {
  readonly #handle: (item: T) => void;
  readonly #perTurn: number;
  #items: Array<T | undefined> = [];
  #head = 0;
  #scheduled = false;

  /** `handle` must not throw: it is the caller's to report its own errors. */
  constructor(handle: (item: T) => void, perTurn: number) {
    this.#handle = handle;
    this.#perTurn = Math.max(1, perTurn);
  }

  /** Items waiting for their turn. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#slice());
    }
  }

  #slice(): void {
    const end = Math.min(this.#items.length, this.#head + this.#perTurn);
    while (this.#head < end) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head++] = undefined;
      this.#handle(item);
    }
    if (this.#head < this.#items.length) {
      setImmediate(() => this.#slice());
      return;
    }
    this.#items = [];
    this.#head = 0;
    this.#scheduled = false;
  }
}
