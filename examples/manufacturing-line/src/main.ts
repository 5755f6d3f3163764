// Manufacturing-line example. Everything runs on seeded synthetic data generated here (a simulated line, not a real
// plant): five machines with eight sensors each, one shift (8 h at one sample per 10 s) with a valve fault, a drifting
// temperature sensor, a bearing wearing towards failure, a sensor dropout and a stuck sensor.
// simulate normal operation → fit SPC limits and the autoencoder → train remaining-useful-life on run-to-failure
// histories → replay the shift through an MQTT broker into the line monitor → print alarms with their evidence →
// control-chart and RUL charts → RUL per machine.
import { mkdir, writeFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import {
  AnomalyDetector,
  DefectInspector,
  generateParts,
  PART_LABELS,
  bearingRunToFailure,
  controlChartSpec,
  cycleMeans,
  evaluateRules,
  initRuntime,
  LINE_CYCLE,
  LINE_SIGNALS,
  LineMonitor,
  MqttTelemetry,
  RulModel,
  simulateLine,
  type Alarm,
  type Chart,
  type LineEvent,
  type LineFault,
  type RuleSet,
} from '@lepton/manufacturing';
import { renderChart } from '@lepton/charts';
import { startBroker } from './broker.js';

const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const runtime = await initRuntime();
console.log(`runtime: ${runtime.backend} (${runtime.device})`);

const INTERVAL = 10_000; // one sample per 10 s; a product cycle (LINE_CYCLE samples) is 10 min
const SHIFT = 8 * 360; // 8 h
const ASSETS = ['press-1', 'press-2', 'mill-1', 'mill-2', 'lathe-1'];
const SHIFT_START = Date.UTC(2026, 0, 5, 6);
const FAILURE = 3400; // mill-2's bearing fails 520 samples (~1.4 h) after the shift ends
const FAULTS: LineFault[] = [
  { asset: 'press-2', kind: 'step', from: 720, signal: 'pressure', magnitude: 0.3 }, // 08:00 a valve sticks part-open
  { asset: 'mill-1', kind: 'drift', from: 360, signal: 'temperature', magnitude: 0.004 }, // 07:00 sensor starts drifting
  { asset: 'mill-2', kind: 'bearing-wear', from: 300, to: FAILURE }, // bearing wearing through the shift
  { asset: 'lathe-1', kind: 'dropout', from: 1500, to: 1590, signal: 'vibration_rms' }, // 15 min without vibration
  { asset: 'lathe-1', kind: 'stuck', from: 2000, to: 2100, signal: 'coolant_flow' }, // flow meter frozen
];

// 1. Normal operation of the same machines (another seed) to learn from: 40 h for SPC limits, the first 11 h for the
//    autoencoder.
const normal = simulateLine({ assets: ASSETS, samples: 14_400, seed: 101, intervalMs: INTERVAL });
// Shewhart's rule 1 on 10-min means, raised after two violating subgroups: with 40 charts on autocorrelated thermal
// signals, the Western Electric run rules would raise several false alarms per shift (see the package README).
const spc: { ruleSet: RuleSet; subgroup: number } = { ruleSet: { rules: [1], runLength: 9 }, subgroup: LINE_CYCLE };
const baseline = LineMonitor.fitBaseline(normal.rows, LINE_SIGNALS, spc.subgroup);
const detector = await AnomalyDetector.fitSeries(
  ASSETS.map((a) => normal.rows[a]!.slice(0, 4000)),
  { signals: [...LINE_SIGNALS], window: 20, epochs: 8, quantile: 0.999, seed: 1 },
);
console.log(`[${elapsed()}] SPC limits for ${ASSETS.length} machines × ${LINE_SIGNALS.length} signals; autoencoder threshold ${detector.threshold.toFixed(3)} (99.9 % of normal windows)`);

// 2. Remaining useful life: a GRU on run-to-failure histories of the same kind of spindle (one row per 10-min cycle),
//    on the signals that bear on spindle-bearing health (load context plus bearing temperature, vibration, acoustics).
const RUL_SIGNALS = ['spindle_speed', 'current', 'bearing_temp', 'vibration_rms', 'acoustic'];
const pick = (rows: number[][]): number[][] => rows.map((r) => RUL_SIGNALS.map((s) => r[LINE_SIGNALS.indexOf(s as (typeof LINE_SIGNALS)[number])]!));
const histories = bearingRunToFailure({ units: 24, seed: 7 }).map((h) => ({ unit: h.unit, rows: pick(h.rows) }));
const rul = await RulModel.fit(histories, { window: 10, cap: 40, epochs: 12, seed: 1 });
console.log(`[${elapsed()}] RUL model trained on ${histories.length} run-to-failure histories (${histories.reduce((a, h) => a + h.rows.length, 0)} cycles)`);

// 3. The shift, published by a gateway to an MQTT broker, one message per sample on plant/<asset>/<signal>.
const shift = simulateLine({ assets: ASSETS, samples: SHIFT, seed: 202, intervalMs: INTERVAL, start: SHIFT_START, faults: FAULTS });
const broker = await startBroker();
const telemetry = await MqttTelemetry.connect({ url: broker.url, topic: 'plant/{asset}/{signal}', clientId: 'lepton-line-monitor' });
while (telemetry.stats().subscriptions < 1) await new Promise((r) => setTimeout(r, 20));
const monitor = new LineMonitor({ signals: LINE_SIGNALS, detector, baseline, ...spc, quality: { intervalMs: INTERVAL }, alarms: { spc: { raiseAfter: 2 } } });
console.log(`[${elapsed()}] replaying the shift through ${broker.kind} at ${broker.url}`);

const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
const fmt = (v: number | undefined): string => (v === undefined ? '?' : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2));
function describe(a: Alarm): string {
  const e = a.evidence;
  if (e.source === 'autoencoder') {
    const top = e.signals.map((s) => `${s} ${fmt(e.values[s])}×`).join(', ');
    return `autoencoder score ${fmt(e.values.score)} > ${fmt(e.values.threshold)}; signals vs normal error: ${top}`;
  }
  if (e.source.startsWith('data-quality')) return `${e.source} on ${e.signals[0]}`;
  return `SPC ${e.source} on ${e.signals[0]}: 10-min mean ${fmt(e.values.mean)} (centre ${fmt(e.values.center)}, limits ${fmt(e.values.lcl)}–${fmt(e.values.ucl)}, z ${fmt(e.values.z)})`;
}

