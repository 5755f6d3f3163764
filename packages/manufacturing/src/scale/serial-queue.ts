/** Longest run of queued work before the consumer lets I/O and timers in, ms. */
const YIELD_EVERY_MS = 10;

type Entry<T> = { kind: 'item'; item: T } | { kind: 'task'; run: () => Promise<void> };

/**
 * @internal One consumer for a member's samples and for the work that must happen *between* them (restoring,
 * snapshotting and forgetting assets): items are handed to `handle` one at a time, each awaited, in arrival order, and a
 * task runs only once every item queued before it has been handled — so a snapshot never sees half a push.
 */
export class SerialQueue<T> {
  private readonly entries: Array<Entry<T> | undefined> = [];
  /** Index of the next entry to run (entries before it are done). */
  private head = 0;
  private wake: (() => void) | undefined;
  private stopping = false;
  /** Resolves when {@link stop} was called and the queue has run dry. */
  readonly done: Promise<void>;

  /**
   * @param handle - handles one item; what it throws goes to `onError` (the queue goes on)
   * @param onError - told of an item that failed
   */
  constructor(
    private readonly handle: (item: T) => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {
    this.done = this.consume();
  }

  /** Items and tasks waiting. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Queues an item for `handle`. */
  push(item: T): void {
    this.add({ kind: 'item', item });
  }

  /**
   * Runs a function between two items, after every item queued before it.
   *
   * @returns what it returns, once it has run
   */
  task<R>(run: () => Promise<R> | R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.add({
        kind: 'task',
        run: async () => {
          try {
            resolve(await run());
          } catch (err) {
            reject(err as Error);
          }
        },
      });
    });
  }

  /** Lets the queue run dry, then ends the consumer ({@link done}). Nothing queued after this runs. */
  stop(): Promise<void> {
    this.stopping = true;
    this.add({ kind: 'task', run: async () => undefined });
    return this.done;
  }

  private add(e: Entry<T>): void {
    this.entries.push(e);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async consume(): Promise<void> {
    let slice = performance.now();
    for (;;) {
      // An item whose handling needs no I/O resolves at once, so a long queue would be worked off in microtasks alone,
      // starving the socket and the timers: no heartbeat would leave, the lease would expire, and the member would fence
      // itself off in the middle of a burst. Give the event loop a turn every few milliseconds.
      if (performance.now() - slice > YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      if (this.head >= this.entries.length) {
        this.entries.length = 0;
        this.head = 0;
        if (this.stopping) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        slice = performance.now();
        continue;
      }
      const e = this.entries[this.head]!;
      this.entries[this.head++] = undefined; // released for the collector
      if (this.head > 4096 && this.head * 2 > this.entries.length) {
        this.entries.splice(0, this.head);
        this.head = 0;
      }
      if (e.kind === 'task') await e.run(); // never throws: its promise carries the failure
      else {
        try {
          await this.handle(e.item);
        } catch (err) {
          this.onError(err);
        }
      }
    }
  }
}
