// Shared by the one-off detector comparisons (bench/surveillance-movenet.ts, bench/surveillance-yolov5.ts): one
// evaluation set scored for a detector, and the held-out run (each set's row, then the held-out totals).
import { readFile } from 'node:fs/promises';
import { resolveFfmpeg, type FfmpegBinary, type ObjectDetector } from '@lepton/surveillance';
import type { HandCount } from './surveillance.js';
import { EVAL_SET_NAMES, loadEvalSet, missingMedia, rates, readEvalFrame, scoreImage, totals, type ImageScore } from '../packages/surveillance/test/eval-support.js';

type Rates = ReturnType<typeof rates> & { hits: number; falseAlarms: number };
type Detect = Pick<ObjectDetector, 'detect'>;

/** A detector's people and vehicle rates on one evaluation set (one image a call), and the set's role. */
export async function scoreSet(name: string, det: Detect): Promise<{ person: Rates; vehicle: Rates; role: string }> {
  const set = loadEvalSet(name);
  const scores: ImageScore[] = [];
  for (const [i, im] of set.images.entries()) scores.push(scoreImage(im, (await det.detect([readEvalFrame(set, im, i)]))[0] ?? []));
  const t = totals(scores);
  return { person: { ...rates(t.person), hits: t.person.hits, falseAlarms: t.person.falseAlarms }, vehicle: { ...rates(t.vehicle), hits: t.vehicle.hits, falseAlarms: t.vehicle.falseAlarms }, role: set.role };
}

/** Two decimals, for the tables. */
export const f2 = (x: number): string => x.toFixed(2);

/** The tuning clip's hand count (vtest.avi's 12 frames) and the ffmpeg that decodes it. */
export async function tuningClip(): Promise<{ bin: FfmpegBinary; hand: HandCount }> {
  const hand = JSON.parse(await readFile(new URL('../packages/surveillance/test/fixtures/vtest-hand-count.json', import.meta.url), 'utf8')) as HandCount;
  return { bin: await resolveFfmpeg(), hand };
}

/**
 * Every installed set for one setting: a table row per set (`| label | set | role | people … | vehicles … |`), then the
 * held-out totals line.
 */
export async function heldOutRun(label: string, detectorFor: (set: string) => Detect, log: (s: string) => void = console.log): Promise<void> {
  const sum = { person: { hits: 0, misses: 0, falseAlarms: 0 }, vehicle: { hits: 0, misses: 0, falseAlarms: 0 } };
  for (const name of EVAL_SET_NAMES) {
    if (missingMedia(loadEvalSet(name)).length > 0) {
      log(`absent: ${name}`);
      continue;
    }
    const r = await scoreSet(name, detectorFor(name));
    log(`| ${label} | ${name} | ${r.role} | ${r.person.hits}/${r.person.required} | ${r.person.falseAlarms} | ${f2(r.person.recall)} | ${f2(r.person.precision)} | ${r.vehicle.hits}/${r.vehicle.required} | ${r.vehicle.falseAlarms} | ${f2(r.vehicle.recall)} | ${f2(r.vehicle.precision)} |`);
    if (r.role !== 'held-out') continue;
    for (const g of ['person', 'vehicle'] as const) {
      sum[g].hits += r[g].hits;
      sum[g].misses += r[g].required - r[g].hits;
      sum[g].falseAlarms += r[g].falseAlarms;
    }
  }
  const p = rates(sum.person);
  const v = rates(sum.vehicle);
  log(`held out: people ${f2(p.recall)} / ${f2(p.precision)} (${sum.person.hits}/${sum.person.hits + sum.person.misses}, ${sum.person.falseAlarms} false), vehicles ${f2(v.recall)} / ${f2(v.precision)} (${sum.vehicle.hits}/${sum.vehicle.hits + sum.vehicle.misses}, ${sum.vehicle.falseAlarms} false)`);
}
