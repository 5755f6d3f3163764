import { initRuntime, LeptonError, loadBundle, verifyBundleSignature } from '@lepton/core';
import { stringList, type CliIo, type CommandContext, type CommandResult } from '../internal/command.js';
import { printable } from '../internal/format.js';
import { readSmallFile, resolvePath } from '../internal/paths.js';
import { readSignatures } from './read.js';

/** Largest key file read (a PEM key is a few hundred bytes). */
const MAX_KEY_FILE_BYTES = 64 << 10;

/** Reads PEM key files named on the command line (at most 64 KiB each). */
export async function readKeys(io: CliIo, paths: string[], flag: string): Promise<string[]> {
  return Promise.all(
    paths.map((p) => readSmallFile(resolvePath(io, p), MAX_KEY_FILE_BYTES, `the ${flag} file ${p}`)),
  );
}

/** Implements `lepton bundle verify`. */
export async function verifyBundle({ positionals, flags, io }: CommandContext): Promise<CommandResult> {
  const dir = resolvePath(io, positionals[0]!);
  const keys = await readKeys(io, stringList(flags, 'key'), '--key');
  // Verification computes nothing, so the pure-JS backend is enough, starts fastest and ignores LEPTON_BACKEND.
  await initRuntime({ backend: 'cpu' }, {});
  const { model, manifest } = await loadBundle(dir, keys.length > 0 ? { trustedKeys: keys } : {});
  model.dispose();
  const sigs = await readSignatures(dir, manifest);
  // loadBundle has verified the signature already; this second check (cheap: one digest) names the key that did.
  const verifiedBy = keys.length > 0 ? await verifyBundleSignature(dir, manifest, keys) : undefined;
  const files = Object.values(manifest.files);
  const json = {
    ok: true,
    dir: positionals[0]!,
    name: manifest.name,
    version: manifest.version,
    task: manifest.task,
    files: files.length,
    totalBytes: files.reduce((s, f) => s + f.bytes, 0),
    signature: keys.length > 0 ? { checked: true, verifiedBy: verifiedBy!, signedBy: sigs.keyIds } : { checked: false, signedBy: sigs.keyIds },
  };
  const lines = [
    `OK ${manifest.name}@${manifest.version}: ${files.length} files match lepton.json, the model loads`,
    keys.length > 0
      ? `signature verified: key id ${verifiedBy!}`
      : `signature not checked (no --key)${sigs.keyIds.length > 0 ? `; signed by key id ${sigs.keyIds.join(', ')}` : '; the bundle is unsigned'}`,
  ];
  // a manifest's text is printed escaped: a newline or an ESC sequence in it cannot forge or hide a line
  return { exitCode: 0, json, human: lines.map(printable).join('\n') };
}
