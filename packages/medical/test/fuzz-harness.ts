// Seeded fuzzing of @lepton/medical's DICOM reading and decoding (issue 14). Every mutated file must end as a decoded
// image or as a LeptonError with a DICOM_* code whose message and details carry no patient data — never a thrown
// string, TypeError or RangeError, never a crash, an out-of-memory or a hang.
//
// Seed files: one or more per transfer syntax the package decodes (test/fixtures/dicom and test/fixtures/robustness),
// plus odd layouts (bare data sets, big endian, 1-bit, palette, YBR 4:2:2, modality/VOI LUT sequences, nested private
// sequences). Mutations: bit flips, byte overwrites, truncations, corrupted element lengths, corrupted pixel-module
// values, deleted / duplicated / inserted chunks, damaged compressed streams, and combinations of two or three.
// File i of a run depends only on (run seed, i), so any finding can be replayed alone (--from i --count 1).
//
// - CI slice: test/fuzz.test.ts runs files 0 … 1999 in-process.
// - Full run (child process with a 5 s per-file watchdog, so a hang or a crash is recorded rather than fatal):
//     pnpm exec tsc -p packages/medical && node --import tsx packages/medical/test/fuzz-harness.ts --count 10200
//   options: --seed N (default 14), --from I, --count N, --json PATH (write the summary), --keep DIR (write every
//   file that escaped untyped, hung or crashed there).
import { fork } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import dicomParser from 'dicom-parser';
import { isLeptonError, readDicom, seededRandom } from '@lepton/medical';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** Seed files, relative to test/fixtures (without .dcm). */
export const SEED_FILES = [
  'dicom/ct_s16', // Explicit VR Little Endian, signed 16
  'dicom/ct_s16_implicit', // Implicit VR Little Endian
  'dicom/ct_s16_bigendian', // Explicit VR Big Endian
  'dicom/ct_s16_deflated', // Deflated Explicit VR Little Endian
  'dicom/ct_s16_bare_implicit', // no preamble, no meta information
  'dicom/ct_u12', // 12 of 16 bits, rescale
  'dicom/mf16', // multi-frame native
  'dicom/rgb_planar', // RGB planar configuration 1
  'dicom/ybr422', // native YBR_FULL_422
  'dicom/palette', // PALETTE COLOR, 16-bit tables
  'dicom/mlut', // Modality LUT Sequence
  'dicom/voilut', // VOI LUT Sequence
  'dicom/ct_u12_rle', // RLE Lossless
  'dicom/mf_rgb_rle', // RLE, multi-frame colour
  'dicom/mr8_jpeg_baseline', // JPEG Baseline (Process 1)
  'dicom/rgb_jpeg_baseline', // JPEG Baseline, YBR_FULL_422
  'dicom/ct_u12_jpeg_p14', // JPEG Lossless Process 14
  'dicom/ct_s16_jpeg_sv1', // JPEG Lossless SV1
  'dicom/mf16_jpeg_sv1_frag_nobot', // JPEG Lossless, fragmented frames, no offset table
  'dicom/ct_s16_jpls', // JPEG-LS Lossless
  'dicom/ct_u12_jpls_near', // JPEG-LS Near-Lossless
  'dicom/mf16_jpls_frag', // JPEG-LS, fragments located through the offset table
  'dicom/ct_s16_j2k', // JPEG 2000 Lossless
  'dicom/ct_u12_j2k_lossy', // JPEG 2000 lossy
  'dicom/ct_s16_htj2k', // HTJ2K Lossless (OpenJPH), signed 16-bit
  'dicom/ct_u12_htj2k_lossy', // HTJ2K lossy
  'robustness/ext12', // JPEG Extended 12-bit
  'robustness/ext12_pvrg_restart', // JPEG Extended 12-bit, restart intervals
  'robustness/ext8', // JPEG Extended 8-bit
  'robustness/seg_1bit', // Bits Allocated 1
  'robustness/seg_1bit_be', // Bits Allocated 1, big endian
  'robustness/nested_private_sq', // data set starting with group 0001 private sequences
  'robustness/implicit_sequences', // implicit VR sequences of defined and undefined length
  'robustness/odd/rgb_pc0_u8_8_f3_ow_be', // odd-length 8-bit RGB in OW, big endian
  'robustness/bot_offbyone', // a wrong Basic Offset Table
];