const published = { samples: 0, malformed: 0 };
async function publishShift(): Promise<void> {
  const gateway = await mqtt.connectAsync(broker.url, { clientId: 'line-gateway' });
  for (let t = 0; t < SHIFT; t++) {
    const sends: Array<Promise<unknown>> = [];
    for (const asset of ASSETS) {
      shift.rows[asset]![t]!.forEach((value, j) => {
        const payload = JSON.stringify({ timestamp: shift.timestamps[t], value: Number.isNaN(value) ? null : value, quality: 'good' });
        sends.push(gateway.publishAsync(`plant/${asset}/${LINE_SIGNALS[j]}`, payload, { qos: 1 }));
      });
    }
    // A damaged gateway message now and then: counted and reported, never fed to a model.
    if (t === 1000 || t === 2500) {
      sends.push(gateway.publishAsync('plant/press-1/pressure', '{"timestamp": "not a time", "value": "high"}', { qos: 1 }));
      published.malformed++;
    }
    await Promise.all(sends);
    published.samples += sends.length;
  }
  await gateway.endAsync();
}

const raised: Alarm[] = [];
const events: LineEvent[] = [];
const consume = (async () => {
  for await (const e of monitor.run(telemetry.items())) {
    events.push(e);
    if (e.type === 'raised') {
      raised.push(e.alarm);
      console.log(`${clock(e.alarm.raisedAt)} RAISED  ${e.alarm.severity.padEnd(6)} ${e.alarm.asset.padEnd(8)} ${e.alarm.id.padEnd(10)} ${describe(e.alarm)}`);
    } else if (e.type === 'cleared') {
      console.log(`${clock(e.alarm.clearedAt!)} cleared ${''.padEnd(6)} ${e.alarm.asset.padEnd(8)} ${e.alarm.id.padEnd(10)} after ${e.alarm.occurrences} exceedances`);
    } else if (e.type === 'quality') {
      console.log(`${clock(e.issue.at)} QUALITY        ${e.issue.asset.padEnd(8)} ${e.issue.kind} on ${e.issue.signal}: ${e.issue.detail}`);
    } else {
      console.log(`         REJECTED message on ${e.rejection.source}: ${e.rejection.issues.map((i) => `${i.field} ${i.message}`).join('; ')}`);
    }
  }
})();
await publishShift();
while (telemetry.stats().received < published.samples) await new Promise((r) => setTimeout(r, 20));
await telemetry.close();
await consume;
await broker.stop();
const ts = telemetry.stats();
const ms = monitor.stats();
console.log(
  `[${elapsed()}] shift replayed: published ${published.samples} messages (${published.malformed} malformed), received ${ts.received}, rejected ${ts.rejected}, overflow ${ts.overflow}; ` +
    `monitor: ${ms.rows} rows, ${ms.windowsScored} windows scored in ${ms.batches} forward passes, ${ms.subgroups} SPC points, ${ms.filled} values filled, ${ms.rowsUnscored} rows unscored; ` +
    `alarms raised: SPC ${ms.raised.spc}, model ${ms.raised.model}, data quality ${ms.raised.quality}`,
);

// 4. Which fault was caught, when, and by what.
for (const f of FAULTS) {
  const onset = shift.timestamps[f.from]!;
  const hits = raised.filter((a) => a.asset === f.asset && a.raisedAt >= onset);
  const first = hits.sort((a, b) => a.raisedAt - b.raisedAt)[0];
  console.log(`fault ${f.kind} on ${f.asset} from ${clock(onset)}: ${first ? `first alarm ${first.id} (${first.evidence.source}) after ${((first.raisedAt - onset) / 60_000).toFixed(0)} min` : 'not detected'}`);
}
const faulty = new Set(FAULTS.map((f) => f.asset));
console.log(`alarms on healthy machines (false alarms): ${raised.filter((a) => !faulty.has(a.asset)).length}`);

