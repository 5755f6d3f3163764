import { LeptonError } from '@lepton/core';
import { integer, invalid, readFields } from '../internal/guards.js';

/** @internal Every {@link Severity}, lowest first. */
export const SEVERITIES: readonly string[] = ['low', 'medium', 'high', 'critical'];

/** How urgent an alarm is (ISA-18.2 style priorities). */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** What supports an alarm: the rule or model that raised it, the signals, values and time window. */
export interface AlarmEvidence {
  /** Rule or model name, e.g. `nelson-1`, `autoencoder`, `hotelling-t2`. */
  source: string;
  /** Signals involved, most responsible first. */
  signals: string[];
  /** The values that crossed the limit (score, measurement …). */
  values: Record<string, number>;
  /** The data window that was judged. */
  window: {
    /** Start, epoch ms. */
    from: number;
    /** End, epoch ms. */
    to: number;
  };
}

/** An alarm episode. */
export interface Alarm {
  /** Stable id of the episode. */
  id: string;
  /** What is alarming (asset + condition), the de-duplication key. */
  key: string;
  /** Asset identifier. */
  asset: string;
  /** How urgent it is. */
  severity: Severity;
  /** When it was raised and (once cleared) cleared, epoch ms. */
  raisedAt: number;
  /** When it cleared, epoch ms; undefined while active. */
  clearedAt?: number;
  /** Evidence when raised, and the latest evidence while active. */
  evidence: AlarmEvidence;
  /** Samples that exceeded the limit during the episode. */
  occurrences: number;
}

/** What {@link AlarmManager.update} produced. */
export type AlarmEvent =
  | {
      /** A new episode started. */
      type: 'raised';
      /** The alarm. */
      alarm: Alarm;
    }
  | {
      /** The episode ended. */
      type: 'cleared';
      /** The alarm, with `clearedAt`. */
      alarm: Alarm;
    };

/** Options for {@link AlarmManager}. */
export interface AlarmOptions {
  /** Consecutive exceeding samples before raising (suppresses one-sample blips). Default 3. */
  raiseAfter?: number;
  /** Consecutive clear samples before clearing (hysteresis against chattering). Default 5. */
  clearAfter?: number;
  /** Prefix of alarm ids (`<prefix>-1`, `<prefix>-2` …), to keep ids unique across managers. Default `alarm`. */
  idPrefix?: string;
}

interface Track {
  asset: string;
  over: number;
  under: number;
  active?: Alarm;
  /** Time of the latest judgement (or of the restored episode's raise): judgements never go back before it. */
  lastAt: number;
}

/**
 * The debounce state of one condition, as {@link AlarmManager.snapshotAsset} exports it: enough for another
 * manager to go on exactly where this one stopped — the active episode keeps its id, and a condition half-way through
 * its `raiseAfter` count does not start again from zero.
 */
export interface AlarmTrackSnapshot {
  /** The condition key. */
  key: string;
  /** Its asset. */
  asset: string;
  /** Consecutive exceeding judgements so far. */
  over: number;
  /** Consecutive clear judgements so far (while active). */
  under: number;
  /** The active episode, if any. */
  active?: Alarm;
}

/**
 * Alarm logic with debounce, hysteresis and de-duplication: a condition must exceed for `raiseAfter` samples to raise,
 * and stay below its clear level for `clearAfter` samples to clear; while active, further exceedances update the one
 * alarm (occurrences, latest evidence) instead of raising new ones — one alarm per episode, not one per sample.
 */
export class AlarmManager {
  private readonly raiseAfter: number;
  private readonly clearAfter: number;
  private readonly tracks = new Map<string, Track>();
  /** Condition keys per asset, so that one asset's state is found without scanning every condition. */
  private readonly byAsset = new Map<string, Set<string>>();
  private seq = 0;
  #backwards = 0;
  private readonly idPrefix: string;

  /**
   * @param options - debounce and hysteresis counts
   * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `raiseAfter` or `clearAfter` is not an integer ≥ 1
   *   (a NaN would never raise) or `idPrefix` is not a non-empty string
   */
  constructor(options: AlarmOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalid('AlarmManager', 'options', 'an object', options, 'INVALID_ARGUMENT');
    this.raiseAfter = integer('AlarmManager', 'options.raiseAfter', options.raiseAfter ?? 3, 1);
    this.clearAfter = integer('AlarmManager', 'options.clearAfter', options.clearAfter ?? 5, 1);
    this.idPrefix = options.idPrefix ?? 'alarm';
    if (typeof this.idPrefix !== 'string' || this.idPrefix.length === 0) throw invalid('AlarmManager', 'options.idPrefix', 'a non-empty string', this.idPrefix, 'INVALID_ARGUMENT');
  }