/** Values in the seed files that are patient data: no error may repeat them. */
export const PATIENT_DATA = ['PHANTOM^LEPTON', 'LEPTON-0001', 'ROBUST^PHANTOM', 'ROBUST-0001', 'ACC0001'];

interface ElementSpan {
  /** Where the element's length field is, and how many bytes it has (2 or 4). */
  readonly lengthAt: number;
  readonly lengthSize: 2 | 4;
  readonly bigEndian: boolean;
  readonly tag: string;
  readonly dataOffset: number;
  readonly length: number;
}

/** A seed file and the element layout found in it (for the mutations that aim at lengths and values). */
export interface FuzzSeed {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly elements: readonly ElementSpan[];
  /** [start, end) of the pixel data value, when found. */
  readonly pixelData?: readonly [number, number];
}

const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/** Loads the seed files and maps their elements with dicom-parser (where it can: deflated data sets are compressed). */
export function loadSeeds(): FuzzSeed[] {
  return SEED_FILES.map((name) => {
    const bytes = new Uint8Array(readFileSync(join(FIXTURES, `${name}.dcm`)));
    const elements: ElementSpan[] = [];
    let pixelData: [number, number] | undefined;
    try {
      const bare = !(bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d);
      const ds = dicomParser.parseDicom(bytes, bare ? { TransferSyntaxUID: '1.2.840.10008.1.2' } : {});
      const ts = ds.string('x00020010') ?? '1.2.840.10008.1.2';
      const deflated = ts.startsWith('1.2.840.10008.1.2.1.99');
      const walk = (set: typeof ds, depth: number): void => {
        for (const el of Object.values(set.elements)) {
          const meta = el.tag.startsWith('x0002');
          if (deflated && !meta) continue;
          const implicit = !meta && ts === '1.2.840.10008.1.2';
          const long = implicit || LONG_VRS.has(el.vr ?? '');
          const lengthAt = el.dataOffset - (long ? 4 : 2);
          if (lengthAt > 0) elements.push({ lengthAt, lengthSize: long ? 4 : 2, bigEndian: !meta && ts === '1.2.840.10008.1.2.2', tag: el.tag, dataOffset: el.dataOffset, length: el.length });
          if (el.tag === 'x7fe00010' && depth === 0 && !deflated) pixelData = [el.dataOffset, Math.min(bytes.length, el.dataOffset + el.length)];
          for (const item of el.items ?? []) if (item.dataSet !== undefined && depth < 4) walk(item.dataSet, depth + 1);
        }
      };
      walk(ds, 0);
    } catch {
      // dicom-parser cannot map this seed (e.g. the group-0001 one): only the untargeted mutations apply
    }
    return { name, bytes, elements, ...(pixelData === undefined ? {} : { pixelData }) };
  });
}

