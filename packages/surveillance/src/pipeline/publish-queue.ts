/**
 * Longest a pipeline or a service waits at its end for MQTT acknowledgements (a broker that is away), ms.
 * @internal
 */
export const PUBLISH_DRAIN_MS = 15_000;
/**
 * Most messages waiting for MQTT; past it a message is counted as failed instead of queued (bounded memory).
 * @internal
 */
export const MAX_PENDING_PUBLISH = 1000;

/**
 * Resolves when `p` settles or after `ms`, whichever is first.
 * @internal
 */
export function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    p.then(
      () => (clearTimeout(timer), resolve()),
      () => (clearTimeout(timer), resolve()),
    );
  });
}

/**
 * MQTT messages sent in order on a chain of their own. At QoS 1 a publish waits for the broker's acknowledgement, and a
 * broker that is away must hold up neither the frames (the detector would stall and the cameras drop frames) nor the
 * event store. Bounded: past `max` waiting jobs a new one is refused (the caller counts it as failed), and {@link drain}
 * waits a bounded time.
 * @internal
 */
export class PublishQueue {
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;

  constructor(private readonly max: number) {}

  /** Jobs waiting or running. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues a job (it must not throw: it counts its own outcome).
   *
   * @returns false when the queue is full and the job was not queued
   */
  push(job: () => Promise<void>): boolean {
    if (this.#pending >= this.max) return false;
    this.#pending++;
    this.#chain = this.#chain.then(job).catch(() => undefined).finally(() => this.#pending--);
    return true;
  }

  /**
   * Waits until every queued job is done, or `ms` has passed.
   *
   * @returns the jobs still waiting then
   */
  async drain(ms: number): Promise<number> {
    await settleWithin(this.#chain, ms);
    return this.#pending;
  }
}
