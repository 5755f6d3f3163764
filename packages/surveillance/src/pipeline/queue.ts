/**
 * An unbounded async FIFO with one reader: `push` from producers, `for await` in the consumer, `end` to finish.
 * Used for the pipeline's event stream, whose volume is small (a few events per second at most); frames never go here.
 * @internal
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiting: ((r: IteratorResult<T>) => void) | undefined;
  #ended = false;

  /** Adds an item (ignored after {@link end}). */
  push(item: T): void {
    if (this.#ended) return;
    if (this.#waiting !== undefined) {
      const w = this.#waiting;
      this.#waiting = undefined;
      w({ value: item, done: false });
    } else this.#items.push(item);
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

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
