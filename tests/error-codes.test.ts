/**
 * The error-code lists cannot drift from the code: every package's src is parsed (TypeScript's parser, no type check,
 * so it takes well under a second) and every code-shaped string literal it uses must be a code of the package itself
 * or of a package it builds on; every code a package lists must still be used by its src; no code has two owners.
 *
 * The compiler already refuses `new LeptonError('UNREGISTERED', …)` (the code union is closed), so this test adds what
 * types cannot see: a code thrown by medical but listed only by finance, a code listed but never thrown any more, and
 * the run-time arrays that JavaScript callers read.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { CORE_ERROR_CODES, LeptonError, type CoreErrorCode, type LeptonErrorCode, type LeptonErrorCodes } from '@lepton/core';
import { FEDERATED_ERROR_CODES, type FederatedErrorCode } from '@lepton/federated';
import { FINANCE_ERROR_CODES, type FinanceErrorCode } from '@lepton/finance';
import { MANUFACTURING_ERROR_CODES, type ManufacturingErrorCode } from '@lepton/manufacturing';
import { MEDICAL_ERROR_CODES, type MedicalErrorCode } from '@lepton/medical';
import { SURVEILLANCE_ERROR_CODES, type SurveillanceErrorCode } from '@lepton/surveillance';
// @lepton/cli is not a dependency of the workspace root (it is a bin); its built entry is read directly.
import { CLI_ERROR_CODES, type CliErrorCode } from '../packages/cli/dist/index.js';
import { ROOT } from './support/process.js';

/** Codes of more than one word. One-word codes (`OVERLOADED`) are checked in the other direction only. */
const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/** Error codes of Node.js and the system, compared against `err.code` of foreign errors. */
const NODE_CODES = new Set(['MODULE_NOT_FOUND', 'EAI_AGAIN', 'Z_BUF_ERROR', 'Z_DATA_ERROR']);

/**
 * Code-shaped literals of one package that are not `LeptonError` codes, each with the reason. Beyond these, names read
 * from an environment (`env['LEPTON_BACKEND']`), Node.js error codes (`ERR_…`, {@link NODE_CODES}) and `LEPTON_…` names
 * are skipped everywhere.
 */
const NOT_ERROR_CODES: Record<string, Record<string, string>> = {
  core: {
    SAME_UPPER: 'ONNX auto_pad value',
    DT_FLOAT: 'TensorFlow DataType name in a graph model',
    DT_INT32: 'TensorFlow DataType name in a graph model',
    DT_INT64: 'TensorFlow DataType name in a graph model',
    DT_BOOL: 'TensorFlow DataType name in a graph model',
  },
  cli: {
    CLI_USAGE: 'CliError code (the CLI reports it without loading core)',
    CLI_CORE_MISSING: 'CliError code',
    CLI_CORE_BROKEN: 'CliError code',
    CLI_MEDICAL_MISSING: 'CliError code',
    CLI_FAILED: 'code of a --json error report for a thrown value that has none',
  },
  medical: {
    YBR_FULL: 'DICOM Photometric Interpretation',
    YBR_FULL_422: 'DICOM Photometric Interpretation',
    YBR_ICT: 'DICOM Photometric Interpretation',
    YBR_RCT: 'DICOM Photometric Interpretation',
    LINEAR_EXACT: 'DICOM VOI LUT Function',
  },
  surveillance: {
    BAD_REQUEST: 'error code of the HTTP API body',
    NOT_FOUND: 'error code of the HTTP API body',
    EVENT_NOT_FOUND: 'error code of the HTTP API body',
    SNAPSHOT_NOT_FOUND: 'error code of the HTTP API body',
    CLIP_NOT_FOUND: 'error code of the HTTP API body',
    CLIP_PENDING: 'error code of the HTTP API body',
    INVALID_QUERY: 'error code of the HTTP API body',
  },
};

interface Pkg {
  name: string;
  codes: readonly string[];
  /** The file that holds the list (its literals are the list, not uses). */
  listFile: string;
  /** Packages whose codes this one may raise besides its own. */
  uses: string[];
}