// 5. Charts: the pressure chart of press-2 (subgroup means of the shift against its Phase I limits) and mill-2's RUL.
const out = new URL('../out/', import.meta.url);
await mkdir(out, { recursive: true });
const p = LINE_SIGNALS.indexOf('pressure');
const means = cycleMeans(shift.rows['press-2']!).map((r) => r[p]!);
const { center, sigma } = baseline['press-2']!['pressure']!;
const chart: Chart = { kind: 'pressure (bar)', points: means, limits: { center, sigma: means.map(() => sigma), ucl: means.map(() => center + 3 * sigma), lcl: means.map(() => center - 3 * sigma) } };
const labels = means.map((_, i) => clock(shift.timestamps[(i + 1) * LINE_CYCLE - 1]!).slice(0, 5));
const spec = controlChartSpec(chart, evaluateRules(chart, spc.ruleSet), { title: 'press-2 hydraulic pressure, 10-min means (Phase II)', labels, xTitle: 'end of subgroup (UTC)' });
await writeFile(new URL('control-chart.svg', out), await renderChart(spec));
await writeFile(new URL('control-chart.png', out), await renderChart(spec, { format: 'png' }));

const cycles = Object.fromEntries(ASSETS.map((a) => [a, pick(cycleMeans(shift.rows[a]!))]));
const rulPoints: Array<{ time: string; series: string; rul: number }> = [];
for (let c = rul.window; c <= cycles['mill-2']!.length; c++) {
  const [pred] = await rul.predict([cycles['mill-2']!.slice(0, c)]);
  const time = clock(shift.timestamps[c * LINE_CYCLE - 1]!).slice(0, 5);
  rulPoints.push({ time, series: 'predicted', rul: pred!.rul }, { time, series: 'true', rul: Math.min(rul.cap, (FAILURE - c * LINE_CYCLE) / LINE_CYCLE) });
}
const rulSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: 'mill-2 remaining useful life (10-min cycles)',
  width: 640,
  height: 260,
  data: { values: rulPoints },
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'time', type: 'ordinal', title: 'time (UTC)' },
    y: { field: 'rul', type: 'quantitative', title: 'RUL (cycles)' },
    color: { field: 'series', type: 'nominal' },
  },
};
await writeFile(new URL('rul.svg', out), await renderChart(rulSpec));
await writeFile(new URL('rul.png', out), await renderChart(rulSpec, { format: 'png' }));
console.log('wrote out/control-chart.svg, out/control-chart.png, out/rul.svg and out/rul.png');

const now = await rul.predict(ASSETS.map((a) => cycles[a]!));
ASSETS.forEach((a, i) => {
  const truth = a === 'mill-2' ? ` (true ${((FAILURE - SHIFT) / LINE_CYCLE).toFixed(1)})` : ' (bearing healthy)';
  console.log(`RUL at shift end ${a.padEnd(8)} ${now[i]!.rul.toFixed(1)} cycles${truth}, health ${now[i]!.health.toFixed(2)}`);
});

// 6. End-of-line visual inspection: an autoencoder trained on images of good parts only flags scratches and dents
//    in the shift's parts (synthetic images with ground-truth defect masks) and shows where.
const inspector = await DefectInspector.fit(generateParts(160, { seed: 11 }).map((p) => p.image));
// fit holds out 40 of the 160 good parts for the threshold: too few for a 1 % false-alarm rate. More good parts set it
// without retraining.
const calibration = await inspector.calibrate(generateParts(300, { seed: 13 }).map((p) => p.image));
console.log(`[${elapsed()}] inspection threshold ${calibration.threshold.toFixed(2)} from ${calibration.goodImages} good parts (99th percentile)`);
const parts = generateParts(60, { seed: 12, labels: PART_LABELS });
const quality = await inspector.evaluate(parts);
const results = await inspector.inspectBatch(parts.map((p) => p.image));
const flagged = parts.map((p, i) => ({ p, r: results[i]! })).filter(({ r }) => r.defective);
console.log(
  `[${elapsed()}] inspected ${parts.length} parts: ${flagged.length} flagged (${flagged.filter(({ p }) => p.label !== 'good').length} truly defective); ` +
    `image AUROC ${quality.imageAuroc.toFixed(3)}, pixel AUROC ${quality.pixelAuroc?.toFixed(3) ?? "n/a"}, detection ${quality.detectionRate.toFixed(2)}, false alarms ${quality.falseAlarmRate.toFixed(2)}`,
);
const shown = flagged.find(({ p }) => p.label === 'scratch') ?? flagged[0];
if (shown) {
  await writeFile(new URL('defect.png', out), await inspector.overlayPng(shown.p.image, shown.r));
  console.log(`wrote out/defect.png (a ${shown.p.label} part, score ${shown.r.score.toFixed(1)} > threshold ${inspector.threshold.toFixed(1)})`);
}

detector.dispose();
rul.dispose();
inspector.dispose();
console.log(`done in ${elapsed()}`);
