import { readFile } from 'node:fs/promises';
import { initRuntime, LeptonError, loadBundle, verifyBundleSignature } from '@lepton/core';
import { stringList, type CliIo, type CommandContext, type CommandResult } from '../internal/command.js';
import { resolvePath } from '../internal/paths.js';
import { readSignatures } from './read.js';

/** Reads PEM key files named on the command line. */
export async function readKeys(io: CliIo, paths: string[], flag: string): Promise<string[]> {
  return Promise.all(
    paths.map(async (p) => {
      try {
        return await readFile(resolvePath(io, p), 'utf8');
      } catch (err) {
        throw new LeptonError('READ_FAILED', `Could not read the ${flag} file ${p} (${(err as NodeJS.ErrnoException).code ?? 'I/O error'}).`, { cause: err });
      }
    }),
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
  return { exitCode: 0, json, human: lines.join('\n') };
}
