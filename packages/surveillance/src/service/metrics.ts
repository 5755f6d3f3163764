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
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` for families that are not an array, an invalid metric or
 *   label name, a help text or label value that is not a string, a type other than `counter` or `gauge`, samples that
 *   are not an array of `{ labels?, value: number }` (still an `Error`, as before)
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
  if (!Array.isArray(families)) throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: families must be an array, got ${describeValue(families)}.`);
  const lines: string[] = [];
  for (const f of families) {
    // typeof first: a name from JavaScript may be anything, and NAME.test() would convert it (a TypeError for some).
    if (typeof f?.name !== 'string' || !NAME.test(f.name)) throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: invalid metric name ${describeValue(f?.name)}.`);
    if (typeof f.help !== 'string') throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: ${f.name} needs a help text (a string).`);
    // Only the two types: any other string would be written into the exposition as is (lines of its own included).
    if (f.type !== 'counter' && f.type !== 'gauge') throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: ${f.name}'s type must be 'counter' or 'gauge', got ${describeValue(f.type, 40)}.`);
    if (!Array.isArray(f.samples)) throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: ${f.name}'s samples must be an array, got ${describeValue(f.samples)}.`);
    for (const s of f.samples) {
      if (s === null || typeof s !== 'object' || typeof s.value !== 'number') throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: a sample of ${f.name} must be { labels?, value: number }, got ${describeValue(s)}.`);
      if (s.labels !== undefined && (s.labels === null || typeof s.labels !== 'object')) throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: the labels of a ${f.name} sample must be an object, got ${describeValue(s.labels)}.`);
    }
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      if (!Number.isFinite(s.value)) continue;
      const entries = Object.entries(s.labels ?? {});
      for (const [k, v] of entries) {
        if (!LABEL.test(k) || k.startsWith('__')) throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: invalid label name ${describeValue(k)} on ${f.name}.`);
        if (typeof v !== 'string') throw new LeptonError('INVALID_ARGUMENT', `renderMetrics: label ${k} on ${f.name} is ${describeValue(v)}, not a string.`);
      }
      const labels = entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escapeValue(v as string)}"`).join(',')}}`;
      lines.push(`${f.name}${labels} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
