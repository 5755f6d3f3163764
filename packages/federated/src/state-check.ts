import { isAbsolute, relative, resolve } from 'node:path';

// `state.json` is read back after a restart, possibly after an operator or a faulty tool edited it. Its field types
// are checked here once, at load, so that nothing later in the coordinator trusts them: a `failures` that is not an
// array used to crash the process from a round timer, a `history: [null]` or `baseline: 5` answered 500 and a
// numeric `federationId` was served as a number. Messages name the field, never its value (a state file can be large
// or hostile).

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isFinite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isSha256 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/** A record of finite numbers (`{ auc: 0.8 }`). */
const isNumbers = (v: unknown): boolean => isObj(v) && Object.values(v).every(isFinite);
/** A record of records of finite numbers (`{ A: { auc: 0.8 } }`). */
const isNumberTable = (v: unknown): boolean => isObj(v) && Object.values(v).every(isNumbers);

/**
 * @internal Whether `file` is a relative path that stays inside `stateDir` once resolved (no absolute path, no `..`
 * escaping it, no NUL). Files the state names are read relative to the state directory and nowhere else.
 */
export function isInsideStateDir(stateDir: string, file: unknown): file is string {
  if (typeof file !== 'string' || file.length === 0 || file.length > 4096 || file.includes('\0') || isAbsolute(file)) return false;
  const rel = relative(resolve(stateDir), resolve(stateDir, file));
  return rel.length > 0 && !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${'/'}`) && !rel.startsWith('..\\');
}

function dpProblem(v: unknown): boolean {
  return !(isObj(v) && isFinite(v['clipNorm']) && isFinite(v['noiseMultiplier']) && (v['delta'] === undefined || isFinite(v['delta'])));
}

function claimProblem(v: unknown): boolean {
  if (!isObj(v)) return true;
  if (!isFinite(v['clipNorm']) || !isFinite(v['noiseMultiplier']) || !isFinite(v['noiseStd']) || !isFinite(v['partners'])) return true;
  if (v['norm'] !== undefined && !isFinite(v['norm'])) return true;
  return v['clipped'] !== undefined && typeof v['clipped'] !== 'boolean';
}

function privacyProblem(v: Obj): string | null {
  for (const k of ['clipNorm', 'claimedNoiseMultiplier', 'effectiveNoiseMultiplier', 'delta'] as const) if (!isFinite(v[k])) return k;
  for (const k of ['epsilon', 'cumulativeEpsilon'] as const) if (v[k] !== null && !isFinite(v[k])) return k;
  return v['verification'] === 'norm-checked' || v['verification'] === 'claimed' ? null : 'verification';
}

/** The first field of one history record that is missing or of the wrong type, or null. */
function roundProblem(stateDir: string, r: unknown, index: number): string | null {
  if (!isObj(r)) return '';
  if (r['round'] !== index + 1) return '.round';
  if (!Number.isSafeInteger(r['attempt']) || (r['attempt'] as number) < 1) return '.attempt';
  if (r['closedBy'] !== 'all' && r['closedBy'] !== 'quorum' && r['closedBy'] !== 'deadline') return '.closedBy';
  for (const k of ['participants', 'dropped', 'cappedSamples'] as const) if (!isStrings(r[k])) return `.${k}`;
  if (!isNumbers(r['samples'])) return '.samples';
  if (!isFinite(r['totalSamples'])) return '.totalSamples';
  if (!isNumberTable(r['trainMetrics'])) return '.trainMetrics';
  if (!isNumberTable(r['evaluations'])) return '.evaluations';
  if (typeof r['secureAggregation'] !== 'boolean') return '.secureAggregation';
  if (r['dp'] !== null && dpProblem(r['dp'])) return '.dp';
  if (!isObj(r['appliedDp']) || Object.values(r['appliedDp']).some(claimProblem)) return '.appliedDp';
  if (r['privacy'] !== null) {
    if (!isObj(r['privacy'])) return '.privacy';
    const p = privacyProblem(r['privacy']);
    if (p !== null) return `.privacy.${p}`;
  }
  if (!isInsideStateDir(stateDir, r['weightsFile'])) return '.weightsFile';
  if (!isSha256(r['weightsSha256'])) return '.weightsSha256';
  if (r['bundleDir'] !== null && !isInsideStateDir(stateDir, r['bundleDir'])) return '.bundleDir';
  return typeof r['closedAt'] === 'string' ? null : '.closedAt';
}

function failureProblem(f: unknown): string | null {
  if (!isObj(f)) return '';
  for (const k of ['round', 'attempt', 'received', 'required'] as const) if (!isCount(f[k])) return `.${k}`;
  for (const k of ['phase', 'code', 'message', 'at'] as const) if (typeof f[k] !== 'string') return `.${k}`;
  return null;
}

/**
 * @internal The first field of a parsed `state.json` (format and version already checked) that is missing, of the
 * wrong type or out of range, as a path like `history[2].evaluations`, or null when every field is well formed.
 * `baseline`, `failures` and `federationId` may be absent (older state files); present, they must be well formed.
 * `current.file` and each round's files must stay inside `stateDir`.
 */
export function stateProblem(stateDir: string, s: Obj): string | null {
  if (!isCount(s['completedRounds'])) return 'completedRounds';
  if (!isCount(s['totalRounds'])) return 'totalRounds';
  if (!Array.isArray(s['specs'])) return 'specs';
  const current = s['current'];
  if (!isObj(current)) return 'current';
  if (!isInsideStateDir(stateDir, current['file'])) return 'current.file (a relative path inside the state directory)';
  if (!isSha256(current['sha256'])) return 'current.sha256';
  if (!isCount(current['bytes'])) return 'current.bytes';
  const history = s['history'];
  if (!Array.isArray(history)) return 'history';
  for (let i = 0; i < history.length; i++) {
    const p = roundProblem(stateDir, history[i], i);
    if (p !== null) return `history[${i}]${p}`;
  }
  if (s['baseline'] !== undefined && !isNumberTable(s['baseline'])) return 'baseline';
  const failures = s['failures'];
  if (failures !== undefined) {
    if (!Array.isArray(failures)) return 'failures';
    for (let i = 0; i < failures.length; i++) {
      const p = failureProblem(failures[i]);
      if (p !== null) return `failures[${i}]${p}`;
    }
  }
  const id = s['federationId'];
  if (id !== undefined && !(typeof id === 'string' && /^[\x21-\x7e]{1,128}$/.test(id))) return 'federationId';
  for (const k of ['createdAt', 'updatedAt'] as const) if (s[k] !== undefined && typeof s[k] !== 'string') return k;
  return null;
}
