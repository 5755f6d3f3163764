// CI slice of the seeded DICOM fuzz run (test/fuzz-harness.ts): files 0 … 1999 of run seed 14, over seed files of
// every transfer syntax @lepton/medical decodes. The full run (10,200 files, each in a watched child process) is
//   node --import tsx packages/medical/test/fuzz-harness.ts --count 10200
// Every outcome must be a decoded image or a LeptonError with a DICOM_* code (INVALID_ARGUMENT only for
// modalityFrame of a colour image), with no patient data in its message or details, within 5 s.
import { describe, expect, it } from 'vitest';
import { isTyped, loadSeeds, MUTATION_KINDS, mutant, runOne, SEED_FILES, summarize } from './fuzz-harness.js';

const RUN_SEED = 14;
const FILES = 2000;

describe('fuzzing: 2,000 mutated DICOM files, every outcome typed', () => {
  it('every seed file reads and decodes unmutated', async () => {
    const outcomes = await Promise.all(loadSeeds().map(async (s) => [s.name, (await runOne(s.bytes)).outcome]));
    expect(outcomes.filter(([, o]) => o !== 'OK')).toEqual([]);
  });

  it('is deterministic: file i depends only on the run seed and i', () => {
    const seeds = loadSeeds();
    const a = mutant(seeds, RUN_SEED, 1234);
    const b = mutant(seeds, RUN_SEED, 1234);
    expect([a.seed, a.kind]).toEqual([b.seed, b.kind]);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
  });

  it(`files 0 … ${FILES - 1}: success or a typed error, none slower than 5 s`, { timeout: 300_000 }, async () => {
    const seeds = loadSeeds();
    const results: Array<{ i: number; seed: string; kind: string; outcome: string; ms: number }> = [];
    const t0 = performance.now();
    for (let i = 0; i < FILES; i++) {
      const m = mutant(seeds, RUN_SEED, i);
      results.push({ i, seed: m.seed, kind: m.kind, ...(await runOne(m.bytes)) });
    }
    const summary = summarize(RUN_SEED, 0, results, (performance.now() - t0) / 1000);
    expect(summary.findings).toEqual([]);
    expect(summary.maxMs).toBeLessThan(5000);
    // the slice exercises what it claims to: every seed, every mutation kind, and both successes and failures
    expect(new Set(results.map((r) => r.seed)).size).toBe(SEED_FILES.length);
    for (const kind of MUTATION_KINDS) expect(results.some((r) => r.kind.split('+').includes(kind))).toBe(true);
    expect(summary.outcomes['OK']).toBeGreaterThan(FILES / 10);
    for (const code of ['DICOM_TRUNCATED', 'DICOM_MALFORMED', 'DICOM_DECODE_FAILED']) expect(summary.outcomes[code]).toBeGreaterThan(10);
    expect(results.every((r) => isTyped(r.outcome))).toBe(true);
  });
});
