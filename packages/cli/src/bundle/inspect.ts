import { bundleDigest, describeValue, type TensorSpec } from '@lepton/core';
import type { CommandContext, CommandResult } from '../internal/command.js';
import { formatBytes, printable } from '../internal/format.js';
import { resolvePath } from '../internal/paths.js';
import { listFiles, readManifest, readSignatures } from './read.js';

/**
 * A manifest field for the summary. validateManifest checks what loading needs; description, labels, metrics and
 * provenance can still hold any JSON (`{ "toString": "" }` would make `${value}` throw a TypeError).
 */
const text = (v: unknown): string => (typeof v === 'string' ? v : describeValue(v));

/** A JSON object (not an array): what metrics, preprocessing and provenance should be, though a manifest may hold anything. */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const shape = (s: TensorSpec): string => `${s.name} [${s.shape.map((d) => d ?? '?').join(', ')}] ${s.dtype}`;

/** Implements `lepton bundle inspect`. */
export async function inspectBundle({ positionals, io }: CommandContext): Promise<CommandResult> {
  const dir = resolvePath(io, positionals[0]!);
  const m = await readManifest(dir);
  const { files, unlisted } = await listFiles(dir, m);
  const signatures = await readSignatures(dir, m);
  const digest = bundleDigest(m);
  const json = {
    ok: true,
    dir: positionals[0]!,
    name: m.name,
    version: m.version,
    task: m.task,
    description: m.description ?? null,
    inputs: m.inputs,
    outputs: m.outputs,
    labels: m.labels ?? null,
    metrics: m.metrics ?? {},
    preprocessing: m.preprocessing ?? null,
    provenance: m.provenance,
    digest,
    files,
    totalBytes: files.reduce((s, f) => s + f.bytes, 0),
    unlisted,
    signatures,
  };
  const lines = [
    `${m.name}@${m.version} (${m.task})${m.description ? `: ${text(m.description)}` : ''}`,
    `inputs      ${m.inputs.map(shape).join('; ')}`,
    `outputs     ${m.outputs.map(shape).join('; ')}`,
  ];
  if (m.labels) lines.push(`labels      ${Array.isArray(m.labels) ? m.labels.map(text).join(', ') : text(m.labels)}`);
  // A metric that is not a number is described (a string 'NaN' shows quoted, never like the number NaN).
  const metrics = isObject(m.metrics) ? Object.entries(m.metrics) : [];
  if (metrics.length > 0) lines.push(`metrics     ${metrics.map(([k, v]) => `${k} ${typeof v !== 'number' ? describeValue(v) : Number.isInteger(v) ? v : v.toFixed(4)}`).join(', ')}`);
  if (m.preprocessing) lines.push(`preprocess  ${isObject(m.preprocessing) ? Object.keys(m.preprocessing).join(', ') : describeValue(m.preprocessing)}`);
  // The loader does not need provenance, so a manifest may carry null or a string there: its fields then read as unknown.
  const p: Record<string, unknown> = isObject(m.provenance) ? m.provenance : {};
  lines.push(`provenance  created ${text(p.createdAt)}, @lepton/core ${text(p.leptonCoreVersion)}, TensorFlow.js ${text(p.tfjsVersion)}, trained on ${text(p.backend)}`);
  lines.push(`digest      ${digest}`);
  lines.push(`files       ${files.length}, ${formatBytes(json.totalBytes)}`);
  for (const f of files) {
    const state = f.actualBytes === null ? '  MISSING' : f.actualBytes !== f.bytes ? `  SIZE ${f.actualBytes} on disk` : '';
    lines.push(`  ${f.name.padEnd(24)} ${String(f.bytes).padStart(12)} B  sha256 ${f.sha256.slice(0, 16)}…${state}`);
  }
  for (const u of unlisted) lines.push(`  ${u.padEnd(24)} not listed in lepton.json`);
  const s = signatures;
  lines.push(
    !s.present
      ? 'signatures  none (unsigned)'
      : !s.wellFormed
        ? 'signatures  lepton.sig.json is malformed'
        : `signatures  ${s.keyIds.length} by key id ${s.keyIds.join(', ')}${s.digestMatches ? '' : ' (for an OLDER manifest: lepton.json changed after signing)'}; not verified: lepton bundle verify --key <pub.pem>`,
  );
  // a manifest's text is printed escaped: a newline or an ESC sequence in it cannot forge or hide a line
  return { exitCode: 0, json, human: lines.map(printable).join('\n') };
}
