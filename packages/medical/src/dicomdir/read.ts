import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { dicomDirError } from './errors.js';
import { parseDicomDir } from './parse.js';
import type { DicomDir, DicomDirInstance, DicomDirTree } from './types.js';

/** Largest DICOMDIR read (a full DVD's directory is a few MB; this only stops a wrong path from filling memory). */
const MAX_DICOMDIR_BYTES = 256 * 1024 * 1024;

/**
 * The name on disk matching a Referenced File ID component. Media written on one system and mounted on another change
 * case (ISO 9660 stores upper case; Linux mounts often show lower case), and some drivers keep the ISO 9660 version
 * suffix (`IM000001;1`) or add a trailing dot: all are accepted, an exact match first.
 */
function matchName(entries: readonly string[], component: string): string | undefined {
  if (entries.includes(component)) return component;
  const want = component.toUpperCase();
  const norm = (n: string): string => n.replace(/;\d+$/, '').replace(/\.$/, '').toUpperCase();
  return entries.find((e) => norm(e) === want);
}

/** Resolves file IDs under `root`, listing each folder once. */
class Resolver {
  readonly #listings = new Map<string, Promise<string[]>>();
  constructor(private readonly root: string) {}

  #list(dir: string): Promise<string[]> {
    let p = this.#listings.get(dir);
    if (p === undefined) {
      p = readdir(dir).catch(() => []);
      this.#listings.set(dir, p);
    }
    return p;
  }

  async resolve(fileId: readonly string[]): Promise<string | undefined> {
    let dir = this.root;
    for (let i = 0; i < fileId.length; i++) {
      const name = matchName(await this.#list(dir), fileId[i]!);
      if (name === undefined) return undefined;
      dir = join(dir, name);
    }
    const s = await stat(dir).catch(() => undefined);
    return s?.isFile() === true ? dir : undefined;
  }
}

async function locate(path: string): Promise<string> {
  const fail = (err: unknown): never => {
    const reason = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'unknown';
    throw dicomDirError('DICOMDIR_READ_FAILED', `Could not read ${basename(path) || path} (${reason}); pass the DICOMDIR file or the folder (the medium's root) that holds it.`, { reason }, err);
  };
  const s = await stat(path).catch(fail);
  if (s.isFile()) return path;
  if (!s.isDirectory()) return fail({ code: 'ENOTFILE' });
  const name = matchName(await readdir(path).catch(fail), 'DICOMDIR');
  if (name === undefined) throw dicomDirError('DICOMDIR_READ_FAILED', 'The folder holds no DICOMDIR file; pass the medium\'s root folder or the DICOMDIR itself.', { reason: 'ENOENT' });
  return join(path, name);
}

/**
 * Reads the DICOMDIR of a CD, DVD or USB medium (or a copy of one): the PATIENT → STUDY → SERIES → instance tree from
 * its directory records, with each instance's Referenced File ID resolved to a file under the DICOMDIR's folder —
 * matched without regard to case, so media mounted in lower case work — and a flat list of the files found.
 * Instances whose file is absent are listed in `missing`, not thrown: a partly copied disc still opens.
 *
 * @param path - the DICOMDIR file, or the folder (the medium's root) that holds it
 * @returns the tree, `files` (paths of every instance found, in tree order) and `missing`
 * @throws {@link @lepton/core!LeptonError} `DICOMDIR_READ_FAILED` when the path or its DICOMDIR cannot be read;
 *   `DICOMDIR_NOT_DICOMDIR`, `DICOMDIR_MALFORMED` as {@link parseDicomDir}
 * @example
 * ```ts
 * import { readDicomDir, readDicomFile } from '@lepton/medical';
 * const disc = await readDicomDir('/media/cdrom');
 * for (const p of disc.patients) for (const st of p.studies) console.log(st.studyDescription, st.series.length, 'series');
 * const first = await readDicomFile(disc.files[0]!);
 * console.log(disc.files.length, 'files;', disc.missing.length, 'missing;', first.meta.modality);
 * ```
 */
export async function readDicomDir(path: string): Promise<DicomDir> {
  if (typeof path !== 'string' || path === '') throw dicomDirError('DICOMDIR_READ_FAILED', 'readDicomDir needs a path to a DICOMDIR or the folder holding it.', { reason: 'EINVAL' });
  const file = await locate(path);
  const size = (await stat(file)).size;
  if (size > MAX_DICOMDIR_BYTES) throw dicomDirError('DICOMDIR_MALFORMED', `The DICOMDIR is ${size} bytes, more than the ${MAX_DICOMDIR_BYTES} a directory can plausibly need.`, { bytes: size });
  const bytes = await readFile(file).catch((err: unknown) => {
    throw dicomDirError('DICOMDIR_READ_FAILED', `Could not read ${basename(file)}.`, { reason: (err as { code?: string }).code ?? 'unknown' }, err);
  });
  const tree: DicomDirTree = parseDicomDir(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const root = dirname(file);
  const resolver = new Resolver(root);
  const resolved = new Map<DicomDirInstance, DicomDirInstance>();
  for (const i of tree.instances) resolved.set(i, { ...i, path: await resolver.resolve(i.fileId) });
  const instances = tree.instances.map((i) => resolved.get(i)!);
  const patients = tree.patients.map((p) => ({
    ...p,
    studies: p.studies.map((st) => ({ ...st, series: st.series.map((se) => ({ ...se, instances: se.instances.map((i) => resolved.get(i)!) })) })),
  }));
  return {
    ...tree,
    patients,
    instances,
    dicomDirPath: file,
    root,
    files: instances.flatMap((i) => (i.path === undefined ? [] : [i.path])),
    missing: instances.filter((i) => i.path === undefined),
  };
}