  /**
   * Feeds one judgement of a condition.
   *
   * @param raw - the condition key and asset, whether it exceeds (`exceeded`), whether it is back below the clear
   *   level (`clear`, default `!exceeded`; give a separate lower level for hysteresis), severity, time and evidence
   * @returns the events this judgement caused (none, raised or cleared)
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field` names it) for a key or asset that is not a
   *   non-empty string, a non-boolean `exceeded`/`clear`, an unknown severity, a time that is not finite, or evidence
   *   whose values or window are not finite numbers — an alarm never carries a NaN — or a field whose getter throws;
   *   `INVALID_INPUT` (field `asset`) for a key already tracked for another asset. A time earlier than the condition's
   *   previous judgement is taken as that judgement's time (see {@link backwardsJudgements})
   * @example
   * ```ts
   * import { AlarmManager } from '@lepton/manufacturing';
   * const alarms = new AlarmManager({ raiseAfter: 1 });
   * const evidence = { source: 'nelson-1', signals: ['pressure'], values: { mean: 5.9 }, window: { from: 0, to: 60_000 } };
   * alarms.update({ key: 'press-1:pressure', asset: 'press-1', exceeded: true, severity: 'high', at: 60_000, evidence })[0]?.type; // 'raised'
   * ```
   */
  update(raw: { key: string; asset: string; exceeded: boolean; clear?: boolean; severity: Severity; at: number; evidence: AlarmEvidence }): AlarmEvent[] {
    // Read once (a getter that throws is INVALID_INPUT naming the field) and checked on the copy. The alarm keeps its
    // own copy of the evidence: a caller that reuses (mutates) one evidence object per sample must not rewrite an
    // episode already raised, nor put a NaN into it after it was checked.
    const { input, evidence } = checkUpdate(raw);
    let t = this.tracks.get(input.key);
    if (t && t.asset !== input.asset) {
      throw new LeptonError('INVALID_INPUT', `AlarmManager.update: condition key ${JSON.stringify(input.key)} belongs to another asset; give every asset its own keys.`, { details: { field: 'asset' } });
    }
    if (!t) {
      t = { asset: input.asset, over: 0, under: 0, lastAt: -Infinity };
      this.track(input.key, t);
    }
    // Time never runs backwards within a condition: a judgement stamped before the previous one (a gateway's clock, a
    // late sample) is taken at the previous one's time, so that an episode never clears before it was raised.
    let at = input.at;
    if (at < t.lastAt) {
      at = t.lastAt;
      this.#backwards++;
    }
    t.lastAt = at;
    const clear = input.clear ?? !input.exceeded;
    const events: AlarmEvent[] = [];
    if (input.exceeded) {
      t.over++;
      t.under = 0;
      if (t.active) {
        t.active.occurrences++;
        t.active.evidence = evidence;
      } else if (t.over >= this.raiseAfter) {
        t.active = { id: `${this.idPrefix}-${++this.seq}`, key: input.key, asset: input.asset, severity: input.severity, raisedAt: at, evidence, occurrences: t.over };
        events.push({ type: 'raised', alarm: { ...t.active } });
      }
    } else {
      t.over = 0;
      if (t.active && clear) {
        t.under++;
        if (t.under >= this.clearAfter) {
          t.active.clearedAt = at;
          events.push({ type: 'cleared', alarm: { ...t.active } });
          delete t.active;
          t.under = 0;
        }
      } else if (!clear) t.under = 0;
    }
    return events;
  }

  /**
   * Judgements stamped earlier than their condition's previous judgement (or restored raise), so far. Each was taken at
   * that earlier judgement's time: an episode never clears before it was raised.
   */
  get backwardsJudgements(): number {
    return this.#backwards;
  }

  /**
   * Whether a condition has an active alarm.
   *
   * @param key - the condition key given to {@link update}
   * @returns true while its episode is active
   */
  isActive(key: string): boolean {
    return this.tracks.get(key)?.active !== undefined;
  }

  /** Alarms active now. */
  active(): Alarm[] {
    return [...this.tracks.values()].flatMap((t) => (t.active ? [{ ...t.active }] : []));
  }

  /**
   * The state of every condition of one asset, for handing the asset to another manager (another process).
   *
   * @param asset - the asset
   * @returns copies of its tracks (JSON-safe)
   */
  snapshotAsset(asset: string): AlarmTrackSnapshot[] {
    const out: AlarmTrackSnapshot[] = [];
    for (const key of this.byAsset.get(asset) ?? []) {
      const t = this.tracks.get(key)!;
      out.push({ key, asset, over: t.over, under: t.under, ...(t.active ? { active: { ...t.active, evidence: structuredClone(t.active.evidence) } } : {}) });
    }
    return out;
  }

