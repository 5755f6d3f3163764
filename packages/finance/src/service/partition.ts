import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { isLeptonError, LeptonError } from '@lepton/core';
import type { FeatureEngine } from '../features/engine.js';
import { decide } from '../fraud/decisions.js';
import type { FraudScore } from '../fraud/model.js';
import type { Transaction } from '../transactions/schema.js';
import { readMessage, type Rejection } from './message.js';
import type { ResolvedScorerOptions, TransactionScorer } from './options.js';
import { checkScore } from './scores.js';
import { partitionOf, type StreamKeys, type WriteOnce } from './streams.js';

/** @internal An input entry as read, with where it came from: `read` numbers a `>` read (−1: claimed or redelivered). */
export interface Entry {
  id: string;
  fields: string[] | null;
  read: number;
  index: number;
}

/** Counters of one scorer process. */
export interface ScorerCounters {
  /** Entries received (new, own redeliveries and claimed; a batch retried from memory after a failure is not counted again). */
  read: number;
  /** Scores written by this process. */
  scored: number;
  /** Of those, alerts (decision `review` or `decline`) also written to the alerts stream. */
  alerts: number;
  /** Entries dead-lettered by this process. */
  deadLettered: number;
  /** Dead letters by code (`FINANCE_TRANSACTION_INVALID` …). */
  deadLetters: Record<string, number>;
  /** Entries acknowledged without a new result because their transaction id (or the entry) already had one. */
  duplicates: number;
  /** Scores whose features were computed again after a failure between recording the transaction and its score. */
  rescored: number;
  /** Entries claimed from consumers idle longer than `minIdleMs`. */
  claimed: number;
  /** Times a partition waited for an earlier entry another live consumer held. */
  waits: number;
  /** Failures retried (Redis unreachable, …). */
  errors: number;
}

/** What to do with one entry of a run. */
type Outcome =
  | { kind: 'score'; entry: Entry; tx: Transaction; features: Float32Array; rescored: boolean }
  | { kind: 'dead'; entry: Entry; rejection: Rejection }
  | { kind: 'late'; entry: Entry; tx: Transaction };

/** An outcome once the model has run: each `score` carries its checked score. */
type Resolved = Exclude<Outcome, { kind: 'score' }> | (Extract<Outcome, { kind: 'score' }> & { score: FraudScore });

/** Engine refusals that are about the message, not the service: dead-lettered, never retried. */
const MESSAGE_CODES = new Set(['FINANCE_TRANSACTION_INVALID', 'FINANCE_OUT_OF_ORDER', 'FINANCE_FEATURE_NOT_FINITE']);

/** @internal First backoff after a failed attempt, ms; it doubles with each failure of the same batch. */
export const RETRY_BASE_MS = 250;
/** @internal Longest backoff between two attempts, ms. */
export const RETRY_MAX_MS = 30_000;

const compareIds = (a: string, b: string): number => {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
};

/** Was `b` delivered right after `a` in the same `>` read (so nothing of the partition lies between them)? */
const follows = (a: Entry | undefined, b: Entry): boolean => a !== undefined && a.read >= 0 && a.read === b.read && b.index === a.index + 1;

/**
 * @internal One partition of one scorer process: applies its entries strictly in stream order. Before an entry whose
 * predecessor it has not itself just processed, it asks Redis for the earliest pending entry before it
 * (`XPENDING - (id 1`): none means every earlier entry is acknowledged (delivery is in id order), so the state already
 * holds them; a live consumer's means wait; an idle one (its consumer presumed dead) or its own is claimed and
 * processed first.
 */
export class PartitionWorker {
  private reads = 0;
  /** The run being processed: when {@link process} fails, the run it failed in. */
  private current: Entry[] | undefined;
  /** Earlier entries {@link process} claimed into its queue: retried from memory with the rest (a claim counts a delivery). */
  private claimedHere: Entry[] = [];

  constructor(
    readonly partition: number,
    readonly key: string,
    private readonly engine: FeatureEngine,
    private readonly redis: Redis,
    private readonly keys: StreamKeys,
    private readonly o: ResolvedScorerOptions,
    private readonly c: ScorerCounters,
    private readonly abandoned: () => boolean,
    private readonly scorer: Pick<TransactionScorer, 'score'>,
  ) {}

  /** Numbers the next `>` read of this partition. */
  nextRead(): number {
    return ++this.reads;
  }

