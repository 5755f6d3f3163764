// Test files for the medical benchmark (bench/medical.ts): a seeded synthetic CT phantom (no patient data) written as
// DICOM by dcmtk's dump2dcm, then re-encoded into every transfer syntax with dcmtk and GDCM (Debian `dcmtk`,
// `libgdcm-tools`), and a 200-slice series in shuffled file order.
import { seededRandom } from '@lepton/core';
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROWS = 512;
export const COLS = 512;
export const SLICES = 200;
const SPACING_Z = 1.25;

/** One transfer syntax: how its file is made from the Explicit VR Little Endian source. */
export interface Case {
  key: string;
  syntax: string;
  /** The 16-bit CT source, or its 8-bit windowed copy (JPEG Baseline holds 8-bit samples only). */
  source: 'ct16' | 'ct8';
  /** Encoder command (input and output paths are appended); null: the source itself. */
  encoder: string[] | null;
  lossy: boolean;
  /** ours ÷ pydicom images/s the issue asks for. */
  target?: number;
}

export const CASES: Case[] = [
  { key: 'explicit-le', syntax: 'Explicit VR Little Endian', source: 'ct16', encoder: null, lossy: false, target: 2 },
  { key: 'implicit-le', syntax: 'Implicit VR Little Endian', source: 'ct16', encoder: ['dcmconv', '-q', '+ti'], lossy: false, target: 2 },
  { key: 'explicit-be', syntax: 'Explicit VR Big Endian', source: 'ct16', encoder: ['dcmconv', '-q', '+tb'], lossy: false, target: 2 },
  { key: 'deflated', syntax: 'Deflated Explicit VR Little Endian', source: 'ct16', encoder: ['dcmconv', '-q', '+td'], lossy: false, target: 2 },
  { key: 'rle', syntax: 'RLE Lossless', source: 'ct16', encoder: ['dcmcrle', '-q'], lossy: false, target: 2 },
  { key: 'jpeg-baseline', syntax: 'JPEG Baseline (8-bit windowed copy)', source: 'ct8', encoder: ['dcmcjpeg', '-q', '+eb', '+un'], lossy: true },
  { key: 'jpeg-p14', syntax: 'JPEG Lossless, Process 14', source: 'ct16', encoder: ['dcmcjpeg', '-q', '+el'], lossy: false },
  { key: 'jpeg-sv1', syntax: 'JPEG Lossless, Process 14 SV1', source: 'ct16', encoder: ['dcmcjpeg', '-q', '+e1'], lossy: false },
  { key: 'jpeg-ls', syntax: 'JPEG-LS Lossless', source: 'ct16', encoder: ['dcmcjpls', '-q'], lossy: false },
  { key: 'jpeg-ls-near', syntax: 'JPEG-LS Near-Lossless (NEAR 2)', source: 'ct16', encoder: ['dcmcjpls', '-q', '+en', '+un'], lossy: true },
  { key: 'j2k', syntax: 'JPEG 2000 Lossless', source: 'ct16', encoder: ['gdcmconv', '--j2k'], lossy: false },
  { key: 'j2k-lossy', syntax: 'JPEG 2000 (lossy, quality 55)', source: 'ct16', encoder: ['gdcmconv', '--j2k', '--lossy', '-q', '55'], lossy: true },
];

/** The DICOM tools the files need. */
export const TOOLS = ['dump2dcm', 'dcmconv', 'dcmcrle', 'dcmcjpeg', 'dcmcjpls', 'gdcmconv'];

/** The tools that are not installed. */
export function missingTools(): string[] {
  return TOOLS.filter((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).error !== undefined);
}

/** The phantom description printed with the results. */
export const PHANTOM = `seeded synthetic CT phantom, ${ROWS}×${COLS}, 16 bits allocated, 12 stored, unsigned (HU + 1024), rescale intercept −1024`;


/**
 * One axial CT slice in HU at relative height `z` ∈ [0, 1]: circular field of view (outside: padding), body ellipse,
 * two lungs whose size follows z, a rib ring, a spine, a lesion in the middle third, Gaussian noise (σ 12 HU).
 */
function phantomSlice(z: number, rand: () => number): Uint16Array {
  const out = new Uint16Array(ROWS * COLS);
  const cy = ROWS / 2;
  const cx = COLS / 2;
  const lungScale = 0.6 + 0.4 * Math.sin(Math.PI * z);
  let spare: number | undefined;
  const gauss = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < COLS; x++) {
      const i = y * COLS + x;
      if (Math.hypot(x - cx, y - cy) > ROWS * 0.5) {
        out[i] = 0; // outside the reconstruction circle: stored 0 (HU −1024), as scanners write it
        continue;
      }
      let hu = -1000;
      const r = Math.hypot((x - cx) / (COLS * 0.42), (y - cy) / (ROWS * 0.34));
      if (r <= 1) hu = 40;
      if (r > 0.88 && r <= 0.95) hu = 900;
      for (const side of [-1, 1]) {
        const lr = Math.hypot((x - cx - side * COLS * 0.17) / (COLS * 0.12 * lungScale), (y - cy + ROWS * 0.02) / (ROWS * 0.22 * lungScale));
        if (lr <= 1) hu = -850;
      }
      if (Math.hypot(x - cx, y - cy - ROWS * 0.24) <= ROWS * 0.05) hu = 700;
      if (z > 0.33 && z < 0.66 && Math.hypot(x - cx - COLS * 0.17, y - cy) <= ROWS * 0.03) hu = 55;
      hu += gauss() * 12;
      out[i] = Math.min(4095, Math.max(-1024, Math.round(hu)) + 1024); // stored = HU − intercept (−1024), 12 bits
    }
  }
  return out;
}

