import dicomParser, { type DataSet } from 'dicom-parser';
import { dicomDirError } from './errors.js';
import type { DicomDirInstance, DicomDirPatient, DicomDirSeries, DicomDirStudy, DicomDirTree } from './types.js';

const MEDIA_STORAGE_DIRECTORY = '1.2.840.10008.1.3.10';
const RECORD_SEQUENCE = 'x00041220';
const FIRST_ROOT_OFFSET = 'x00041200';
const NEXT_OFFSET = 'x00041400';
const IN_USE = 'x00041410';
const LOWER_OFFSET = 'x00041420';
const RECORD_TYPE = 'x00041430';
const FILE_ID = 'x00041500';

/** One directory record: the item's data set, found by the offset of its Item tag. */
interface RecordNode {
  readonly offset: number;
  readonly ds: DataSet;
}

const str = (ds: DataSet, tag: string): string | undefined => {
  const v = ds.string(tag);
  return v === undefined || v === '' ? undefined : v;
};
const int = (ds: DataSet, tag: string): number | undefined => {
  const v = ds.intString(tag);
  return v === undefined || !Number.isFinite(v) ? undefined : v;
};

/**
 * A Referenced File ID's components; `'unsafe'` when it is empty or one component could leave the file-set's folder
 * (the record is then rejected on its own, the rest of the directory kept).
 */
function fileIdOf(ds: DataSet): string[] | undefined | 'unsafe' {
  if (ds.elements[FILE_ID] === undefined) return undefined;
  const n = ds.numStringValues(FILE_ID) ?? 0;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push((ds.string(FILE_ID, i) ?? '').trim());
  if (parts.length === 0 || parts.some((p) => p === '' || p === '.' || p === '..' || /[/\\\0:]/.test(p))) return 'unsafe';
  return parts;
}

/**
 * Parses a DICOMDIR (Media Storage Directory, PS3.10 / PS3.3 F) from its bytes: follows the root directory entity's
 * offsets (Offset of the Next Directory Record) and each record's Offset of Referenced Lower-Level Directory Entity to
 * build the PATIENT → STUDY → SERIES → instance tree. No file is opened: instance `path`s stay undefined (use
 * {@link readDicomDir} for files on disk).
 *
 * @param bytes - the DICOMDIR file's bytes (Part 10, with preamble)
 * @returns the tree, every instance record in tree order, and `rejectedRecords`: instance records refused on their
 *   own (a Referenced File ID that is empty or could leave the file-set's folder: `..`, a path separator), each with
 *   its byte offset and reason; the rest of the directory is kept
 * @throws {@link @lepton/core!LeptonError} `DICOMDIR_NOT_DICOMDIR` for bytes that are not a DICOMDIR;
 *   `DICOMDIR_MALFORMED` for a truncated file, bad offsets, loops or a broken hierarchy
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseDicomDir } from '@lepton/medical';
 * const dir = parseDicomDir(readFileSync('/media/cdrom/DICOMDIR'));
 * for (const i of dir.instances) console.log(i.recordType, i.fileId.join('/'));
 * ```
 */