const PACKAGES: Pkg[] = [
  { name: 'core', codes: CORE_ERROR_CODES, listFile: 'src/errors/codes.ts', uses: [] },
  { name: 'medical', codes: MEDICAL_ERROR_CODES, listFile: 'src/errors.ts', uses: ['core'] },
  { name: 'finance', codes: FINANCE_ERROR_CODES, listFile: 'src/errors.ts', uses: ['core'] },
  { name: 'manufacturing', codes: MANUFACTURING_ERROR_CODES, listFile: 'src/errors.ts', uses: ['core'] },
  { name: 'surveillance', codes: SURVEILLANCE_ERROR_CODES, listFile: 'src/errors.ts', uses: ['core'] },
  { name: 'federated', codes: FEDERATED_ERROR_CODES, listFile: 'src/errors.ts', uses: ['core'] },
  { name: 'cli', codes: CLI_ERROR_CODES, listFile: 'src/errors.ts', uses: ['core', 'medical'] },
  { name: 'charts', codes: [], listFile: '', uses: ['core'] },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

function insideType(node: ts.Node): boolean {
  for (let p = node.parent; p !== undefined; p = p.parent) if (ts.isTypeNode(p)) return true;
  return false;
}

/** Every string literal (not in a type, not an `env[…]` key) of the package's src, with where it is. */
function literals(pkg: Pkg): Map<string, string[]> {
  const dir = join(ROOT, 'packages', pkg.name);
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(join(dir, 'src'))) {
    const rel = relative(dir, file);
    if (rel === pkg.listFile) continue;
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) && !insideType(node)) {
        const parent = node.parent;
        const envKey = ts.isElementAccessExpression(parent) && /\benv$/.test(parent.expression.getText(sf));
        if (!envKey) found.set(node.text, [...(found.get(node.text) ?? []), `${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`]);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return found;
}

const owner = new Map(PACKAGES.map((p) => [p.name, p]));

describe('error codes', () => {
  it.each(PACKAGES.map((p) => [p.name, p] as const))('@lepton/%s: the codes its src uses are listed, and every listed code is used', (_, pkg) => {
    const used = literals(pkg);
    const allowed = new Set([...pkg.codes, ...pkg.uses.flatMap((u) => owner.get(u)!.codes)]);
    const skip = NOT_ERROR_CODES[pkg.name] ?? {};
    const unlisted = [...used]
      .filter(([text]) => CODE.test(text) && !text.startsWith('ERR_') && !text.startsWith('LEPTON_') && !NODE_CODES.has(text) && !(text in skip) && !allowed.has(text))
      .map(([text, where]) => `${text} (${where.join(', ')})`);
    expect(unlisted, `codes used by @lepton/${pkg.name} but in no list it may raise`).toEqual([]);
    const unused = pkg.codes.filter((code) => !used.has(code));
    expect(unused, `codes @lepton/${pkg.name} lists but its src no longer uses`).toEqual([]);
    expect(new Set(pkg.codes).size, 'a code listed twice').toBe(pkg.codes.length);
    for (const [code, why] of Object.entries(skip)) expect(allowed.has(code), `${code} is listed as a code and as ${why}`).toBe(false);
  });

  it('every code has one owner', () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const p of PACKAGES) {
      for (const code of p.codes) {
        if (seen.has(code)) twice.push(`${code}: ${seen.get(code)} and ${p.name}`);
        seen.set(code, p.name);
      }
    }
    expect(twice).toEqual([]);
  });

  it('LeptonErrorCode is the union of every package list, and LeptonError.code is typed with it', () => {
    // Type-level (checked by `pnpm typecheck`, which includes this file): each package registers exactly its list, and
    // each list is part of the one union. (The union itself is not compared with the lists: test files of the same
    // type-check program register codes of their own, as applications do.)
    expectTypeOf<LeptonErrorCodes['core']>().toEqualTypeOf<CoreErrorCode>();
    expectTypeOf<LeptonErrorCodes['medical']>().toEqualTypeOf<MedicalErrorCode>();
    expectTypeOf<LeptonErrorCodes['finance']>().toEqualTypeOf<FinanceErrorCode>();
    expectTypeOf<LeptonErrorCodes['manufacturing']>().toEqualTypeOf<ManufacturingErrorCode>();
    expectTypeOf<LeptonErrorCodes['surveillance']>().toEqualTypeOf<SurveillanceErrorCode>();
    expectTypeOf<LeptonErrorCodes['federated']>().toEqualTypeOf<FederatedErrorCode>();
    expectTypeOf<LeptonErrorCodes['cli']>().toEqualTypeOf<CliErrorCode>();
    expectTypeOf<CoreErrorCode>().toExtend<LeptonErrorCode>();
    expectTypeOf<MedicalErrorCode>().toExtend<LeptonErrorCode>();
    expectTypeOf<FinanceErrorCode>().toExtend<LeptonErrorCode>();
    expectTypeOf<ManufacturingErrorCode>().toExtend<LeptonErrorCode>();
    expectTypeOf<SurveillanceErrorCode>().toExtend<LeptonErrorCode>();
    expectTypeOf<FederatedErrorCode>().toExtend<LeptonErrorCode>();
    expectTypeOf<CliErrorCode>().toExtend<LeptonErrorCode>();
    expectTypeOf<LeptonError['code']>().toEqualTypeOf<LeptonErrorCode>();
    // @ts-expect-error a code no package registers does not compile
    const typo = new LeptonError('OVERLAODED', 'x');
    // and a JavaScript caller still gets the code it passed (types do not reach it; nothing is rewritten)
    expect(typo.code).toBe('OVERLAODED');
    expect(new LeptonError('DICOM_TRUNCATED', 'x').code).toBe('DICOM_TRUNCATED');
  });
});