/** The same slice windowed (soft tissue, 40/400) to 8 bits, for JPEG Baseline. */
function window8(stored: Uint16Array): Uint8Array {
  const out = new Uint8Array(stored.length);
  for (let i = 0; i < stored.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(((stored[i]! - 1024 - (40 - 200)) / 400) * 255)));
  return out;
}

function dump(opts: { sop: string; number: number; z: number; bits: 8 | 16; raw: string }): string {
  const lines = [
    '(0008,0016) UI [1.2.840.10008.5.1.4.1.1.2]',
    `(0008,0018) UI [${opts.sop}]`,
    '(0008,0060) CS [CT]',
    '(0010,0010) PN [PHANTOM^BENCH]',
    '(0010,0020) LO [BENCH-0001]',
    '(0018,0050) DS [1.25]',
    '(0020,000d) UI [2.25.300099990001]',
    '(0020,000e) UI [2.25.300099990002]',
    `(0020,0013) IS [${opts.number}]`,
    `(0020,0032) DS [-250\\-250\\${opts.z.toFixed(2)}]`,
    '(0020,0037) DS [1\\0\\0\\0\\1\\0]',
    '(0020,0052) UI [2.25.300099990003]',
    '(0028,0002) US 1',
    '(0028,0004) CS [MONOCHROME2]',
    `(0028,0010) US ${ROWS}`,
    `(0028,0011) US ${COLS}`,
    '(0028,0030) DS [0.9765625\\0.9765625]',
    ...(opts.bits === 16
      ? ['(0028,0100) US 16', '(0028,0101) US 12', '(0028,0102) US 11', '(0028,0103) US 0', '(0028,1050) DS [40]', '(0028,1051) DS [400]', '(0028,1052) DS [-1024]', '(0028,1053) DS [1]', '(0028,1054) LO [HU]']
      : ['(0028,0100) US 8', '(0028,0101) US 8', '(0028,0102) US 7', '(0028,0103) US 0']),
    `(7fe0,0010) ${opts.bits === 16 ? 'OW' : 'OB'} =${opts.raw}`,
  ];
  return `${lines.join('\n')}\n`;
}

async function writeSource(dir: string, name: string, pixels: Uint16Array | Uint8Array, opts: Omit<Parameters<typeof dump>[0], 'raw'>): Promise<string> {
  await writeFile(join(dir, `${name}.raw`), new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength));
  await writeFile(join(dir, `${name}.dump`), dump({ ...opts, raw: `${name}.raw` }));
  const out = join(dir, `${name}.dcm`);
  await run('dump2dcm', ['-q', '+te', `${name}.dump`, out], { cwd: dir });
  return out;
}

/** What {@link makeFiles} wrote. */
export interface BenchFiles {
  /** Stored values of the single slice (16-bit) and of its 8-bit windowed copy: what every decode must give back. */
  ct16: Uint16Array;
  ct8: Uint8Array;
  /** File per case key (absent when the toolkit could not write it). */
  files: Map<string, string>;
  /** Why a case has no file. */
  failures: Map<string, string>;
  /** The 200-slice series folder. */
  seriesDir: string;
  /** Sum of HU per slice, in slice order along the normal (z ascending): checks a volume's slice order. */
  sliceSums: number[];
}

/** Writes every file into `dir`. */
export async function makeFiles(dir: string, log: (s: string) => void): Promise<BenchFiles> {
  const ct16 = phantomSlice(0.5, seededRandom(7));
  const src16 = await writeSource(dir, 'ct16', ct16, { sop: '2.25.300010001', number: 1, z: 0, bits: 16 });
  const ct8 = window8(ct16);
  const src8 = await writeSource(dir, 'ct8', ct8, { sop: '2.25.300010002', number: 1, z: 0, bits: 8 });
  const files = new Map<string, string>();
  const failures = new Map<string, string>();
  for (const c of CASES) {
    const from = c.source === 'ct16' ? src16 : src8;
    if (c.encoder === null) {
      files.set(c.key, from);
      continue;
    }
    const out = join(dir, `${c.key}.dcm`);
    const [bin, ...args] = c.encoder;
    try {
      await run(bin!, [...args, from, out]);
      files.set(c.key, out);
    } catch (err) {
      const why = (err as { stderr?: string }).stderr?.trim().split('\n')[0] ?? (err as Error).message;
      failures.set(c.key, `${bin} could not write it: ${why}`);
      log(`  ${c.syntax}: not measured, ${failures.get(c.key)}`);
    }
  }
  // The series: file names in shuffled order and Instance Numbers counting down, so only the geometry gives the
  // right order.
  const seriesDir = join(dir, 'series');
  const gen = join(dir, 'gen');
  await mkdir(seriesDir);
  await mkdir(gen);
  const order = Array.from({ length: SLICES }, (_, k) => k);
  const shuffle = seededRandom(11);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const sliceSums: number[] = [];
  for (let k = 0; k < SLICES; k++) {
    const px = phantomSlice(k / (SLICES - 1), seededRandom(1000 + k));
    sliceSums.push(px.reduce((s, v) => s + v - 1024, 0));
    const name = `IM${String(order[k]).padStart(4, '0')}`;
    const file = await writeSource(gen, name, px, { sop: `2.25.3001${String(k).padStart(5, '0')}`, number: SLICES - k, z: -100 + k * SPACING_Z, bits: 16 });
    await rename(file, join(seriesDir, name));
  }
  return { ct16, ct8, files, failures, seriesDir, sliceSums };
}