  /**
   * Processes entries (see {@link process}) and retries them from memory until each is written or dead-lettered, or
   * the service closes. A failure does not re-read anything (`XREADGROUP … 0` would add one to the delivery count of
   * every pending entry of the consumer, so an outage of the model or the store would soon make every healthy entry
   * look like poison). Instead the entries still pending for this consumer (`XPENDING`, which counts nothing) are
   * processed again, one at a time, after a backoff that doubles with each failure (from {@link RETRY_BASE_MS} up to
   * {@link RETRY_MAX_MS}). An entry that fails on its own `maxDeliveries` times is dead-lettered as
   * `FINANCE_MESSAGE_POISON`; with the doubling backoff that takes at least about 70 s of failures with the default
   * 10, so a shorter outage loses nothing. Delivery counts thus count real redeliveries (a consumer that died
   * or restarted), which {@link screenPoison} still checks.
   *
   * @param stopping - true once the service closes: the entries left stay pending for the group
   * @param signal - wakes a backoff sleep at close
   */
  async run(entries: Entry[], redelivered: boolean, stopping: () => boolean, signal: AbortSignal): Promise<void> {
    let remaining = entries;
    this.claimedHere = [];
    /** How often each entry failed while processed alone (a run of one) in this task. */
    const failures = new Map<string, number>();
    for (let attempt = 1; ; attempt++) {
      this.current = undefined;
      try {
        if (attempt > 1) {
          remaining = await this.stillPending(remaining);
          if (remaining.length === 0) return;
        }
        await this.process(remaining, redelivered || attempt > 1);
        return;
      } catch (err) {
        if (stopping()) return; // close(): what is left stays pending for the group
        this.c.errors++;
        const known = new Set(remaining.map((e) => e.id));
        remaining = [...remaining, ...this.claimedHere.filter((e) => !known.has(e.id))];
        this.claimedHere = [];
        // Set by process() (TypeScript cannot see that across the await).
        const current = this.current as Entry[] | undefined;
        const alone = current?.length === 1 ? current[0] : undefined;
        const n = alone === undefined ? 0 : (failures.get(alone.id) ?? 0) + 1;
        if (alone !== undefined) failures.set(alone.id, n);
        const name: unknown = (err as Error)?.name;
        const code = err instanceof LeptonError ? err.code : typeof name === 'string' && /^[A-Za-z]{1,40}$/.test(name) ? name : 'Error';
        const details: Record<string, unknown> = { partition: this.partition, code };
        if (alone !== undefined) Object.assign(details, { entry: alone.id, failures: n });
        this.o.log({ level: 'error', event: 'retry', message: `Scoring failed in partition ${this.partition} (${code}); the entries stay pending and are retried.`, details });
        if (alone !== undefined && n >= this.o.maxDeliveries) {
          const reason = `failed ${n} times when processed on its own (maxDeliveries ${this.o.maxDeliveries}) without being scored`;
          try {
            await this.write([{ kind: 'dead', entry: alone, rejection: { code: 'FINANCE_MESSAGE_POISON', reason } }]);
            continue;
          } catch {
            // Redis refused the dead letter too: retried below.
          }
        }
        // The backoff is slept in slices of minIdleMs / 4, refreshing the idle time of the entries still held in
        // between (XCLAIM … JUSTID counts no delivery), so a live consumer's entries are not claimed from under it.
        let left = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 20)) * (0.75 + Math.random() / 2);
        while (left > 0 && !stopping()) {
          const slice = Math.min(left, this.o.minIdleMs / 4);
          await sleep(slice, undefined, { signal }).catch(() => undefined);
          left -= slice;
          if (left > 0 && remaining.length > 0 && !stopping()) {
            const sorted = [...remaining].sort((a, b) => compareIds(a.id, b.id));
            await this.heartbeat(sorted).catch(() => undefined);
          }
        }
        if (stopping()) return;
      }
    }
  }

  /** Of `entries`, those still pending for this consumer (one XPENDING; counts no delivery), in id order, each alone. */
  private async stillPending(entries: Entry[]): Promise<Entry[]> {
    if (entries.length === 0) return [];
    const sorted = [...entries].sort((a, b) => compareIds(a.id, b.id));
    const mine = (await this.redis.xpending(this.key, this.o.group, sorted[0]!.id, sorted[sorted.length - 1]!.id, 2 * sorted.length + this.o.batchSize, this.o.consumer)) as Array<[string]>;
    const ids = new Set(mine.map((m) => m[0]));
    // An entry gone from the pending list was written (or claimed by another consumer): not ours any more. Deleted
    // entries (no fields) are kept: their dead letter is what is left to write.
    return sorted.filter((e) => ids.has(e.id) || e.fields === null).map((e) => ({ ...e, read: -1, index: 0 }));
  }

  /** Processes entries in id order; `redelivered` ones are checked against maxDeliveries first. */
  async process(entries: Entry[], redelivered: boolean): Promise<void> {
    const queue = [...entries].sort((a, b) => compareIds(a.id, b.id));
    if (redelivered) await this.screenPoison(queue);
    let prev: Entry | undefined;
    let watermark: number | undefined;
    let waiting = false;
    let beat = Date.now();
    while (queue.length > 0) {
      if (this.abandoned()) return; // close() timed out: leave the rest pending for the group
      const head = queue[0]!;
      if (!follows(prev, head) || watermark === undefined) {
        const { earlier, mark } = await this.before(head.id);
        if (earlier) {
          const mine = earlier.owner === this.o.consumer;
          if (mine || earlier.idle >= this.o.minIdleMs) {
            const claimed = await this.claim(earlier.id, mine ? 0 : this.o.minIdleMs);
            if (claimed) {
              if (!mine) this.c.claimed++;
              this.claimedHere.push(claimed);
              queue.unshift(claimed);
              await this.screenPoison(queue, 1);
              prev = undefined;
            }
            continue;
          }
          if (!waiting) this.c.waits++;
          waiting = true;
          // Keep what we hold from looking abandoned while we wait (XCLAIM … JUSTID resets the idle time).
          if (Date.now() - beat > this.o.minIdleMs / 4) {
            await this.heartbeat(queue);
            beat = Date.now();
          }
          // Not the abort signal: close() lets in-flight entries finish, so this wait continues until its deadline.
          await sleep(Math.min(25, this.o.minIdleMs / 10));
          continue;
        }
        waiting = false;
        watermark = mark;
      }
      let n = 1;
      while (n < queue.length && n < this.o.batchSize && follows(queue[n - 1], queue[n]!)) n++;
      const run = queue.splice(0, n);
      this.current = run;
      watermark = await this.processRun(run, watermark);
      this.current = undefined;
      prev = run[run.length - 1];
    }
  }

  /** The earliest pending entry before `id` (if any) and the partition's watermark, in one round trip. */
  private async before(id: string): Promise<{ earlier?: { id: string; owner: string; idle: number }; mark: number }> {
    const replies = (await this.redis.pipeline().xpending(this.key, this.o.group, '-', `(${id}`, 1).get(this.keys.watermark(this.partition)).exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const pending = replies[0]![1] as Array<[string, string, number, number]>;
    const raw = replies[1]![1] as string | null;
    const mark = raw === null ? -Infinity : Number(raw);
    const first = pending[0];
    return first ? { earlier: { id: first[0], owner: first[1], idle: Number(first[2]) }, mark } : { mark };
  }

  private async claim(id: string, minIdle: number): Promise<Entry | undefined> {
    const got = (await this.redis.xclaim(this.key, this.o.group, this.o.consumer, minIdle, id)) as Array<[string, string[] | null] | null>;
    const e = got.find((x): x is [string, string[] | null] => Array.isArray(x));
    if (e) return { id: e[0], fields: e[1], read: -1, index: 0 };
    // Redis 7 drops a deleted (or trimmed) entry from the pending list when it is claimed, and returns nothing: it
    // would vanish unscored and uncounted. An entry gone from the stream is dead-lettered instead ("deleted before it
    // was scored"); one that still exists was acknowledged or taken by another consumer meanwhile.
    const exists = (await this.redis.xrange(this.key, id, id)) as unknown[];
    return exists.length === 0 ? { id, fields: null, read: -1, index: 0 } : undefined;
  }

  /** Resets the idle time of the entries this consumer still owns (never takes back one another consumer claimed). */
  private async heartbeat(queue: Entry[]): Promise<void> {
    const first = queue[0]!.id;
    const last = queue[queue.length - 1]!.id;
    const mine = (await this.redis.xpending(this.key, this.o.group, first, last, queue.length, this.o.consumer)) as Array<[string]>;
    if (mine.length) await this.redis.xclaim(this.key, this.o.group, this.o.consumer, 0, ...mine.map((m) => m[0]), 'JUSTID');
  }

  /**
   * Dead-letters (and removes from `queue`) entries among its first `count` delivered more than maxDeliveries times:
   * they crashed or stalled every consumer that took them.
   */
  private async screenPoison(queue: Entry[], count = queue.length): Promise<void> {
    if (queue.length === 0) return;
    const head = queue.slice(0, count);
    // The range may hold more of this consumer's entries than `head` (claimed ones are not contiguous): ask for enough.
    const info = (await this.redis.xpending(this.key, this.o.group, head[0]!.id, head[head.length - 1]!.id, 2 * head.length + this.o.batchSize, this.o.consumer)) as Array<
      [string, string, number, number]
    >;
    const poison = new Set(info.filter((x) => Number(x[3]) > this.o.maxDeliveries).map((x) => x[0]));
    if (poison.size === 0) return;
    const dead: Outcome[] = [];
    for (let i = queue.length - 1; i >= 0; i--) {
      if (i < count && poison.has(queue[i]!.id)) {
        const reason = `delivered more than maxDeliveries (${this.o.maxDeliveries}) times without being scored`;
        dead.push({ kind: 'dead', entry: queue[i]!, rejection: { code: 'FINANCE_MESSAGE_POISON', reason } });
        queue.splice(i, 1);
      }
    }
    await this.write(dead);
  }

  /**
   * Features for each entry of a run in order (state updated as it goes), one model call for the run, then every
   * result written with its XACK. Returns the partition watermark after the run.
   */
  private async processRun(run: Entry[], watermark: number): Promise<number> {
    const outcomes: Outcome[] = [];
    let mark = watermark;
    for (const entry of run) {
      const m = readMessage(entry.fields, this.o.maxMessageBytes);
      if ('rejected' in m) {
        outcomes.push({ kind: 'dead', entry, rejection: m.rejected });
        continue;
      }
      const tx = m.tx;
      // A card's transactions must all be in its partition, or two partitions would apply them at once and its
      // features would depend on timing: an entry published to another partition is refused, never scored.
      if (partitionOf(tx.cardId, this.o.partitions) !== this.partition) {
        outcomes.push({ kind: 'dead', entry, rejection: { code: 'FINANCE_MESSAGE_INVALID', field: 'cardId', reason: "published to the wrong partition: its 'cardId' belongs to another partition (route with partitionOf on the trimmed card id)" } });
        continue;
      }
      // Older than what this partition already scored: one consumer reading in order would refuse it, so every
      // consumer does (FeatureEngine's own watermark is only this process's view) — unless it is a redelivery.
      if (tx.timestamp < mark) {
        outcomes.push({ kind: 'late', entry, tx });
        continue;
      }
      try {
        outcomes.push({ kind: 'score', entry, tx, features: await this.engine.process(tx), rescored: false });
        mark = Math.max(mark, tx.timestamp);
      } catch (err) {
        if (isLeptonError(err, 'FINANCE_DUPLICATE')) {
          // Recorded before, but maybe never scored (a consumer died in between): the same features again, from the
          // state strictly before the transaction. If it was scored, the write below finds its marker and drops this.
          try {
            outcomes.push({ kind: 'score', entry, tx, features: await this.engine.features(tx), rescored: true });
            mark = Math.max(mark, tx.timestamp);
          } catch (again) {
            if (!isLeptonError(again) || !MESSAGE_CODES.has(again.code)) throw again;
            outcomes.push({ kind: 'dead', entry, rejection: { code: again.code, reason: 'its features could not be computed again after a redelivery' } });
          }
        } else if (isLeptonError(err) && MESSAGE_CODES.has(err.code)) {
          const field = typeof err.details['field'] === 'string' ? err.details['field'] : undefined;
          const reason = err.code === 'FINANCE_OUT_OF_ORDER' ? 'older than a transaction this partition already scored' : `refused by the feature engine (${err.code})`;
          outcomes.push({ kind: 'dead', entry, rejection: field === undefined ? { code: err.code, reason } : { code: err.code, field, reason } });
        } else {
          throw err; // Redis unreachable, state conflict: the run stays pending and is retried
        }
      }
    }
    await this.resolveLate(outcomes);
    await this.write(outcomes);
    return mark;
  }

  /** A late entry whose transaction already has a score is a redelivery (acknowledged); otherwise it is out of order. */
  private async resolveLate(outcomes: Outcome[]): Promise<void> {
    const late = outcomes.map((o, i) => [o, i] as const).filter(([o]) => o.kind === 'late');
    if (late.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const [o] of late) pipe.exists(this.keys.done((o as { tx: Transaction }).tx.id));
    const replies = (await pipe.exec()) ?? [];
    late.forEach(([o, i], k) => {
      const [err, exists] = replies[k]!;
      if (err) throw err;
      if (exists === 1) return; // stays 'late': acknowledged as a duplicate
      outcomes[i] = { kind: 'dead', entry: o.entry, rejection: { code: 'FINANCE_OUT_OF_ORDER', reason: 'older than a transaction this partition already scored' } };
    });
  }

  /**
   * Scores the run in one model call, then writes every result and acknowledges every entry in one pipeline. A score
   * the model got wrong (NaN, out of range, not a number) dead-letters its own entry as `INVALID_MODEL`; the rest of
   * the run is written. Retrying would not help (the model gives the same answer), and failing the whole run would
   * retry it until every entry in it was dead-lettered as poison, hiding the cause.
   */
  private async write(pending: Outcome[]): Promise<void> {
    if (pending.length === 0) return;
    const toScore = pending.filter((o): o is Extract<Outcome, { kind: 'score' }> => o.kind === 'score');
    const scores: unknown = toScore.length ? await this.scorer.score(toScore.map((o) => o.features)) : [];
    if (!Array.isArray(scores) || scores.length !== toScore.length) {
      throw new LeptonError('INVALID_MODEL', `The model returned ${Array.isArray(scores) ? scores.length : 'no array of'} scores for ${toScore.length} rows.`);
    }
    let next = 0;
    const outcomes = pending.map((out): Resolved => {
      if (out.kind !== 'score') return out;
      const checked = checkScore(scores[next++]);
      return 'score' in checked ? { ...out, score: checked.score } : { kind: 'dead', entry: out.entry, rejection: checked.rejection };
    });
    const o = this.o;
    const maxLen = o.maxOutputLength > 0 ? String(o.maxOutputLength) : '';
    const pipe = this.redis.pipeline() as unknown as ReturnType<Redis['pipeline']> & WriteOnce;
    const alertFlags: boolean[] = [];
    for (const out of outcomes) {
      const entry = out.entry;
      if (out.kind === 'late') {
        pipe.xack(this.key, o.group, entry.id);
        continue;
      }
      if (out.kind === 'dead') {
        const r = out.rejection;
        const fields = ['input', entry.id, 'partition', String(this.partition), 'code', r.code, ...(r.field === undefined ? [] : ['field', r.field]), 'reason', r.reason, 'consumer', o.consumer];
        const marker = this.keys.deadDone(this.partition, entry.id);
        pipe.leptonWriteOnce(marker, this.key, this.keys.dead, this.keys.dead, marker, o.group, entry.id, o.dedupeTtlSeconds, '0', '', maxLen, ...fields);
        continue;
      }
      const score = out.score;
      const decision = o.policy ? decide(o.policy, score.probability) : undefined;
      const alert = decision !== undefined && decision !== 'approve';
      alertFlags.push(alert);
      const fields = [
        'input', entry.id, 'partition', String(this.partition), 'id', out.tx.id,
        'probability', String(score.probability), 'riskScore', String(score.riskScore), 'supervised', String(score.supervised), 'anomaly', String(score.anomaly),
        ...(decision === undefined ? [] : ['decision', decision]),
        'consumer', o.consumer,
        ...(out.rescored ? ['rescored', '1'] : []),
        ...(o.includeFeatures ? ['features', JSON.stringify(Array.from(out.features))] : []),
      ];
      pipe.leptonWriteOnce(this.keys.done(out.tx.id), this.key, this.keys.scores, this.keys.alerts, this.keys.watermark(this.partition), o.group, entry.id, o.dedupeTtlSeconds, alert ? '1' : '0', String(out.tx.timestamp), maxLen, ...fields);
    }
    const replies = (await pipe.exec()) ?? [];
    // Count what was written before reporting a failure: those entries are acknowledged and will not come back.
    let failure: unknown;
    let s = 0;
    outcomes.forEach((out, i) => {
      const [err, reply] = replies[i] ?? [new Error('no reply')];
      if (out.kind === 'score') s++;
      if (err) {
        failure ??= err;
        return;
      }
      const written = reply === 1;
      if (out.kind === 'late') this.c.duplicates++;
      else if (out.kind === 'dead') {
        if (!written) {
          this.c.duplicates++;
          return;
        }
        this.c.deadLettered++;
        this.c.deadLetters[out.rejection.code] = (this.c.deadLetters[out.rejection.code] ?? 0) + 1;
        const details: Record<string, unknown> = { partition: this.partition, entry: out.entry.id, code: out.rejection.code };
        if (out.rejection.field !== undefined) details['field'] = out.rejection.field;
        o.log({ level: 'warn', event: 'dead-letter', message: `Entry ${out.entry.id} of partition ${this.partition} dead-lettered: ${out.rejection.code}.`, details });
      } else {
        const alert = alertFlags[s - 1]!;
        if (!written) this.c.duplicates++;
        else {
          this.c.scored++;
          if (alert) this.c.alerts++;
          if (out.rescored) this.c.rescored++;
        }
      }
    });
    if (failure !== undefined) throw failure;
  }
}
