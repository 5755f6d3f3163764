import { access, rm, writeFile } from 'node:fs/promises';
import { createBundleSigningKeys, LeptonError, signBundle } from '@lepton/core';
import type { CommandContext, CommandResult } from '../internal/command.js';
import { resolvePath } from '../internal/paths.js';
import { readKeys } from './verify.js';

/**
 * Writes a new file with `mode`, refusing to replace one unless `force` (a private key overwritten by accident is gone
 * for good). With `force` the old entry is removed first (a link itself, never its target), and the file is always
 * created exclusively: a replaced key never keeps an old file's wider mode, and is never written through a link.
 */
async function writeNew(path: string, text: string, mode: number, force: boolean, shown: string): Promise<void> {
  try {
    if (force) await rm(path, { force: true });
    await writeFile(path, text, { mode, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new LeptonError('WRITE_FAILED', `${shown} exists; refusing to replace it (pass --force to overwrite).`, { cause: err });
    throw new LeptonError('WRITE_FAILED', `Could not write ${shown} (${code ?? 'I/O error'}).`, { cause: err });
  }
}

/** Implements `lepton bundle keygen` (the prefix is checked by the command). */
export async function keygen({ flags, io }: CommandContext, prefix: string): Promise<CommandResult> {
  const keys = createBundleSigningKeys();
  const force = flags['force'] === true;
  const privatePath = `${prefix}.key.pem`;
  const publicPath = `${prefix}.pub.pem`;
  if (!force) {
    // Both checked before either is written, so a refusal never leaves a new private key beside an old public one.
    for (const p of [privatePath, publicPath]) {
      const exists = await access(resolvePath(io, p)).then(() => true, () => false);
      if (exists) throw new LeptonError('WRITE_FAILED', `${p} exists; refusing to replace it (pass --force to overwrite).`);
    }
  }
  await writeNew(resolvePath(io, privatePath), keys.privateKey, 0o600, force, privatePath);
  await writeNew(resolvePath(io, publicPath), keys.publicKey, 0o644, force, publicPath);
  return {
    exitCode: 0,
    json: { ok: true, keyId: keys.keyId, privateKey: privatePath, publicKey: publicPath },
    human: `key id ${keys.keyId}\nprivate ${privatePath} (secret: store it like a password)\npublic  ${publicPath}`,
  };
}

/** Implements `lepton bundle sign` (the key flag is checked by the command). */
export async function sign({ positionals, io }: CommandContext, keyPath: string): Promise<CommandResult> {
  const [key] = await readKeys(io, [keyPath], '--key');
  const sigs = await signBundle(resolvePath(io, positionals[0]!), key!);
  const mine = sigs.signatures.at(-1)!;
  return {
    exitCode: 0,
    json: { ok: true, dir: positionals[0]!, keyId: mine.keyId, digest: sigs.digest, signatures: sigs.signatures.map((s) => s.keyId) },
    human: `signed ${positionals[0]} with key id ${mine.keyId} (${sigs.signatures.length} signature${sigs.signatures.length === 1 ? '' : 's'}; digest ${sigs.digest})`,
  };
}
