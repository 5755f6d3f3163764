import { readFile } from 'node:fs/promises';
import { initRuntime, LeptonError, loadBundle, verifyBundleSignature } from '@lepton/core';
import { stringList, type CliIo, type CommandSpec } from '../internal/command.js';
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

/** `lepton bundle verify <dir>`. */
export const bundleVerifyCommand: CommandSpec = {
  name: 'bundle verify',
  description: "Verify a model bundle as loadBundle() does: every file's size and SHA-256 against lepton.json, no links out of the bundle, the model builds and matches its declared inputs; with --key, an Ed25519 signature by one of the trusted keys over the manifest.",
  args: [{ name: 'dir', required: true, help: 'bundle directory' }],
  flags: {
    key: { type: 'string', multiple: true, value: 'PUB.PEM', help: 'trusted public key (SPKI PEM, from lepton bundle keygen); the bundle must carry a valid signature by one of them' },
  },
  details: `Without --key only integrity is checked (SHA-256 digests catch accidents, not attackers: anyone who can edit
the weights can recompute them); production checks should pass --key.
Exit codes: 0 verified; 1 verification failed, with the LeptonError code: BUNDLE_NOT_FOUND, BUNDLE_INVALID,
BUNDLE_FILE_MISSING, BUNDLE_INTEGRITY, BUNDLE_INCOMPATIBLE, BUNDLE_UNSIGNED, BUNDLE_SIGNATURE_INVALID, INVALID_ARGUMENT
(a key that is not Ed25519), READ_FAILED (a key file); 2 usage error.`,
  async run({ positionals, flags, io }) {
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
  },
};
