/**
 * An async FIFO with one reader: `push` from producers, `for await` in the consumer, `end` to finish. Used for the
 * pipeline's event stream (unbounded: its volume is small, a few events per second at most; frames never go here) and,
 * bounded, for each reader of the service's event stream: past `capacity` waiting items the oldest is dropped and
 * counted. A reader of such a queue that stops early (`break` out of `for await`, or `return()`) ends it and runs
 * `onReturn`.
 * @internal
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiting: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;
  #dropped = 0;
  #returned = false;
  readonly #capacity: number;
  readonly #onReturn: (() => void) | undefined;

  /**
   * @param options - `capacity`: most items waiting (default unbounded); `onReturn`: called once when the reader
   *   stops early
   */
  constructor(options: { capacity?: number; onReturn?: () => void } = {}) {
    this.#capacity = options.capacity ?? Infinity;
    this.#onReturn = options.onReturn;
  }

  /** Items dropped because the reader was `capacity` items behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Adds an item (ignored after {@link end}). */
  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiting !== undefined) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    if (this.#items.length > this.#capacity) {
      this.#items.shift();
      this.#dropped++;
    }
  }

  /** No more items: the reader finishes after the ones queued. */
  end(): void {
    this.#ended = true;
    if (this.#waiting !== undefined && this.#items.length === 0) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w({ value: undefined, done: true });
    }
  }

  /** The next item, or done once ended and drained. */
  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  /**
   * The reader stops (`break` out of `for await` calls this). With `onReturn`: what is queued is dropped, nothing
   * more is kept, and `onReturn` runs (once). Without it (the pipeline's stream) the queue stays open, as before.
   */
  return(): Promise<IteratorResult<T>> {
    if (this.#onReturn !== undefined && !this.#returned) {
      this.#returned = true;
      this.#items.length = 0;
      this.end();
      this.#onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
