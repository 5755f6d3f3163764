import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleDigest, LeptonError, MANIFEST_FILE, SIGNATURE_FILE, validateManifest, type BundleManifest } from '@lepton/core';

/** `lepton.json` is metadata only; core refuses bigger ones too. */
const MAX_MANIFEST_BYTES = 16 << 20;
const MAX_SIGNATURE_BYTES = 1 << 20;

/**
 * Reads and validates `lepton.json` without loading the model (no TensorFlow.js work).
 *
 * @throws LeptonError `BUNDLE_NOT_FOUND`, `BUNDLE_INVALID`
 */
export async function readManifest(dir: string): Promise<BundleManifest> {
  const path = join(dir, MANIFEST_FILE);
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOENT' });
    size = s.size;
  } catch (err) {
    throw new LeptonError('BUNDLE_NOT_FOUND', `No model bundle at ${dir}: ${MANIFEST_FILE} not found.`, { cause: err, details: { dir } });
  }
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
  const path = join(dir, SIGNATURE_FILE);
  let text: string;
  try {
    const s = await stat(path);
    if (!s.isFile() || s.size > MAX_SIGNATURE_BYTES) return { present: true, wellFormed: false, keyIds: [] };
    text = await readFile(path, 'utf8');
  } catch {
    return { present: false, wellFormed: false, keyIds: [] };
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
    const actualBytes = await stat(join(dir, name)).then((s) => (s.isFile() ? s.size : null), () => null);
    files.push({ name, bytes: d.bytes, sha256: d.sha256, actualBytes });
  }
  const listed = new Set([...Object.keys(manifest.files), MANIFEST_FILE, SIGNATURE_FILE]);
  const unlisted = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => !listed.has(e.name)).map((e) => e.name).sort();
  return { files, unlisted };
}