const PIXEL_MODULE_US = ['x00280002', 'x00280006', 'x00280010', 'x00280011', 'x00280100', 'x00280101', 'x00280102', 'x00280103'];
const NUMBER_STRINGS = ['x00280008', 'x00280030', 'x00281050', 'x00281051', 'x00281052', 'x00281053', 'x00200032', 'x00200037'];
const INTERESTING_US = [0, 1, 2, 3, 7, 8, 9, 11, 12, 15, 16, 17, 24, 31, 32, 33, 64, 255, 256, 4096, 0x7fff, 0x8000, 0xfffe, 0xffff];

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** The mutation kinds, each a function of the bytes (a fresh copy it may change or replace) and the seed map. */
const MUTATIONS: Record<string, (b: Uint8Array, s: FuzzSeed, r: Rand) => Uint8Array> = {
  bitflip(b, _s, r) {
    if (b.length === 0) return b;
    for (let k = 1 + int(r, 16); k > 0; k--) {
      const i = int(r, b.length);
      b[i]! ^= 1 << int(r, 8);
    }
    return b;
  },
  bytes(b, _s, r) {
    if (b.length === 0) return b;
    for (let k = 1 + int(r, 8); k > 0; k--) b[int(r, b.length)] = pick(r, [0, 0xff, 0x7f, 0x80, int(r, 256)]);
    return b;
  },
  truncate(b, _s, r) {
    return b.subarray(0, int(r, b.length));
  },
  length(b, s, r) {
    const fits = s.elements.filter((e) => e.lengthAt + e.lengthSize <= b.length);
    if (fits.length === 0) return MUTATIONS['bitflip']!(b, s, r);
    const el = pick(r, fits);
    const v = pick(r, [0, 1, 2, 3, el.length + 1, el.length - 1, el.length + 2, el.length * 2, el.length >>> 1, 0xffffffff, 0x7fffffff, 0x80000000, b.length, int(r, 2 ** 32), int(r, 4096)]);
    const view = new DataView(b.buffer, b.byteOffset, b.length);
    if (el.lengthSize === 2) view.setUint16(el.lengthAt, v & 0xffff, !el.bigEndian);
    else view.setUint32(el.lengthAt, v >>> 0, !el.bigEndian);
    return b;
  },
  value(b, s, r) {
    // offsets are the seed's: an earlier step of a combined mutation may have shortened or moved the bytes
    const us = s.elements.filter((e) => PIXEL_MODULE_US.includes(e.tag) && e.length >= 2 && e.dataOffset + 2 <= b.length);
    const strings = s.elements.filter((e) => NUMBER_STRINGS.includes(e.tag) && e.length > 0 && e.dataOffset + e.length <= b.length);
    if (us.length > 0 && (strings.length === 0 || r() < 0.7)) {
      const el = pick(r, us);
      new DataView(b.buffer, b.byteOffset, b.length).setUint16(el.dataOffset, r() < 0.8 ? pick(r, INTERESTING_US) : int(r, 65536), !el.bigEndian);
      return b;
    }
    if (strings.length === 0) return MUTATIONS['bytes']!(b, s, r);
    const el = pick(r, strings);
    const alphabet = '0123456789-+.eE\\ \0abcINF';
    const text = pick(r, ['0', '-1', '1e308', '1e999', 'NaN', '\\', '\\\\\\', '', '99999999', '-0', '.', 'abc']);
    for (let i = 0; i < el.length; i++) b[el.dataOffset + i] = (i < text.length ? text : alphabet).charCodeAt(i < text.length ? i : int(r, alphabet.length));
    return b;
  },
  delete(b, _s, r) {
    if (b.length === 0) return b;
    const at = int(r, b.length);
    const n = 1 + int(r, Math.min(512, b.length - at));
    const out = new Uint8Array(b.length - n);
    out.set(b.subarray(0, at));
    out.set(b.subarray(at + n), at);
    return out;
  },
  duplicate(b, _s, r) {
    if (b.length === 0) return b;
    const from = int(r, b.length);
    const n = 1 + int(r, Math.min(512, b.length - from));
    const at = int(r, b.length);
    const out = new Uint8Array(b.length + n);
    out.set(b.subarray(0, at));
    out.set(b.subarray(from, from + n), at);
    out.set(b.subarray(at), at + n);
    return out;
  },
  insert(b, _s, r) {
    const at = int(r, b.length);
    const n = 1 + int(r, 64);
    const out = new Uint8Array(b.length + n);
    out.set(b.subarray(0, at));
    for (let i = 0; i < n; i++) out[at + i] = r() < 0.3 ? 0xff : int(r, 256);
    out.set(b.subarray(at), at + n);
    return out;
  },
  pixels(b, s, r) {
    // aim at the pixel data: a codec's headers and entropy-coded data, or native samples
    if (s.pixelData === undefined) return MUTATIONS['bytes']!(b, s, r);
    const [start, end] = s.pixelData;
    const span = Math.max(1, Math.min(end, b.length) - start);
    const nearStart = r() < 0.5;
    for (let k = 1 + int(r, 12); k > 0; k--) {
      const i = start + (nearStart ? int(r, Math.min(span, 256)) : int(r, span));
      if (i < b.length) b[i] = r() < 0.5 ? int(r, 256) : b[i]! ^ (1 << int(r, 8));
    }
    return b;
  },
};

