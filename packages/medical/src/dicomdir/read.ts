import { constants } from 'node:fs';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';
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

/** How a file ID resolved: the real path of a regular file under the root, nothing, or a file outside the root. */
type Resolution = { readonly path: string } | { readonly path: undefined; readonly outside: boolean };

/**
 * Resolves file IDs under `root` (the real path of the DICOMDIR's folder), listing each folder once. A name on the
 * medium that is a symbolic link is followed only as far as the root: the resolved file's real path must lie under
 * the real root, else it is refused (a link to another folder or to `/etc/…` never reads a file off the medium).
 */
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

  async resolve(fileId: readonly string[]): Promise<Resolution> {
    let dir = this.root;
    for (let i = 0; i < fileId.length; i++) {
      const name = matchName(await this.#list(dir), fileId[i]!);
      if (name === undefined) return { path: undefined, outside: false };
      dir = join(dir, name);
    }
    const real = await realpath(dir).catch(() => undefined);
    if (real === undefined) return { path: undefined, outside: false };
    if (!real.startsWith(this.root.endsWith(sep) ? this.root : this.root + sep)) return { path: undefined, outside: true };
    const s = await stat(real).catch(() => undefined);
    return s?.isFile() === true ? { path: real } : { path: undefined, outside: false };
  }
}

/** Flags for opening the DICOMDIR: never block on a FIFO; never follow a link when `noFollow` (POSIX only). */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Reads the DICOMDIR through one handle: a regular file (fstat on the open handle, so a FIFO, a device or a link to
 * one is refused before any read), at most `MAX_DICOMDIR_BYTES` bytes, counted while reading (the size `stat` reports
 * is not trusted: it is 0 for special files).
 */
async function readBounded(file: string, noFollow: boolean): Promise<Uint8Array> {
  const fail = (err: unknown): never => {
    const reason = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'unknown';
    throw dicomDirError('DICOMDIR_READ_FAILED', `Could not read ${basename(file)} (${reason}); the DICOMDIR must be a regular file.`, { reason }, reason === 'unknown' ? undefined : err);
  };
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, OPEN_FLAGS | (noFollow ? NO_FOLLOW : 0)).catch(fail);
    const s = await handle.stat().catch(fail);
    if (!s.isFile()) fail({ code: 'ENOTFILE' });
    if (s.size > MAX_DICOMDIR_BYTES) tooLarge(s.size);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1024 * 1024, MAX_DICOMDIR_BYTES + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null).catch(fail);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > MAX_DICOMDIR_BYTES) tooLarge(total);
    }
    const bytes = Buffer.concat(chunks, total);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function tooLarge(size: number): never {
  throw dicomDirError('DICOMDIR_MALFORMED', `The DICOMDIR holds at least ${size} bytes, more than the ${MAX_DICOMDIR_BYTES} a directory can plausibly need.`, { bytes: size });
}

/** The DICOMDIR file: `path` itself, or the entry named DICOMDIR in the folder `path` (`inFolder`). */
async function locate(path: string): Promise<{ file: string; inFolder: boolean }> {
  const fail = (err: unknown): never => {
    const reason = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'unknown';
    throw dicomDirError('DICOMDIR_READ_FAILED', `Could not read ${basename(path) || path} (${reason}); pass the DICOMDIR file or the folder (the medium's root) that holds it.`, { reason }, err);
  };
  const s = await stat(path).catch(fail);
  if (s.isFile()) return { file: path, inFolder: false };
  if (!s.isDirectory()) return fail({ code: 'ENOTFILE' });
  const name = matchName(await readdir(path).catch(fail), 'DICOMDIR');
  if (name === undefined) throw dicomDirError('DICOMDIR_READ_FAILED', 'The folder holds no DICOMDIR file; pass the medium\'s root folder or the DICOMDIR itself.', { reason: 'ENOENT' });
  return { file: join(path, name), inFolder: true };
}

/**
 * Reads the DICOMDIR of a CD, DVD or USB medium (or a copy of one): the PATIENT → STUDY → SERIES → instance tree from
 * its directory records, with each instance's Referenced File ID resolved to a file under the DICOMDIR's folder —
 * matched without regard to case, so media mounted in lower case work — and a flat list of the files found.
 * Instances whose file is absent are listed in `missing`, not thrown: a partly copied disc still opens. Paths are real
 * paths (symbolic links resolved) and must stay under the real path of the DICOMDIR's folder: a file ID that leads
 * through a link to a file elsewhere is refused (in `missing` and `rejectedFiles`, reason `'outside-root'`). The
 * DICOMDIR itself must be a regular file (a FIFO or a device, or a link to one, is refused without reading); one found
 * in a folder must not be a symbolic link. It is read through one handle, at most 256 MiB.
 *
 * @param path - the DICOMDIR file, or the folder (the medium's root) that holds it
 * @returns the tree, `files` (real paths of every instance found, in tree order), `missing`, `rejectedFiles` and the
 *   parser's `rejectedRecords`
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
  const { file, inFolder } = await locate(path);
  // the entry found in a folder is opened without following a link (the medium's own DICOMDIR is a file)
  const bytes = await readBounded(file, inFolder);
  const tree: DicomDirTree = parseDicomDir(bytes);
  const root = await realpath(dirname(file)).catch((err: unknown) => {
    const reason = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'unknown';
    throw dicomDirError('DICOMDIR_READ_FAILED', `Could not resolve the folder of ${basename(file)} (${reason}).`, { reason });
  });
  const resolver = new Resolver(root);
  const resolved = new Map<DicomDirInstance, DicomDirInstance>();
  const outside: Array<{ readonly instance: DicomDirInstance; readonly reason: 'outside-root' }> = [];
  for (const i of tree.instances) {
    const r = await resolver.resolve(i.fileId);
    const instance = { ...i, path: r.path };
    resolved.set(i, instance);
    if (r.path === undefined && r.outside) outside.push({ instance, reason: 'outside-root' });
  }
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
    rejectedFiles: outside,
  };
}