export function parseDicomDir(bytes: Uint8Array): DicomDirTree {
  if (!(bytes instanceof Uint8Array)) throw dicomDirError('DICOMDIR_NOT_DICOMDIR', 'parseDicomDir needs the DICOMDIR file\'s bytes (a Uint8Array).');
  if (bytes.length < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) {
    throw dicomDirError('DICOMDIR_NOT_DICOMDIR', 'The file is not a DICOM Part 10 file (no "DICM" prefix), so it is not a DICOMDIR.');
  }
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes);
  } catch (err) {
    // dicom-parser throws strings or { exception, dataSet }; a DICOMDIR cut short is the common case on damaged media.
    const why = typeof err === 'string' ? err : err instanceof Error ? err.message : String((err as { exception?: unknown })?.exception ?? err);
    throw dicomDirError('DICOMDIR_MALFORMED', `The DICOMDIR could not be parsed (${why.slice(0, 200)}); the file is truncated or damaged.`, {}, err);
  }
  const sopClass = str(ds, 'x00020002');
  if (sopClass !== MEDIA_STORAGE_DIRECTORY) {
    throw dicomDirError('DICOMDIR_NOT_DICOMDIR', `The file is DICOM but not a DICOMDIR (Media Storage SOP Class ${sopClass ?? 'absent'}, expected ${MEDIA_STORAGE_DIRECTORY}).`, { sopClassUid: sopClass });
  }
  const seq = ds.elements[RECORD_SEQUENCE];
  if (seq === undefined || !Array.isArray(seq.items)) throw dicomDirError('DICOMDIR_MALFORMED', 'The DICOMDIR has no Directory Record Sequence (0004,1220).');
  if (ds.elements[FIRST_ROOT_OFFSET] === undefined) throw dicomDirError('DICOMDIR_MALFORMED', 'The DICOMDIR has no Offset of the First Directory Record of the Root Directory Entity (0004,1200).');

  // Offsets count from the first byte of the file (preamble included) to the record's Item tag, 8 bytes before its data.
  const byOffset = new Map<number, RecordNode>();
  for (const item of seq.items) if (item.dataSet !== undefined) byOffset.set(item.dataOffset - 8, { offset: item.dataOffset - 8, ds: item.dataSet });
  const visited = new Set<number>();

  /** The records of one directory entity, following Next offsets from `first` (0: the entity is empty). */
  const entity = (first: number, from: string): RecordNode[] => {
    const out: RecordNode[] = [];
    for (let offset = first; offset !== 0; ) {
      const node = byOffset.get(offset);
      if (node === undefined) throw dicomDirError('DICOMDIR_MALFORMED', `${from} points at byte ${offset}, where no directory record starts.`, { offset });
      if (visited.has(offset)) throw dicomDirError('DICOMDIR_MALFORMED', `${from} leads back to the record at byte ${offset}: the directory loops.`, { offset });
      visited.add(offset);
      out.push(node);
      offset = node.ds.uint32(NEXT_OFFSET) ?? 0;
      from = `The record at byte ${node.offset}`;
    }
    return out;
  };
  const lower = (n: RecordNode): RecordNode[] => entity(n.ds.uint32(LOWER_OFFSET) ?? 0, `The record at byte ${n.offset}`);
  const active = (n: RecordNode): boolean => n.ds.elements[IN_USE] === undefined || n.ds.uint16(IN_USE) !== 0;
  const typeOf = (n: RecordNode): string => (str(n.ds, RECORD_TYPE) ?? '').trim().toUpperCase();

  let skippedRecords = 0;
  const rejectedRecords: Array<{ readonly offset: number; readonly reason: 'unsafe-file-id' }> = [];
  const instances: DicomDirInstance[] = [];
  const misplaced = (n: RecordNode, where: string): never => {
    throw dicomDirError('DICOMDIR_MALFORMED', `A ${typeOf(n) || 'untyped'} record (byte ${n.offset}) sits ${where}; the PATIENT → STUDY → SERIES → instance hierarchy is broken.`, { offset: n.offset, recordType: typeOf(n) });
  };
  const HIERARCHY = new Set(['PATIENT', 'STUDY', 'SERIES']);

  const patients: DicomDirPatient[] = [];
  for (const p of entity(ds.uint32(FIRST_ROOT_OFFSET) ?? 0, 'Offset of the First Directory Record (0004,1200)')) {
    if (!active(p)) continue;
    if (typeOf(p) !== 'PATIENT') {
      if (HIERARCHY.has(typeOf(p)) || typeOf(p) === 'IMAGE') misplaced(p, 'at the root, where PATIENT records belong');
      skippedRecords++;
      continue;
    }
    const studies: DicomDirStudy[] = [];
    for (const s of lower(p)) {
      if (!active(s)) continue;
      if (typeOf(s) !== 'STUDY') {
        if (HIERARCHY.has(typeOf(s)) || typeOf(s) === 'IMAGE') misplaced(s, 'under a PATIENT, where STUDY records belong');
        skippedRecords++;
        continue;
      }
      const seriesList: DicomDirSeries[] = [];
      for (const r of lower(s)) {
        if (!active(r)) continue;
        if (typeOf(r) !== 'SERIES') {
          if (HIERARCHY.has(typeOf(r)) || typeOf(r) === 'IMAGE') misplaced(r, 'under a STUDY, where SERIES records belong');
          skippedRecords++;
          continue;
        }
        const list: DicomDirInstance[] = [];
        for (const i of lower(r)) {
          if (!active(i)) continue;
          if (HIERARCHY.has(typeOf(i))) misplaced(i, 'under a SERIES, where instance records belong');
          const fileId = fileIdOf(i.ds);
          if (fileId === 'unsafe') {
            rejectedRecords.push({ offset: i.offset, reason: 'unsafe-file-id' });
            continue;
          }
          if (fileId === undefined) {
            skippedRecords++;
            continue;
          }
          const instance: DicomDirInstance = {
            recordType: typeOf(i),
            fileId,
            path: undefined,
            sopClassUid: str(i.ds, 'x00041510'),
            sopInstanceUid: str(i.ds, 'x00041511'),
            transferSyntaxUid: str(i.ds, 'x00041512'),
            instanceNumber: int(i.ds, 'x00200013'),
          };
          list.push(instance);
          instances.push(instance);
          skippedRecords += lower(i).length; // records below an instance (rare, e.g. private) are not instances
        }
        seriesList.push({ seriesInstanceUid: str(r.ds, 'x0020000e'), modality: str(r.ds, 'x00080060'), seriesNumber: int(r.ds, 'x00200011'), seriesDescription: str(r.ds, 'x0008103e'), instances: list });
      }
      studies.push({
        studyInstanceUid: str(s.ds, 'x0020000d'),
        studyDate: str(s.ds, 'x00080020'),
        studyTime: str(s.ds, 'x00080030'),
        studyDescription: str(s.ds, 'x00081030'),
        studyId: str(s.ds, 'x00200010'),
        accessionNumber: str(s.ds, 'x00080050'),
        series: seriesList,
      });
    }
    patients.push({ patientId: str(p.ds, 'x00100020'), patientName: str(p.ds, 'x00100010'), studies });
  }
  return { fileSetId: str(ds, 'x00041130'), patients, instances, skippedRecords, rejectedRecords };
}