  /**
   * Takes over conditions from {@link snapshotAsset} of another manager: an active episode stays the same alarm (same
   * id, raised time and occurrences), so this manager neither raises it again nor loses it. The caller validates the
   * tracks' shape here (all of them before any is taken over); ids stay unique as long as every manager has its own
   * `idPrefix`.
   *
   * @param tracks - tracks from {@link snapshotAsset}
   * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`, e.g. `tracks[2].active.evidence`) when
   *   `tracks` is not an array of tracks: a key or asset that is not a non-empty string, counts that are not
   *   non-negative integers, or an active episode of another condition, already cleared, or whose severity, times,
   *   occurrences or evidence are not what {@link update} accepts; nothing is restored then
   */
  restoreTracks(tracks: readonly AlarmTrackSnapshot[]): void {
    const checked = checkTracks(tracks);
    for (const t of checked) {
      const old = this.tracks.get(t.key);
      if (old) this.byAsset.get(old.asset)?.delete(t.key);
      this.track(t.key, { asset: t.asset, over: t.over, under: t.under, lastAt: t.active ? t.active.raisedAt : -Infinity, ...(t.active ? { active: t.active } : {}) });
    }
  }

  /**
   * Forgets every condition of one asset (it is monitored elsewhere now): its active alarms are neither cleared nor
   * reported again here.
   *
   * @param asset - the asset
   * @returns how many conditions were dropped
   */
  forgetAsset(asset: string): number {
    const keys = this.byAsset.get(asset);
    if (!keys) return 0;
    for (const key of keys) this.tracks.delete(key);
    this.byAsset.delete(asset);
    return keys.size;
  }

  private track(key: string, t: Track): void {
    this.tracks.set(key, t);
    let keys = this.byAsset.get(t.asset);
    if (!keys) this.byAsset.set(t.asset, (keys = new Set()));
    keys.add(key);
  }
}

type UpdateInput = { key: string; asset: string; exceeded: boolean; clear?: boolean; severity: Severity; at: number; evidence: AlarmEvidence };

/** Cheap guard on {@link AlarmManager.update}'s input (read once): what goes into an alarm comes out of the API. */
function checkUpdate(raw: UpdateInput): { input: UpdateInput; evidence: AlarmEvidence } {
  const fn = 'AlarmManager.update';
  if (typeof raw !== 'object' || raw === null) throw invalid(fn, 'input', 'an object', raw);
  const input = readFields(fn, 'input', raw, ['key', 'asset', 'exceeded', 'clear', 'severity', 'at', 'evidence'] as const, 'INVALID_INPUT') as UpdateInput;
  if (typeof input.key !== 'string' || input.key.length === 0) throw invalid(fn, 'key', 'a non-empty string', input.key);
  if (typeof input.asset !== 'string' || input.asset.length === 0) throw invalid(fn, 'asset', 'a non-empty string', input.asset);
  if (typeof input.exceeded !== 'boolean') throw invalid(fn, 'exceeded', 'a boolean', input.exceeded);
  if (input.clear !== undefined && typeof input.clear !== 'boolean') throw invalid(fn, 'clear', 'a boolean', input.clear);
  if (!SEVERITIES.includes(input.severity)) throw invalid(fn, 'severity', `one of ${SEVERITIES.join(', ')}`, input.severity);
  if (typeof input.at !== 'number' || !Number.isFinite(input.at)) throw invalid(fn, 'at', 'a finite number (epoch ms)', input.at);
  return { input, evidence: checkEvidence(fn, 'evidence', input.evidence) };
}

/**
 * @internal Checks alarm evidence (what goes into an alarm comes out of the API: no NaN, no wrong-typed signal, no hole
 * in `signals`), reading each field once; returns a copy of its fields only, which is what the alarm keeps.
 */