export const MUTATION_KINDS = Object.keys(MUTATIONS);

/** File `i` of run `runSeed`: which seed it comes from, what was done to it, and its bytes. */
export function mutant(seeds: readonly FuzzSeed[], runSeed: number, i: number): { seed: string; kind: string; bytes: Uint8Array } {
  const r = seededRandom((runSeed * 1_000_003 + i * 7919) >>> 0);
  const seed = seeds[i % seeds.length]!;
  const steps = r() < 0.8 ? 1 : 2 + int(r, 2);
  let bytes: Uint8Array = seed.bytes.slice();
  const kinds: string[] = [];
  for (let k = 0; k < steps; k++) {
    const kind = pick(r, MUTATION_KINDS);
    kinds.push(kind);
    bytes = MUTATIONS[kind]!(bytes, seed, r);
    if (bytes.length === 0) break;
  }
  return { seed: seed.name, kind: kinds.join('+'), bytes };
}

/** How one file ended: `OK`, a LeptonError code, or `UNTYPED …` / `PHI …` (failures). */
export interface FuzzResult {
  readonly outcome: string;
  readonly ms: number;
}

function classify(err: unknown): string {
  if (!isLeptonError(err)) return `UNTYPED ${err instanceof Error ? err.name : typeof err}: ${String(err instanceof Error ? err.message : err).slice(0, 120)}`;
  const text = `${err.message} ${JSON.stringify(err.details ?? {})}`;
  if (PATIENT_DATA.some((p) => text.includes(p))) return `PHI in ${err.code}`;
  // INVALID_ARGUMENT is what modalityFrame answers for a colour image: the caller's mistake, typed and expected
  return /^DICOM_/.test(err.code) || err.code === 'INVALID_ARGUMENT' ? err.code : `UNEXPECTED CODE ${err.code}`;
}

/** Reads, decodes every frame, and takes the modality values of frame 0 (the other decode path), timing it all. */
export async function runOne(bytes: Uint8Array): Promise<FuzzResult> {
  const t0 = performance.now();
  let outcome: string;
  try {
    const image = readDicom(bytes, { source: 'fuzz.dcm' });
    image.getString('00100010');
    const frames = await image.decodeFrames();
    if (frames[0]?.samplesPerPixel === 1) await image.modalityFrame(0);
    outcome = 'OK';
  } catch (err) {
    outcome = classify(err);
  }
  return { outcome, ms: performance.now() - t0 };
}

/** A typed outcome (success or a LeptonError with an expected code); anything else is a finding. */
export const isTyped = (outcome: string): boolean => !/^(UNTYPED|PHI|UNEXPECTED|HANG|CRASH)/.test(outcome);

/** Tallies of a run. */
export interface FuzzSummary {
  runSeed: number;
  from: number;
  files: number;
  outcomes: Record<string, number>;
  findings: Array<{ i: number; seed: string; kind: string; outcome: string }>;
  maxMs: number;
  slowest: { i: number; seed: string; kind: string; ms: number } | null;
  seconds: number;
}

export function summarize(runSeed: number, from: number, results: ReadonlyArray<{ i: number; seed: string; kind: string; outcome: string; ms: number }>, seconds: number): FuzzSummary {
  const outcomes: Record<string, number> = {};
  let slowest: FuzzSummary['slowest'] = null;
  for (const r of results) {
    const key = isTyped(r.outcome) ? r.outcome : r.outcome.split(':')[0]!;
    outcomes[key] = (outcomes[key] ?? 0) + 1;
    if (slowest === null || r.ms > slowest.ms) slowest = { i: r.i, seed: r.seed, kind: r.kind, ms: r.ms };
  }
  const findings = results.filter((r) => !isTyped(r.outcome)).map(({ i, seed, kind, outcome }) => ({ i, seed, kind, outcome }));
  return { runSeed, from, files: results.length, outcomes, findings, maxMs: slowest?.ms ?? 0, slowest, seconds };
}

