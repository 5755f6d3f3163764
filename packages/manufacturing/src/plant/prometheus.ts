import { LeptonError } from '@lepton/core';
import type { LineMonitorStats } from '../monitoring/line-monitor.js';
import { ALARM_SOURCES, severityRank, type AssetHealthState } from './asset-health.js';
import type { LineStatus } from './line-status.js';

/** The content type of the Prometheus text exposition format this module writes. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** One sample of a {@link MetricFamily}: labels and a finite value. */
export interface MetricSample {
  /** Label names (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__`) and values (any text; escaped on output). */
  labels?: Record<string, string>;
  /** The value; must be finite. */
  value: number;
}

/** A Prometheus metric family: name, help text, type and samples. */
export interface MetricFamily {
  /** Metric name, `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`. */
  name: string;
  /** One line of help (backslashes and newlines are escaped on output). */
  help: string;
  /** `counter`, `gauge` or `untyped`. */
  type: 'counter' | 'gauge' | 'untyped';
  /** Its samples (none is fine: the family is still declared). */
  samples: MetricSample[];
}

/** Anything that can describe itself as metric families (the status, the publishers, the OPC UA source). */
export interface MetricsSource {
  /** Its metric families now. */
  metricFamilies(): MetricFamily[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function bad(field: string, what: string): LeptonError {
  return new LeptonError('INVALID_INPUT', `renderPrometheus: ${field} ${what}.`, { details: { field } });
}

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * A metric family with one sample: the counters and gauges the plant's outputs and sources report about themselves.
 * @internal
 */
export function singleSample(type: 'counter' | 'gauge', name: string, help: string, labels: Record<string, string>, value: number): MetricFamily {
  return { name, help, type, samples: [{ labels, value }] };
}

/**
 * Writes metric families in the Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` lines, then one line per
 * sample, label values escaped (`\\`, `\"`, `\n`).
 *
 * Families that share a name (e.g. two lines' {@link lineStatusMetrics} in one process) are merged into one.
 *
 * @param families - the families; one name may come more than once with the same type and help
 * @returns the exposition text (ends with a newline)
 * @throws {@link @lepton/core!LeptonError} `INVALID_INPUT` (`details.field`) for a bad metric or label name, labels
 *   that are not an object, a family repeated with another type or help, a repeated series (same name and labels), a counter not named `*_total`, or a
 *   value that is not a finite number
 * @example
 * ```ts
 * import { renderPrometheus } from '@lepton/manufacturing';
 * console.log(renderPrometheus([{ name: 'up', help: 'Is it up.', type: 'gauge', samples: [{ labels: { line: 'a "b"' }, value: 1 }] }]));
 * // # HELP up Is it up.
 * // # TYPE up gauge
 * // up{line="a \"b\""} 1
 * ```
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  if (!Array.isArray(families)) throw bad('families', 'must be an array of metric families');
  // Families with one name (two lines, two publishers in one process) are merged under one HELP/TYPE, in first-seen order.
  const byName = new Map<string, { help: string; type: MetricFamily['type']; lines: string[] }>();
  const series = new Set<string>();
  families.forEach((f, i) => {
    const at = `families[${i}]`;
    if (typeof f !== 'object' || f === null || typeof f.name !== 'string' || !NAME.test(f.name)) throw bad(`${at}.name`, 'must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    if (f.type !== 'counter' && f.type !== 'gauge' && f.type !== 'untyped') throw bad(`${at}.type`, "must be 'counter', 'gauge' or 'untyped'");
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw bad(`${at}.name`, "of a counter must end in '_total'");
    if (typeof f.help !== 'string') throw bad(`${at}.help`, 'must be a string');
    if (!Array.isArray(f.samples)) throw bad(`${at}.samples`, 'must be an array');
    let family = byName.get(f.name);
    if (!family) byName.set(f.name, (family = { help: f.help, type: f.type, lines: [] }));
    else if (family.type !== f.type || family.help !== f.help) throw bad(`${at}.name`, 'repeats a family with another type or help');
    (f.samples as MetricSample[]).forEach((s, j) => {
      const where = `${at}.samples[${j}]`;
      if (typeof s !== 'object' || s === null || typeof s.value !== 'number' || !Number.isFinite(s.value)) throw bad(`${where}.value`, 'must be a finite number');
      // Labels are an object of strings or absent: a number or a Symbol there is a caller's mistake, not "no labels".
      if (s.labels !== undefined && (typeof s.labels !== 'object' || s.labels === null || Array.isArray(s.labels))) throw bad(`${where}.labels`, 'must be an object of label values');
      const labels = Object.entries(s.labels ?? {});
      for (const [k, v] of labels as Array<[string, unknown]>) {
        if (!LABEL.test(k) || k.startsWith('__')) throw bad(`${where}.labels`, 'has a label name that is not [a-zA-Z_][a-zA-Z0-9_]* (or starts with __)');
        if (typeof v !== 'string') throw bad(`${where}.labels.${k}`, 'must be a string');
      }
      const key = JSON.stringify([f.name, labels.slice().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
      if (series.has(key)) throw bad(`${where}.labels`, 'repeat a series (same name and labels) already written');
      series.add(key);
      const text = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      family.lines.push(`${f.name}${text} ${Object.is(s.value, -0) ? 0 : s.value}`);
    });
  });
  const out: string[] = [];
  for (const [name, f] of byName) out.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`, ...f.lines);
  return `${out.join('\n')}\n`;
}

const STATES: readonly AssetHealthState[] = ['ok', 'degraded', 'stale', 'alarm'];

/**
 * A line's status as Prometheus metric families: per asset, samples accepted and refused, active alarms by source,
 * the highest active severity, health (one gauge per state, 1 on the current one), SPC state per signal, the age of
 * the last sample and its timestamp; per line, the monitor's own counters when a `LineMonitor` is given.
 *
 * @param status - the line status
 * @param monitor - optional: the monitor, for its counters (records, rejections, quality issues by kind, windows scored …)
 * @returns the families (render with {@link renderPrometheus})
 * @throws {@link @lepton/core!LeptonError} `INVALID_ARGUMENT` when `status` is not a {@link LineStatus} or `monitor`
 *   (when given) has no `stats()`
 */
export function lineStatusMetrics(status: LineStatus, monitor?: { stats(): LineMonitorStats }): MetricFamily[] {
  const st0 = status as unknown as Partial<Record<'time' | 'healthAll' | 'stats' | 'line', unknown>> | null;
  if (typeof st0 !== 'object' || st0 === null || typeof st0.time !== 'function' || typeof st0.healthAll !== 'function' || typeof st0.stats !== 'function' || typeof st0.line !== 'string') {
    throw new LeptonError('INVALID_ARGUMENT', 'lineStatusMetrics: status must be a LineStatus.', { details: { field: 'status' } });
  }
  if (monitor !== undefined && monitor !== null && (typeof monitor !== 'object' || typeof (monitor as { stats?: unknown }).stats !== 'function')) {
    throw new LeptonError('INVALID_ARGUMENT', 'lineStatusMetrics: monitor must be a LineMonitor (anything with stats()).', { details: { field: 'monitor' } });
  }
  const now = status.time();
  const health = status.healthAll();
  const line = status.line;
  const per = (name: string, help: string, type: MetricFamily['type'], value: (h: (typeof health)[number]) => number | undefined): MetricFamily => ({
    name,
    help,
    type,
    samples: health.flatMap((h) => {
      const v = value(h);
      return v === undefined ? [] : [{ labels: { line, asset: h.asset }, value: v }];
    }),
  });
  const st = status.stats();
  const families: MetricFamily[] = [
    per('lepton_mfg_samples_accepted_total', 'Samples of the asset the monitor accepted.', 'counter', (h) => h.samples.accepted),
    {
      ...per('lepton_mfg_samples_rejected_total', 'Records refused at validation; asset="" for records that name no valid asset.', 'counter', (h) => h.samples.rejected),
      samples: [...health.map((h) => ({ labels: { line, asset: h.asset }, value: h.samples.rejected })), { labels: { line, asset: '' }, value: st.rejectedUnattributed }],
    },
    {
      name: 'lepton_mfg_alarms_active',
      help: 'Active alarms of the asset by source (spc, model, quality, clock, handover).',
      type: 'gauge',
      samples: health.flatMap((h) => ALARM_SOURCES.map((source) => ({ labels: { line, asset: h.asset, source }, value: h.bySource[source] }))),
    },
    per('lepton_mfg_alarms_unacknowledged', 'Active alarms of the asset not acknowledged by an operator.', 'gauge', (h) => h.unacknowledged),
    per('lepton_mfg_alarm_severity', 'Highest severity among the active alarms: 0 none, 1 low, 2 medium, 3 high, 4 critical.', 'gauge', (h) => severityRank(h.severity)),
    {
      name: 'lepton_mfg_asset_health',
      help: 'Asset health as a state set: 1 on the current state (ok, degraded, stale, alarm), 0 on the others.',
      type: 'gauge',
      samples: health.flatMap((h) => STATES.map((state) => ({ labels: { line, asset: h.asset, state }, value: h.state === state ? 1 : 0 }))),
    },
    {
      name: 'lepton_mfg_spc_out_of_control',
      help: 'Whether an SPC alarm is active on the signal of the asset (1) or not (0).',
      type: 'gauge',
      samples: health.flatMap((h) => Object.entries(h.spc).map(([signal, s]) => ({ labels: { line, asset: h.asset, signal }, value: s === 'out-of-control' ? 1 : 0 }))),
    },
    per('lepton_mfg_quality_issues_total', 'One-off data-quality issues of the asset (gaps, out-of-order, duplicates, stuck sensors).', 'counter', (h) => h.qualityIssues),
    per('lepton_mfg_last_sample_age_seconds', 'Seconds since a sample of the asset last arrived (absent before the first).', 'gauge', (h) => (h.lastSeenAt === null ? undefined : Math.max(0, now - h.lastSeenAt) / 1000)),
    per('lepton_mfg_last_sample_timestamp_seconds', 'Timestamp of the newest sample of the asset (the data clock), Unix seconds.', 'gauge', (h) => (h.lastSampleAt === null ? undefined : h.lastSampleAt / 1000)),
    { name: 'lepton_mfg_assets', help: 'Assets tracked on the line.', type: 'gauge', samples: [{ labels: { line }, value: health.length }] },
    singleSample('counter', 'lepton_mfg_untracked_samples_total', 'Samples of assets beyond maxAssets, not tracked.', { line }, st.untracked),
  ];
  if (monitor) {
    const m = monitor.stats();
    const c = (name: string, help: string, value: number): MetricFamily => singleSample('counter', `lepton_mfg_monitor_${name}_total`, help, { line }, value);
    families.push(
      c('records', 'Records pushed to the line monitor.', m.records),
      c('rejected', 'Records the line monitor refused.', m.rejected),
      c('unknown_signal', 'Records for signals the monitor does not know.', m.unknownSignal),
      c('rows', 'Complete rows assembled.', m.rows),
      c('filled', 'Missing values filled from the previous value.', m.filled),
      c('windows_scored', 'Windows the learned detector scored.', m.windowsScored),
      c('rows_unscored', 'Rows the detector could not score (too many values missing).', m.rowsUnscored),
      c('subgroups', 'SPC subgroup points judged.', m.subgroups),
      c('subgroups_skipped', 'SPC subgroup points skipped (too few clean samples).', m.subgroupsSkipped),
      {
        name: 'lepton_mfg_monitor_quality_total',
        help: 'Samples by data-quality verdict (clean, or the issue found).',
        type: 'counter',
        samples: Object.entries(m.quality).map(([kind, value]) => ({ labels: { line, kind }, value })),
      },
      { name: 'lepton_mfg_monitor_alarms_raised_total', help: 'Alarm episodes raised by source kind.', type: 'counter', samples: Object.entries(m.raised).map(([source, value]) => ({ labels: { line, source }, value })) },
    );
  }
  return families;
}
