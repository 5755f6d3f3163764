import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ctPhantom, readDicomFile, renderFrame, writeCtSeries } from '@lepton/medical';
import { lepton } from './support/cli.js';

// Synthetic CT written by @lepton/medical's own writer, with invented identifying values the CLI must keep to itself.
const PHI = { patientName: 'Quixote^Alonso', patientId: 'PHI-ID-7731', accession: 'ACC-PHI-7731' };
let work: string;
let series: string;
let files: string[];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lepton-cli-dicom-'));
  series = join(work, 'series');
  files = await writeCtSeries(ctPhantom({ seed: 7, size: 48, slices: 3, lesion: true }), {
    dir: series,
    patientId: PHI.patientId,
    patientName: PHI.patientName,
    accessionNumber: PHI.accession,
    fileNames: 'ordered',
  });
});
afterAll(async () => rm(work, { recursive: true, force: true }));

const leaks = (text: string): string[] => [PHI.patientName, PHI.patientId, PHI.accession, 'Quixote'].filter((v) => text.includes(v));

describe('lepton dicom info', () => {
  it('describes the image and leaves every patient-identifying attribute out', async () => {
    const image = await readDicomFile(files[0]!);
    const r = await lepton(['dicom', 'info', files[0]!, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({
      command: 'dicom info',
      ok: true,
      transferSyntax: { uid: '1.2.840.10008.1.2.1', name: 'Explicit VR Little Endian', decodable: true, lossy: false },
      modality: 'CT',
      rows: 48,
      columns: 48,
      frames: 1,
      photometricInterpretation: 'MONOCHROME2',
      bitsAllocated: 16,
      bitsStored: 12,
      rescale: { slope: 1, intercept: -1024, type: 'HU' },
      windows: [{ center: -600, width: 1500, function: 'LINEAR' }],
    });
    expect(r.json!['phi']).toBeUndefined();
    expect(leaks(r.stdout)).toEqual([]);
    expect(r.stdout).not.toContain(image.meta.studyInstanceUid!);
    const human = await lepton(['dicom', 'info', files[0]!]);
    expect(human.stdout).toMatch(/^transfer +Explicit VR Little Endian \(1\.2\.840\.10008\.1\.2\.1\)$/m);
    expect(human.stdout).toMatch(/^image +48 x 48, 1 frame, MONOCHROME2, 12\/16 bits unsigned$/m);
    expect(human.stdout).toMatch(/^patient +hidden: pass --phi/m);
    expect(leaks(human.stdout)).toEqual([]);
  });

  it('shows patient name, ID, UIDs and dates only with --phi', async () => {
    const image = await readDicomFile(files[0]!);
    const r = await lepton(['dicom', 'info', files[0]!, '--phi', '--json']);
    expect(r.code).toBe(0);
    expect(r.json!['phi']).toMatchObject({
      patientName: PHI.patientName,
      patientId: PHI.patientId,
      accessionNumber: PHI.accession,
      studyInstanceUid: image.meta.studyInstanceUid,
      studyDate: '20260105',
    });
  });

  it('fails with the reader’s code for a file that is not DICOM', async () => {
    const bogus = join(work, 'notes.txt');
    await writeFile(bogus, 'not a DICOM file at all, just some text long enough to have a preamble-sized head '.repeat(4));
    const r = await lepton(['dicom', 'info', bogus]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^lepton dicom info: DICOM_NOT_DICOM: /);
    const json = await lepton(['dicom', 'info', bogus, '--json']);
    expect(json.json).toMatchObject({ command: 'dicom info', ok: false, error: { code: 'DICOM_NOT_DICOM' } });
  });
});

describe('lepton dicom deid', () => {
  it('de-identifies one file: no identifying value left in the bytes, pixels identical, UIDs stable under one --salt', async () => {
    const out1 = join(work, 'deid', 'one.dcm');
    const out2 = join(work, 'deid', 'again.dcm');
    const a = await lepton(['dicom', 'deid', files[0]!, out1, '--salt', 'pepper-1', '--json']);
    expect(a.code, a.stdout).toBe(0);
    expect(a.json).toMatchObject({ ok: true, input: 'file', key: 'flag', written: [{ output: out1 }], failures: [] });
    expect(a.json!['totals'].uidsReplaced).toBeGreaterThan(0);
    expect(a.stdout).not.toContain('pepper-1');
    const bytes = (await readFile(out1)).toString('latin1');
    expect(leaks(bytes)).toEqual([]);
    const [before, after] = await Promise.all([readDicomFile(files[0]!), readDicomFile(out1)]);
    expect(after.meta.patientName).toBeUndefined();
    expect(after.meta.patientId).toMatch(/^ANON-[0-9A-F]{16}$/);
    expect(after.meta.studyInstanceUid).not.toBe(before.meta.studyInstanceUid);
    expect(Array.from((await after.decodeFrame(0)).pixels)).toEqual(Array.from((await before.decodeFrame(0)).pixels));
    // The same key maps the same study to the same new UID in a later run; without a key it does not.
    await lepton(['dicom', 'deid', files[0]!, out2, '--salt', 'pepper-1']);
    expect((await readDicomFile(out2)).meta.studyInstanceUid).toBe(after.meta.studyInstanceUid);
    const random = await lepton(['dicom', 'deid', files[0]!, join(work, 'deid', 'random.dcm')]);
    expect(random.code).toBe(0);
    expect(random.stderr).toMatch(/no --salt .*a random key was used/);
    expect((await readDicomFile(join(work, 'deid', 'random.dcm'))).meta.studyInstanceUid).not.toBe(after.meta.studyInstanceUid);
  });

  it('de-identifies a folder into files named by their new UIDs, reports a bad file and exits 1', async () => {
    const input = join(work, 'mixed');
    await mkdir(input, { recursive: true });
    for (const f of files) await writeFile(join(input, `${PHI.patientName}-${f.slice(-8)}`), await readFile(f));
    await writeFile(join(input, 'README.txt'), 'this folder holds a CT series');
    const output = join(work, 'mixed-out');
    const r = await lepton(['dicom', 'deid', input, output, '--json'], { env: { LEPTON_DEID_SALT: 'from-env' } });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, input: 'folder', key: 'env' });
    expect(r.json!['written']).toHaveLength(files.length);
    expect(r.json!['failures']).toEqual([{ source: join(input, 'README.txt'), code: 'DICOM_NOT_DICOM', message: expect.any(String) }]);
    // Input names carry the patient's name here, as they often do: the output never pairs them with new UIDs.
    expect(leaks(r.stdout)).toEqual([]);
    const written = (await readdir(output)).sort();
    expect(written).toHaveLength(files.length);
    for (const name of written) {
      expect(name).toMatch(/^2\.25\.\d+\.dcm$/);
      expect(leaks((await readFile(join(output, name))).toString('latin1'))).toEqual([]);
    }
    const human = await lepton(['dicom', 'deid', input, join(work, 'mixed-out-2'), '--salt', 'x']);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^de-identified 3 files into /m);
    expect(human.stdout).toMatch(/\[fail\] .*README\.txt: DICOM_NOT_DICOM/);
    expect(leaks(human.stdout + human.stderr)).toEqual([]);
  });

  it('refuses usage errors before touching anything (exit 2)', async () => {
    for (const args of [
      ['dicom', 'deid', files[0]!],
      ['dicom', 'deid', files[0]!, files[0]!],
      ['dicom', 'deid', files[0]!, join(work, 'x.dcm'), '--salt', 'a', '--salt-file', 'b'],
      ['dicom', 'deid', files[0]!, join(work, 'x.dcm'), '--salt='],
      ['dicom', 'deid', files[0]!, join(work, 'x.dcm'), '--burned-in', 'maybe'],
    ]) {
      const r = await lepton(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/Run 'lepton dicom deid --help' for usage\./);
    }
  });
});

