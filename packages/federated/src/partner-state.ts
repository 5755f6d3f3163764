import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeValue, LeptonError } from '@lepton/core';

/*
 * @internal The part of a secure-aggregation partner's memory that must survive a restart: the round ids it announced
 * keys for (a coordinator that replays one could pair old masks with new ones) and the base models its updates were
 * unmasked from (a second unmasked sum over one update lets the coordinator difference the two). Without it a restarted
 * partner forgets both. Written whole, atomically (a temporary sibling, fsync, rename), before the announcement or the
 * reveal that the new entry protects leaves the partner; read and checked once, when the partner is made.
 */

/** What the file holds. */
export interface PartnerStateRecord {
  usedRoundIds: string[];
  /** `[base key, round id of the attempt that revealed it]`. */
  revealedBases: [string, string][];
}

const TYPE = 'lepton-federated-partner-state';
/** Far beyond any federation's rounds (an entry is at most ~400 bytes); a larger file is refused unread. */
const MAX_BYTES = 64 * 1024 * 1024;

function stateInvalid(file: string, what: string, cause?: unknown): never {
  throw new LeptonError(
    'FEDERATED_STATE_INVALID',
    `Partner state file ${describeValue(file, 200)}: ${what}. Nothing was sent. Restore the file from a backup; deleting it makes the partner forget which updates it has revealed.`,
    cause === undefined ? { details: { file } } : { cause, details: { file } },
  );
}

const isShort = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512;

/** Reads a partner's state file; an empty record when there is none yet. Anything else unreadable is refused. */
export function readPartnerState(file: string, partnerId: string): PartnerStateRecord {
  let fd: number;
  try {
    // O_NOFOLLOW: a planted link is refused rather than followed; O_NONBLOCK: a FIFO never blocks the read.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { usedRoundIds: [], revealedBases: [] };
    return stateInvalid(file, `cannot be opened (${String((err as NodeJS.ErrnoException).code ?? 'error')}; a symbolic link is refused)`, err);
  }
  let text: string;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) stateInvalid(file, 'is not a regular file');
    if (st.size > MAX_BYTES) stateInvalid(file, `is ${st.size} bytes, more than the ${MAX_BYTES} read`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    text = buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return stateInvalid(file, 'is not JSON', err);
  }
  const o = json as Record<string, unknown>;
  if (typeof json !== 'object' || json === null || Array.isArray(json) || o['type'] !== TYPE || o['version'] !== 1) stateInvalid(file, `is not a ${TYPE} file of version 1`);
  if (o['partnerId'] !== partnerId) stateInvalid(file, `belongs to partner ${describeValue(o['partnerId'], 64)}, not '${partnerId}'`);
  const used = o['usedRoundIds'];
  const bases = o['revealedBases'];
  if (!Array.isArray(used) || !used.every(isShort)) stateInvalid(file, 'usedRoundIds must be a list of round ids');
  if (!Array.isArray(bases) || !bases.every((b) => Array.isArray(b) && b.length === 2 && isShort(b[0]) && isShort(b[1]))) {
    stateInvalid(file, 'revealedBases must be a list of [base, round id] pairs');
  }
  return { usedRoundIds: [...(used as string[])], revealedBases: (bases as [string, string][]).map(([b, r]) => [b, r]) };
}

/** Writes a partner's state file atomically (0600, never through a link); refuses, so that nothing is sent, when it cannot. */
export function writePartnerState(file: string, partnerId: string, record: PartnerStateRecord): void {
  const text = `${JSON.stringify({ type: TYPE, version: 1, partnerId, ...record })}\n`;
  const tmp = `${file}.tmp-${randomBytes(8).toString('hex')}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    const buf = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    return stateInvalid(file, `cannot be written (${String((err as NodeJS.ErrnoException).code ?? 'error')})`, err);
  }
  // The rename reaches the disk with its directory; a file system that cannot fsync a directory keeps the rename anyway.
  try {
    const dir = openSync(dirname(file), constants.O_RDONLY);
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    /* best effort */
  }
}
