import { writeFile } from 'node:fs/promises';
import { createBundleSigningKeys, LeptonError, signBundle } from '@lepton/core';
import { stringFlag, type CommandSpec } from '../internal/command.js';
import { usageError } from '../internal/errors.js';
import { resolvePath } from '../internal/paths.js';
import { readKeys } from './verify.js';

/** Writes a file, refusing to replace one unless `force` (a private key overwritten by accident is gone for good). */
async function writeNew(path: string, text: string, mode: number, force: boolean, shown: string): Promise<void> {
  try {
    await writeFile(path, text, { mode, flag: force ? 'w' : 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new LeptonError('WRITE_FAILED', `${shown} exists; refusing to replace it (pass --force to overwrite).`, { cause: err });
    throw new LeptonError('WRITE_FAILED', `Could not write ${shown} (${code ?? 'I/O error'}).`, { cause: err });
  }
}

/** `lepton bundle keygen --out <prefix>`. */
export const bundleKeygenCommand: CommandSpec = {
  name: 'bundle keygen',
  description: 'Make an Ed25519 key pair for signing bundles: <prefix>.key.pem (private, written with mode 0600: keep it in a secret store) and <prefix>.pub.pem (public: what verify --key and loadBundle({ trustedKeys }) take).',
  args: [],
  flags: {
    out: { type: 'string', value: 'PREFIX', help: 'path prefix of the two files, e.g. keys/release' },
    force: { type: 'boolean', help: 'replace existing key files' },
  },
  details: 'The private key is never printed. Exit codes: 0 written; 1 a file could not be written (or exists, without --force); 2 usage error.',
  async run({ flags, io }) {
    const prefix = stringFlag(flags, 'out');
    if (prefix === undefined || prefix === '') throw usageError('Missing --out PREFIX.', 'bundle keygen');
    const keys = createBundleSigningKeys();
    const force = flags['force'] === true;
    const privatePath = `${prefix}.key.pem`;
    const publicPath = `${prefix}.pub.pem`;
    await writeNew(resolvePath(io, privatePath), keys.privateKey, 0o600, force, privatePath);
    await writeNew(resolvePath(io, publicPath), keys.publicKey, 0o644, force, publicPath);
    return {
      exitCode: 0,
      json: { ok: true, keyId: keys.keyId, privateKey: privatePath, publicKey: publicPath },
      human: `key id ${keys.keyId}\nprivate ${privatePath} (secret: store it like a password)\npublic  ${publicPath}`,
    };
  },
};

/** `lepton bundle sign <dir> --key <priv.pem>`. */
export const bundleSignCommand: CommandSpec = {
  name: 'bundle sign',
  description: "Sign a model bundle with an Ed25519 private key (core's signBundle): checks every file against lepton.json first, then writes lepton.sig.json. Signing with another key adds a signature.",
  args: [{ name: 'dir', required: true, help: 'bundle directory' }],
  flags: {
    key: { type: 'string', value: 'KEY.PEM', help: 'private key (PKCS#8 PEM, from lepton bundle keygen)' },
  },
  details: `Exit codes: 0 signed; 1 the bundle fails its checks (BUNDLE_* codes) or the key is not an Ed25519 private key
(INVALID_ARGUMENT) or unreadable (READ_FAILED); 2 usage error.`,
  async run({ positionals, flags, io }) {
    const keyPath = stringFlag(flags, 'key');
    if (keyPath === undefined) throw usageError('Missing --key KEY.PEM (a private key from lepton bundle keygen).', 'bundle sign');
    const [key] = await readKeys(io, [keyPath], '--key');
    const sigs = await signBundle(resolvePath(io, positionals[0]!), key!);
    const mine = sigs.signatures.at(-1)!;
    return {
      exitCode: 0,
      json: { ok: true, dir: positionals[0]!, keyId: mine.keyId, digest: sigs.digest, signatures: sigs.signatures.map((s) => s.keyId) },
      human: `signed ${positionals[0]} with key id ${mine.keyId} (${sigs.signatures.length} signature${sigs.signatures.length === 1 ? '' : 's'}; digest ${sigs.digest})`,
    };
  },
};