describe('lepton dicom to-png', () => {
  /** Decodes a PNG written by the CLI. */
  const decode = async (path: string): Promise<PNG> => PNG.sync.read(await readFile(path));

  it('renders with a preset, a window or the file’s window, exactly as renderFrame does', async () => {
    const image = await readDicomFile(files[1]!);
    const frame = await image.decodeFrame(0);
    const cases: Array<[string[], Parameters<typeof renderFrame>[2]]> = [
      [['--preset', 'lung'], { voi: 'lung' }],
      [['--window=40,400'], { voi: { center: 40, width: 400 } }],
      [['--window=-600,1500'], { voi: { center: -600, width: 1500 } }],
      [[], {}],
    ];
    for (const [flags, options] of cases) {
      const out = join(work, 'png', `${flags.join('_') || 'default'}.png`);
      const r = await lepton(['dicom', 'to-png', files[1]!, out, ...flags, '--json']);
      expect(r.code, r.stdout).toBe(0);
      expect(r.json).toMatchObject({ ok: true, width: 48, height: 48, channels: 1, frame: 0, frames: 1, window: { kind: 'window' } });
      const png = await decode(out);
      expect([png.width, png.height]).toEqual([48, 48]);
      const expected = renderFrame(frame, image.meta, options);
      // pngjs decodes to RGBA: every channel of a greyscale PNG carries the grey value.
      const grey = Array.from({ length: 48 * 48 }, (_, i) => png.data[i * 4]!);
      expect(grey).toEqual(Array.from(expected));
      expect(new Set(grey).size).toBeGreaterThan(2); // a real image, not a flat field
    }
    const file = await lepton(['dicom', 'to-png', files[1]!, join(work, 'png', 'f.png'), '--json']);
    expect(file.json!['window']).toEqual({ kind: 'window', center: -600, width: 1500, function: 'LINEAR', source: 'file' });
    const human = await lepton(['dicom', 'to-png', files[1]!, join(work, 'png', 'h.png'), '--preset', 'bone']);
    expect(human.stdout).toMatch(/^wrote .*h\.png \(48 x 48, greyscale, frame 1 of 1, window 400\/1800 LINEAR \(preset\)\)$/m);
  });

  it('says a frame out of range (exit 1) and bad window flags (exit 2)', async () => {
    const out = join(work, 'png', 'bad.png');
    const frame = await lepton(['dicom', 'to-png', files[0]!, out, '--frame', '4', '--json']);
    expect(frame.code).toBe(1);
    expect(frame.json).toMatchObject({ ok: false, error: { code: 'DICOM_FRAME_OUT_OF_RANGE' } });
    for (const [flags, message] of [
      [['--preset', 'liver'], /Unknown --preset; use one of lung, mediastinum, bone, brain, abdomen, minmax/],
      [['--window', '40'], /--window must be CENTER,WIDTH/],
      [['--window=40,0'], /WIDTH ≥ 1/],
      [['--window', '-600,1500'], /--window=-XYZ/],
      [['--window=40,400', '--preset', 'lung'], /not both/],
      [['--frame', '-1'], /--window=-XYZ|--frame/],
    ] as const) {
      const r = await lepton(['dicom', 'to-png', files[0]!, out, ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('lepton dicom without @lepton/medical installed', () => {
  it('says how to install the optional peer (exit 1), and doctor and bundle commands never need it', async () => {
    const r = await lepton(['dicom', 'info', files[0]!], { hide: ['@lepton/medical'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CLI_MEDICAL_MISSING: 'lepton dicom' needs @lepton\/medical, an optional peer dependency of @lepton\/cli/);
    expect(r.stderr).toMatch(/npm install @lepton\/medical/);
    const doctor = await lepton(['doctor', '--json', '--no-gpu'], { hide: ['@lepton/medical'], env: { LEPTON_BACKEND: 'cpu' } });
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.json!['runtime'].backend).toBe('cpu');
  });
});
