import type { SensorRecord } from './record.js';

/** Kinds of data-quality problem, each reported, never passed silently to a model. */
export type QualityIssueKind = 'gap' | 'out-of-order' | 'missing-value' | 'stuck' | 'bad-quality' | 'duplicate';

/** One data-quality problem. */
export interface QualityIssue {
  /** What went wrong. */
  kind: QualityIssueKind;
  /** Asset and signal. */
  asset: string;
  /** Signal name. */
  signal: string;
  /** Time of the sample that revealed it, epoch ms. */
  at: number;
  /** Human-readable detail (gap length, repeated value count …). */
  detail: string;
}

/** What {@link QualityMonitor.check} decided about one sample. */
export interface QualityVerdict {
  /** True when the sample may go to a model. */
  clean: boolean;
  /** Problems the sample revealed (a sample can be clean and still reveal a gap before it). */
  issues: QualityIssue[];
}

/** Options for {@link QualityMonitor}. */
export interface QualityOptions {
  /** Expected sampling interval, ms. Default 1000. */
  intervalMs?: number;
  /** A gap is reported when samples are more than this many intervals apart. Default 3. */
  gapFactor?: number;
  /** The same value this many times in a row is reported as a stuck sensor (and later repeats withheld). Default 20. */
  stuckAfter?: number;
}

interface SignalState {
  lastTs: number;
  lastValue: number;
  repeats: number;
}

/**
 * Checks a telemetry stream sample by sample, per asset and signal: gaps, out-of-order and duplicate timestamps,
 * missing values (NaN), stuck sensors (a value repeated `stuckAfter` times) and samples flagged bad. Each problem
 * becomes a {@link QualityIssue}; only clean samples are returned for the models.
 */
export class QualityMonitor {
  private readonly interval: number;
  private readonly gapFactor: number;
  private readonly stuckAfter: number;
  private readonly states = new Map<string, SignalState>();
  private readonly counts: Record<QualityIssueKind | 'clean', number> = { clean: 0, gap: 0, 'out-of-order': 0, 'missing-value': 0, stuck: 0, 'bad-quality': 0, duplicate: 0 };

  /**
   * @param options - interval, gap factor and stuck threshold
   */
  constructor(options: QualityOptions = {}) {
    this.interval = options.intervalMs ?? 1000;
    this.gapFactor = options.gapFactor ?? 3;
    this.stuckAfter = options.stuckAfter ?? 20;
  }

  /**
   * Checks one sample.
   *
   * @param r - a validated sample
   * @returns whether the sample is clean enough for a model, and the issues it revealed
   */
  check(r: SensorRecord): QualityVerdict {
    const key = `${r.asset}\u0000${r.signal}`;
    const issue = (kind: QualityIssueKind, detail: string): QualityIssue => {
      this.counts[kind]++;
      return { kind, asset: r.asset, signal: r.signal, at: r.timestamp, detail };
    };
    const issues: QualityIssue[] = [];
    const s = this.states.get(key);
    if (s && r.timestamp < s.lastTs) {
      issues.push(issue('out-of-order', `${s.lastTs - r.timestamp} ms older than the previous sample`));
      return { clean: false, issues };
    }
    if (s && r.timestamp === s.lastTs) {
      issues.push(issue('duplicate', 'same timestamp as the previous sample'));
      return { clean: false, issues };
    }
    if (s && r.timestamp - s.lastTs > this.gapFactor * this.interval) {
      issues.push(issue('gap', `${((r.timestamp - s.lastTs) / 1000).toFixed(1)} s without samples`));
    }
    let clean = true;
    if (r.quality === 'bad') {
      issues.push(issue('bad-quality', 'sample flagged bad by the source'));
      clean = false;
    }
    if (!Number.isFinite(r.value)) {
      issues.push(issue('missing-value', 'value is NaN or missing'));
      clean = false;
    }
    const next: SignalState = { lastTs: r.timestamp, lastValue: r.value, repeats: 1 };
    if (clean && s && s.lastValue === r.value) {
      next.repeats = s.repeats + 1;
      if (next.repeats === this.stuckAfter) issues.push(issue('stuck', `same value ${this.stuckAfter} times in a row`));
      if (next.repeats >= this.stuckAfter) clean = false;
    }
    this.states.set(key, next);
    if (clean) this.counts.clean++;
    return { clean, issues };
  }

  /** Samples passed as clean and issues found, by kind. */
  stats(): Record<QualityIssueKind | 'clean', number> {
    return { ...this.counts };
  }
}
