import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { bundleDigest, LeptonError, MANIFEST_FILE, SIGNATURE_FILE, validateManifest, type BundleManifest } from '@lepton/core';

/** `lepton.json` is metadata only; core refuses bigger ones too. */
const MAX_MANIFEST_BYTES = 16 << 20;
const MAX_SIGNATURE_BYTES = 1 << 20;

/**
 * A file of the bundle as core's loader sees it: its real path and `stat`, `'outside'` when it (or a linked parent) is a
 * link leaving the bundle directory (core refuses to follow those), undefined when it does not exist.
 */
async function inBundle(dir: string, name: string): Promise<{ path: string; info: Stats } | 'outside' | undefined> {
  let root: string;
  let real: string;
  try {
    [root, real] = await Promise.all([realpath(dir), realpath(join(dir, name))]);
  } catch {
    return undefined;
  }
  const rel = relative(root, real);
  if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return 'outside';
  return stat(real).then((info) => ({ path: real, info }), () => undefined);
}

/**
 * Reads and validates `lepton.json` without loading the model (no TensorFlow.js work).
 *
 * @throws LeptonError `BUNDLE_NOT_FOUND`, `BUNDLE_INVALID`
 */
export async function readManifest(dir: string): Promise<BundleManifest> {
  const found = await inBundle(dir, MANIFEST_FILE);
  if (found === 'outside') {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: '${MANIFEST_FILE}' is a link that leaves the bundle directory; refusing to follow it.`, { details: { dir } });
  }
  if (found === undefined || !found.info.isFile()) throw new LeptonError('BUNDLE_NOT_FOUND', `No model bundle at ${dir}: ${MANIFEST_FILE} not found.`, { details: { dir } });
  const { path, info: { size } } = found;
  if (size > MAX_MANIFEST_BYTES) throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${MANIFEST_FILE} is ${size} bytes, more than a manifest can need.`, { details: { dir } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new LeptonError('BUNDLE_INVALID', `Bundle ${dir}: ${MANIFEST_FILE} is not valid JSON.`, { cause: err, details: { dir } });
  }
  return validateManifest(dir, parsed);
}

/** What `lepton.sig.json` says, read leniently (inspection only: `bundle verify` checks the signatures). */
export interface SignatureSummary {
  /** Whether `lepton.sig.json` exists. */
  present: boolean;
  /** Whether it parses as a Lepton signature file. */
  wellFormed: boolean;
  /** The digest it signs. */
  digest?: string;
  /** Whether that digest is the manifest's digest now (false: the manifest changed after signing). */
  digestMatches?: boolean;
  /** Key ids of the signatures in it. */
  keyIds: string[];
}

/** Reads the signature file next to a manifest, if any. */
export async function readSignatures(dir: string, manifest: BundleManifest): Promise<SignatureSummary> {
  const found = await inBundle(dir, SIGNATURE_FILE);
  if (found === undefined) return { present: false, wellFormed: false, keyIds: [] };
  // a link out of the bundle is never read (core refuses it too)
  if (found === 'outside' || !found.info.isFile() || found.info.size > MAX_SIGNATURE_BYTES) return { present: true, wellFormed: false, keyIds: [] };
  let text: string;
  try {
    text = await readFile(found.path, 'utf8');
  } catch {
    return { present: true, wellFormed: false, keyIds: [] };
  }
  try {
    const raw = JSON.parse(text) as { format?: unknown; digest?: unknown; signatures?: unknown };
    if (raw?.format !== 'lepton-bundle-signatures' || typeof raw.digest !== 'string' || !Array.isArray(raw.signatures)) throw new Error('malformed');
    const keyIds = raw.signatures.map((s: { keyId?: unknown }) => (typeof s?.keyId === 'string' ? s.keyId.slice(0, 64) : '?'));
    return { present: true, wellFormed: true, digest: raw.digest.slice(0, 64), digestMatches: raw.digest === bundleDigest(manifest), keyIds };
  } catch {
    return { present: true, wellFormed: false, keyIds: [] };
  }
}

/** One file of the bundle as listed and as found on disk (size only: `bundle verify` checks contents). */
export interface FileEntry {
  /** Name relative to the bundle directory. */
  name: string;
  /** Size the manifest records. */
  bytes: number;
  /** SHA-256 the manifest records. */
  sha256: string;
  /** Size on disk, or null when the file is missing. */
  actualBytes: number | null;
}

/** The manifest's files with their sizes on disk, and files in the directory that the manifest does not list. */
export async function listFiles(dir: string, manifest: BundleManifest): Promise<{ files: FileEntry[]; unlisted: string[] }> {
  const files: FileEntry[] = [];
  for (const [name, d] of Object.entries(manifest.files)) {
    const found = await inBundle(dir, name);
    const actualBytes = found !== undefined && found !== 'outside' && found.info.isFile() ? found.info.size : null;
    files.push({ name, bytes: d.bytes, sha256: d.sha256, actualBytes });
  }
  const listed = new Set([...Object.keys(manifest.files), MANIFEST_FILE, SIGNATURE_FILE]);
  const unlisted = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => !listed.has(e.name)).map((e) => e.name).sort();
  return { files, unlisted };
}
