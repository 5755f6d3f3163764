import { stringFlag, type CommandSpec } from '../internal/command.js';
import { usageError } from '../internal/errors.js';

// The bundle commands' names, arguments and flags. Their implementations import @lepton/core (and with it
// TensorFlow.js) and are loaded only when a command runs, after its command line has been checked.

/** `lepton bundle inspect <dir>`. */
export const bundleInspectCommand: CommandSpec = {
  name: 'bundle inspect',
  description:
    'Summarise a model bundle from its lepton.json without loading the model: name, version, task, inputs and outputs, labels, metrics, provenance, files with sizes, and signature key ids.',
  args: [{ name: 'dir', required: true, help: 'bundle directory (written by saveBundle)' }],
  flags: {},
  details: `Sizes are compared with the disk; contents and signatures are checked by 'lepton bundle verify'.
Exit codes: 0 the manifest reads (even when a file is missing or resized: see the listing, or use verify);
1 no bundle there or a malformed lepton.json (BUNDLE_NOT_FOUND, BUNDLE_INVALID); 2 usage error.`,
  run: async (ctx) => (await import('./inspect.js')).inspectBundle(ctx),
};

/** `lepton bundle verify <dir> [--key pub.pem …]`. */
export const bundleVerifyCommand: CommandSpec = {
  name: 'bundle verify',
  description:
    "Verify a model bundle as loadBundle() does: every file's size and SHA-256 against lepton.json, no links out of the bundle, the model builds and matches its declared inputs; with --key, an Ed25519 signature by one of the trusted keys over the manifest.",
  args: [{ name: 'dir', required: true, help: 'bundle directory' }],
  flags: {
    key: { type: 'string', multiple: true, value: 'PUB.PEM', help: 'trusted public key (SPKI PEM, from lepton bundle keygen); the bundle must carry a valid signature by one of them' },
  },
  details: `Without --key only integrity is checked (SHA-256 digests catch accidents, not attackers: anyone who can edit
the weights can recompute them); production checks should pass --key.
Exit codes: 0 verified; 1 verification failed, with the LeptonError code: BUNDLE_NOT_FOUND, BUNDLE_INVALID,
BUNDLE_FILE_MISSING, BUNDLE_INTEGRITY, BUNDLE_INCOMPATIBLE, BUNDLE_UNSIGNED, BUNDLE_SIGNATURE_INVALID, INVALID_ARGUMENT
(a key that is not Ed25519), READ_FAILED (a key file); 2 usage error.`,
  run: async (ctx) => (await import('./verify.js')).verifyBundle(ctx),
};

/** `lepton bundle keygen --out <prefix>`. */
export const bundleKeygenCommand: CommandSpec = {
  name: 'bundle keygen',
  description:
    'Make an Ed25519 key pair for signing bundles: <prefix>.key.pem (private, written with mode 0600: keep it in a secret store) and <prefix>.pub.pem (public: what verify --key and loadBundle({ trustedKeys }) take).',
  args: [],
  flags: {
    out: { type: 'string', value: 'PREFIX', help: 'path prefix of the two files, e.g. keys/release' },
    force: { type: 'boolean', help: 'replace existing key files' },
  },
  details: 'The private key is never printed. Exit codes: 0 written; 1 a file could not be written (or exists, without --force); 2 usage error.',
  run: async (ctx) => {
    const prefix = stringFlag(ctx.flags, 'out');
    if (prefix === undefined || prefix === '') throw usageError('Missing --out PREFIX.', 'bundle keygen');
    return (await import('./sign.js')).keygen(ctx, prefix);
  },
};

/** `lepton bundle sign <dir> --key <priv.pem>`. */
export const bundleSignCommand: CommandSpec = {
  name: 'bundle sign',
  description:
    "Sign a model bundle with an Ed25519 private key (core's signBundle): checks every file against lepton.json first, then writes lepton.sig.json. Signing with another key adds a signature.",
  args: [{ name: 'dir', required: true, help: 'bundle directory' }],
  flags: {
    key: { type: 'string', value: 'KEY.PEM', help: 'private key (PKCS#8 PEM, from lepton bundle keygen)' },
  },
  details: `Exit codes: 0 signed; 1 the bundle fails its checks (BUNDLE_* codes) or the key is not an Ed25519 private key
(INVALID_ARGUMENT) or unreadable (READ_FAILED); 2 usage error.`,
  run: async (ctx) => {
    const keyPath = stringFlag(ctx.flags, 'key');
    if (keyPath === undefined) throw usageError('Missing --key KEY.PEM (a private key from lepton bundle keygen).', 'bundle sign');
    return (await import('./sign.js')).sign(ctx, keyPath);
  },
};
