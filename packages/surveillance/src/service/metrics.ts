import { describeValue, LeptonError } from '@lepton/core';

/** One sample of a metric: its labels and value. */
export interface MetricSample {
  /** Label names and values (names: `[a-zA-Z_][a-zA-Z0-9_]*`). */
  labels?: Readonly<Record<string, string>>;
  /** The value; a sample whose value is not finite is left out. */
  value: number;
}

/** A metric family: name, help, type and samples, as Prometheus' text format groups them. */
export interface MetricFamily {
  /** Metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`). */
  name: string;
  /** One line of help. */
  help: string;
  /** `counter` (only goes up, restarts at 0 with the process) or `gauge`. */
  type: 'counter' | 'gauge';
  /** The samples. */
  samples: readonly MetricSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeValue = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus' spelling of a number (integers without a fraction, others as JavaScript prints them). */
function formatValue(v: number): string {
  return Number.isInteger(v) ? v.toFixed(0) : String(v);
}

/**
 * Renders metric families in Prometheus' text exposition format (version 0.0.4): `# HELP` and `# TYPE` lines, then one
 * `name{label="value",…} value` line per sample; help and label values escaped (`\\`, `\"`, `\n`). Families and
 * labels with invalid names are a programming error and throw; samples with a non-finite value are left out (an
 * exporter never sends NaN as a measurement).
 *
 * @param families - the metrics
 * @returns the exposition text (ends with a newline)
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for an invalid metric or label name, a help text, type or label
 *   value that is not a string (still an `Error`, as before)
 * @example
 * ```ts
 * import { renderMetrics } from '@lepton/surveillance';
 * console.log(renderMetrics([{ name: 'frames_total', help: 'Frames.', type: 'counter', samples: [{ labels: { camera: 'gate' }, value: 12 }] }]));
 * // # HELP frames_total Frames.
 * // # TYPE frames_total counter
 * // frames_total{camera="gate"} 12
 * ```
 */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    // typeof first: a name from JavaScript may be anything, and NAME.test() would convert it (a TypeError for some).
    if (typeof f?.name !== 'string' || !NAME.test(f.name)) throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: invalid metric name ${describeValue(f?.name)}.`);
    if (typeof f.help !== 'string' || typeof f.type !== 'string') throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: ${f.name} needs a help text and a type (strings).`);
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      if (!Number.isFinite(s.value)) continue;
      const entries = Object.entries(s.labels ?? {});
      for (const [k, v] of entries) {
        if (!LABEL.test(k) || k.startsWith('__')) throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: invalid label name ${describeValue(k)} on ${f.name}.`);
        if (typeof v !== 'string') throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: label ${k} on ${f.name} is ${describeValue(v)}, not a string.`);
      }
      const labels = entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}`;
      lines.push(`${f.name}${labels} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