// ---------------------------------------------------------------------------------------------- command line
const HANG_MS = 5000;

async function child(): Promise<void> {
  const seeds = loadSeeds();
  process.on('message', (msg: { runSeed: number; from: number; to: number } | 'exit') => {
    if (msg === 'exit') process.exit(0);
    void (async () => {
      for (let i = msg.from; i < msg.to; i++) {
        process.send!({ start: i });
        const m = mutant(seeds, msg.runSeed, i);
        const r = await runOne(m.bytes);
        process.send!({ i, seed: m.seed, kind: m.kind, ...r });
      }
      process.send!({ done: true });
    })();
  });
  process.send!({ ready: true });
}

async function main(args: string[]): Promise<void> {
  const opt = (name: string, fallback: number): number => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const str = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const runSeed = opt('seed', 14);
  const from = opt('from', 0);
  const count = opt('count', 10200);
  const keep = str('keep');
  const seeds = loadSeeds();
  const results: Array<{ i: number; seed: string; kind: string; outcome: string; ms: number }> = [];
  const t0 = performance.now();
  let next = from;
  const end = from + count;
  while (next < end) {
    // one child per stretch of files; a hang or a crash costs that child, and the next one starts after the file
    const proc = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let current = -1;
    let startedAt = 0;
    const outcome = await new Promise<'done' | 'hang' | 'crash'>((resolve) => {
      const watchdog = setInterval(() => {
        if (current >= 0 && performance.now() - startedAt > HANG_MS) {
          clearInterval(watchdog);
          proc.kill('SIGKILL');
          resolve('hang');
        }
      }, 100);
      proc.on('message', (m: { ready?: true; start?: number; done?: true; i?: number; seed?: string; kind?: string; outcome?: string; ms?: number }) => {
        if (m.ready) proc.send({ runSeed, from: next, to: end });
        else if (m.start !== undefined) {
          current = m.start;
          startedAt = performance.now();
        } else if (m.done) {
          clearInterval(watchdog);
          proc.send('exit');
          resolve('done');
        } else if (m.i !== undefined) {
          results.push({ i: m.i, seed: m.seed!, kind: m.kind!, outcome: m.outcome!, ms: m.ms! });
          current = -1;
          next = m.i + 1;
          if (results.length % 1000 === 0) console.error(`  ${results.length} files …`);
        }
      });
      proc.on('exit', () => {
        clearInterval(watchdog);
        resolve(current >= 0 ? 'crash' : 'done');
      });
    });
    if (outcome !== 'done' || current >= 0) {
      let seed = '?';
      let kind = '?';
      try {
        ({ seed, kind } = mutant(seeds, runSeed, current));
      } catch {
        // the mutation itself failed (a harness bug): still recorded as a finding below
      }
      results.push({ i: current, seed, kind, outcome: outcome === 'hang' ? `HANG over ${HANG_MS} ms` : 'CRASH', ms: outcome === 'hang' ? HANG_MS : 0 });
      next = current + 1;
    }
  }
  const summary = summarize(runSeed, from, results, (performance.now() - t0) / 1000);
  if (keep !== undefined) {
    mkdirSync(keep, { recursive: true });
    for (const f of summary.findings) writeFileSync(join(keep, `fuzz-${runSeed}-${f.i}.dcm`), mutant(seeds, runSeed, f.i).bytes);
  }
  const json = str('json');
  if (json !== undefined) writeFileSync(json, `${JSON.stringify(summary, null, 1)}\n`);
  console.log(JSON.stringify({ ...summary, findings: summary.findings.slice(0, 20) }, null, 1));
  if (summary.findings.length > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--child')) await child();
  else await main(process.argv.slice(2));
}