export function checkEvidence(fn: string, field: string, e: unknown): AlarmEvidence {
  if (typeof e !== 'object' || e === null) throw invalid(fn, field, 'an object', e);
  const ev = readFields(fn, field, e, ['source', 'signals', 'values', 'window'] as const, 'INVALID_INPUT');
  if (typeof ev.source !== 'string') throw invalid(fn, `${field}.source`, 'a string', ev.source);
  if (!Array.isArray(ev.signals)) throw invalid(fn, `${field}.signals`, 'an array of strings', ev.signals);
  const sigs = ev.signals as unknown[];
  const signals: string[] = [];
  for (let i = 0; i < sigs.length; i++) {
    const x = sigs[i];
    if (typeof x !== 'string') throw invalid(fn, `${field}.signals[${i}]`, 'a string', x);
    signals.push(x);
  }
  if (typeof ev.values !== 'object' || ev.values === null || Array.isArray(ev.values)) throw invalid(fn, `${field}.values`, 'an object of numbers', ev.values);
  const values: Record<string, number> = {};
  for (const [k, v] of Object.entries(ev.values)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(fn, `${field}.values.${k}`, 'a finite number', v);
    Object.defineProperty(values, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  if (typeof ev.window !== 'object' || ev.window === null) throw invalid(fn, `${field}.window`, 'an object { from, to }', ev.window);
  const w = readFields(fn, `${field}.window`, ev.window, ['from', 'to'] as const, 'INVALID_INPUT');
  for (const k of ['from', 'to'] as const) if (typeof w[k] !== 'number' || !Number.isFinite(w[k])) throw invalid(fn, `${field}.window.${k}`, 'a finite number (epoch ms)', w[k]);
  return { source: ev.source, signals, values, window: { from: w.from as number, to: w.to as number } };
}

/** @internal A copy of checked evidence (its fields only), so that the alarm does not share objects with the caller. */
export function copyEvidence(e: AlarmEvidence): AlarmEvidence {
  return { source: e.source, signals: [...e.signals], values: { ...e.values }, window: { from: e.window.from, to: e.window.to } };
}

/**
 * Checks tracks handed to {@link AlarmManager.restoreTracks} (from another process: untrusted), all before any is
 * taken, with index loops (a hole in the array is refused, never skipped); returns copies built field by field (an
 * unknown field of a restored alarm is not carried into later events).
 */
function checkTracks(tracks: unknown): Array<{ key: string; asset: string; over: number; under: number; active?: Alarm }> {
  const fn = 'AlarmManager.restoreTracks';
  if (!Array.isArray(tracks)) throw invalid(fn, 'tracks', 'an array of tracks (from snapshotAsset)', tracks);
  const id = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || v.length === 0) throw invalid(fn, field, 'a non-empty string', v);
    return v;
  };
  const out: Array<{ key: string; asset: string; over: number; under: number; active?: Alarm }> = [];
  for (let i = 0; i < tracks.length; i++) {
    const t: unknown = tracks[i];
    const at = `tracks[${i}]`;
    if (typeof t !== 'object' || t === null) throw invalid(fn, at, 'a track { key, asset, over, under, active? }', t);
    const o = readFields(fn, at, t, ['key', 'asset', 'over', 'under', 'active'] as const, 'INVALID_INPUT');
    const key = id(`${at}.key`, o.key);
    const asset = id(`${at}.asset`, o.asset);
    const over = integer(fn, `${at}.over`, o.over, 0, Number.MAX_SAFE_INTEGER, 'INVALID_INPUT');
    const under = integer(fn, `${at}.under`, o.under, 0, Number.MAX_SAFE_INTEGER, 'INVALID_INPUT');
    if (o.active === undefined) {
      out.push({ key, asset, over, under });
      continue;
    }
    if (typeof o.active !== 'object' || o.active === null) throw invalid(fn, `${at}.active`, 'an active alarm', o.active);
    const a = readFields(fn, `${at}.active`, o.active, ['id', 'key', 'asset', 'severity', 'raisedAt', 'clearedAt', 'evidence', 'occurrences'] as const, 'INVALID_INPUT');
    const alarmId = id(`${at}.active.id`, a.id);
    if (a.key !== key || a.asset !== asset || a.clearedAt !== undefined) {
      throw new LeptonError('INVALID_INPUT', `${fn}: ${at}.active is not an active episode of this condition (another key or asset, or cleared).`, { details: { field: `${at}.active` } });
    }
    if (!SEVERITIES.includes(a.severity as string)) throw invalid(fn, `${at}.active.severity`, `one of ${SEVERITIES.join(', ')}`, a.severity);
    if (typeof a.raisedAt !== 'number' || !Number.isFinite(a.raisedAt)) throw invalid(fn, `${at}.active.raisedAt`, 'a finite number (epoch ms)', a.raisedAt);
    const occurrences = integer(fn, `${at}.active.occurrences`, a.occurrences, 1, Number.MAX_SAFE_INTEGER, 'INVALID_INPUT');
    const evidence = checkEvidence(fn, `${at}.active.evidence`, a.evidence);
    out.push({ key, asset, over, under, active: { id: alarmId, key, asset, severity: a.severity as Severity, raisedAt: a.raisedAt, evidence, occurrences } });
  }
  return out;
}
