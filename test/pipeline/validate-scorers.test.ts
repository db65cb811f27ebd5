/**
 * The scorer-validity benchmark (pipeline/validate-scorers*): its separation metrics against hand-computed values and
 * an independent (rank-sum) AUROC, the truth sources (true first, wrong ones distinct, near-misses), and the harness
 * on the demo's planted features with the offline baseline: correlation separates true from wrong (AUROC ≥ 0.9), and
 * so does every registered scorer that needs no subject model (generic over the registry: scorers added later are
 * covered as they land). Stub scorers check the accounting: judge calls and tokens per explanation, a scorer that cannot
 * serve a feature, a scorer that fails.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { createBaselineProvider } from '../../src/llm/baseline/baseline-provider.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { scorers } from '../../src/score/registry.ts';
import type { Scorer } from '../../src/score/scorer.ts';
import { validateScorers, type ValidationReport } from '../../src/pipeline/validate-scorers.ts';
import { auroc, summarizeSeparation, trueRanksFirst } from '../../src/pipeline/validate-scorers-metrics.ts';
import {
  labelExplanation,
  loadTruthCases,
  nearMisses,
  type TruthCase,
} from '../../src/pipeline/validate-scorers-truth.ts';

const countTokens = (text: string) => text.split(/\s+/).length;
const puzzlesFixture = fileURLToPath(new URL('../fixtures/puzzles-small.json', import.meta.url));

/** AUROC through average ranks (Mann–Whitney U = rank sum of positives − n₁(n₁+1)/2), independent of the pairwise count. */
function rankSumAuroc(positives: number[], negatives: number[]): number {
  const all = [
    ...positives.map((value) => ({ value, positive: true })),
    ...negatives.map((value) => ({ value, positive: false })),
  ];
  all.sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(all.length);
  for (let start = 0; start < all.length; ) {
    let end = start;
    while (end + 1 < all.length && all[end + 1]!.value === all[start]!.value) end += 1;
    for (let i = start; i <= end; i++) ranks[i] = (start + end) / 2 + 1;
    start = end + 1;
  }
  const rankSum = all.reduce((sum, item, i) => sum + (item.positive ? ranks[i]! : 0), 0);
  const n = positives.length;
  return (rankSum - (n * (n + 1)) / 2) / (n * negatives.length);
}

describe('separation metrics', () => {
  it('AUROC counts pairs won, ties half, a null below every number (by hand)', () => {
    // 0.9 beats all three; 0.5 beats 0.1 and null, ties 0.5: (3 + 2 + 0.5) / 6
    expect(auroc([0.9, 0.5], [0.1, 0.5, null])).toBeCloseTo(5.5 / 6, 12);
    expect(auroc([null], [null])).toBe(0.5);
    expect(auroc([], [0.1])).toBeNull();
    expect(auroc([1], [])).toBeNull();
  });

  it('AUROC equals the rank-sum statistic on random data with ties', () => {
    const random = mulberry32(7);
    for (let trial = 0; trial < 20; trial++) {
      const draw = () => Math.round(random() * 10) / 10; // coarse: ties are common
      const positives = Array.from({ length: 1 + Math.floor(random() * 8) }, draw);
      const negatives = Array.from({ length: 1 + Math.floor(random() * 12) }, draw);
      expect(auroc(positives, negatives)).toBeCloseTo(rankSumAuroc(positives, negatives), 12);
    }
  });

  it('the true explanation ranks first only strictly above every wrong one; summaries pool and average', () => {
    const clear = [
      { correct: true, value: 0.9 },
      { correct: false, value: 0.2 },
      { correct: false, value: null },
    ];
    const tied = [
      { correct: true, value: 0.4 },
      { correct: false, value: 0.4 },
      { correct: false, value: 0.8 },
    ];
    expect(trueRanksFirst(clear)).toBe(true);
    expect(trueRanksFirst(tied)).toBe(false);
    const summary = summarizeSeparation([clear, tied]);
    // pooled: 0.9 beats 4 of 4 wrong; 0.4 beats 0.2 and null, ties 0.4, loses to 0.8: (4 + 2.5) / 8
    expect(summary.pooledAuroc).toBeCloseTo(6.5 / 8, 12);
    // per feature: 1 and (0.5 + 0) / 2
    expect(summary.meanFeatureAuroc).toBeCloseTo((1 + 0.25) / 2, 12);
    expect(summary.trueFirstRate).toBe(0.5);
  });
});

describe('truth sources', () => {
  it('near-misses: half of several quoted tokens, each half of "A and B"; none otherwise', () => {
    expect(
      nearMisses('family members: "mother", "father", "wife", "husband", "son", "daughter", "brother" and "sister"'),
    ).toEqual(['"mother", "father", "wife" and "husband"']);
    expect(nearMisses('modal verbs and numbers')).toEqual(['modal verbs', 'numbers']);
    expect(nearMisses('determiners, especially "the"')).toEqual([]);
    expect(nearMisses('adverbs')).toEqual([]);
    expect(labelExplanation({ feature: 'f', tag: 'hvz', description: 'Brown tag "hvz": the verb "has"' })).toBe(
      'the verb "has"',
    );
  });

  const checkCandidates = (truthCase: TruthCase) => {
    const [first, ...rest] = truthCase.candidates;
    expect(first).toMatchObject({ role: 'true', correct: true });
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.every((candidate) => !candidate.correct)).toBe(true);
    const explanations = truthCase.candidates.map((candidate) => candidate.explanation);
    expect(new Set(explanations).size, truthCase.name).toBe(explanations.length);
  };

  it('planted: every active feature, its planted wrong explanation, 3 other features’, near-misses', async () => {
    const cases = await loadTruthCases(['planted']);
    expect(cases).toHaveLength(23); // 24 planted features, the dead one left out
    for (const truthCase of cases) {
      checkCandidates(truthCase);
      expect(truthCase.candidates.filter((c) => c.role === 'planted-wrong')).toHaveLength(1);
      expect(truthCase.candidates.filter((c) => c.role === 'other-feature')).toHaveLength(3);
    }
    const family = cases.find((truthCase) => truthCase.name === 'demo-planted/0/neuron/2')!;
    expect(family.candidates.filter((c) => c.role === 'near-miss')).toHaveLength(1);
    expect(await loadTruthCases(['planted'], { features: 2, otherFeatures: 1 })).toHaveLength(2);
  });

  it('brown-1l: every POS-labelled feature, other labels as wrong ones (never the same label)', async () => {
    const cases = await loadTruthCases(['brown-1l'], { otherFeatures: 5 });
    expect(cases).toHaveLength(32);
    for (const truthCase of cases) {
      checkCandidates(truthCase);
      expect(truthCase.candidates).toHaveLength(6);
      expect(truthCase.candidates[0]!.explanation).not.toMatch(/^Brown tag/);
    }
  });

  it('puzzles: the explanation against its false ones, every sentence scored', async () => {
    const cases = await loadTruthCases(['puzzles'], { puzzlesPath: puzzlesFixture });
    expect(cases.map((truthCase) => truthCase.name)).toEqual(['fruit', 'dots']);
    checkCandidates(cases[0]!);
    expect(cases[0]!.candidates.map((c) => c.role)).toEqual(['true', 'puzzle-false', 'puzzle-false']);
    expect(cases[0]!.splits.map((s) => `${s.split}/${s.source}`)).toEqual(['score/top', 'score/top', 'score/random']);
    await expect(loadTruthCases(['puzzles'])).rejects.toThrow(/--puzzles PATH/);
  });
});

describe('the harness on planted features, offline baseline', () => {
  const servable = scorers.filter((scorer) => !scorer.needs.subjectModel);
  let report: ValidationReport;
  beforeAll(async () => {
    const cases = await loadTruthCases(['planted'], { features: 3 });
    const baseline = createBaselineProvider();
    report = await validateScorers({ cases, scorers: servable, simulator: baseline, judge: baseline, countTokens });
  }, 120_000);

  it('correlation separates true from wrong explanations: AUROC ≥ 0.9, true first, its simulation calls counted', () => {
    const row = report.rows.find((r) => r.scorer === 'correlation' && r.source === 'planted')!;
    expect(row.kind).toBe('correlation.all');
    expect(row.features).toBe(3);
    expect(row.pooledAuroc!).toBeGreaterThanOrEqual(0.9);
    expect(row.meanFeatureAuroc!).toBeGreaterThanOrEqual(0.9);
    expect(row.trueFirstRate).toBe(1);
    // one simulation (at least one call) per candidate explanation
    expect(row.explanations).toBe(report.candidates.filter((c) => c.scorer === 'correlation').length);
    expect(row.callsPerExplanation!).toBeGreaterThanOrEqual(1);
    expect(row.promptTokensPerExplanation!).toBeGreaterThan(0);
    expect(report.baseline).toBe(true);
  });

  it('every registered scorer that needs no subject model reaches AUROC ≥ 0.9 on planted features', () => {
    expect(servable.map((scorer) => scorer.name)).toContain('correlation');
    for (const scorer of servable) {
      const row = report.rows.find((r) => r.scorer === scorer.name)!;
      expect(row.features, scorer.name).toBe(3);
      expect(row.pooledAuroc!, `${scorer.name}: ${JSON.stringify(row)}`).toBeGreaterThanOrEqual(0.9);
    }
  });
});

describe('accounting with stub scorers', () => {
  const judged: Scorer = {
    name: 'stub-judged',
    description: 'scores the length of the explanation, one judge call each',
    needs: { judge: true },
    kinds: ['stub.length'],
    async score(input, context) {
      await context.judge!.complete({ messages: [{ role: 'user', content: input.explanation }], maxTokens: 1 });
      return {
        scores: [{ kind: 'stub.length', value: input.explanation.length, reason: null, nTokens: 1, nMissing: 0 }],
        promptVersion: null,
      };
    },
  };
  const needsModel: Scorer = {
    name: 'stub-model',
    description: 'needs the subject model',
    needs: { subjectModel: true },
    kinds: ['stub.model'],
    async score(input, context) {
      const model = await context.models!.resolve(input.feature);
      if ('unavailable' in model) {
        context.note(`stub-model: no model ${model.unavailable}`);
        return null;
      }
      throw new Error('unexpected model');
    },
  };
  const failing: Scorer = {
    name: 'stub-failing',
    description: 'fails on explanations with an "s"',
    needs: {},
    kinds: ['stub.fail'],
    async score(input) {
      if (input.explanation.includes('s')) throw new Error('judge answer unreadable');
      return { scores: [{ kind: 'stub.fail', value: 1, reason: null, nTokens: 1, nMissing: 0 }], promptVersion: null };
    },
  };

  it('counts judge calls and tokens per explanation, shows unserved features with the note, keeps failed explanations unscored', async () => {
    const cases = await loadTruthCases(['puzzles'], { puzzlesPath: puzzlesFixture });
    const judge = createMockProvider({
      respond: () => ({ ...textResult('yes'), usage: { promptTokens: 10, completionTokens: 2 } }),
    });
    const report = await validateScorers({
      cases,
      scorers: [judged, needsModel, failing],
      simulator: createBaselineProvider(),
      judge,
      countTokens,
    });
    const candidates = cases.reduce((sum, truthCase) => sum + truthCase.candidates.length, 0); // 3 + 2
    expect(judge.requests).toHaveLength(candidates);
    // features are scored concurrently; the results keep the order of the features
    expect(report.candidates.filter((c) => c.scorer === 'stub-judged').map((c) => c.feature)).toEqual([
      'fruit',
      'fruit',
      'fruit',
      'dots',
      'dots',
    ]);
    const judgedRow = report.rows.find((row) => row.scorer === 'stub-judged')!;
    expect(judgedRow).toMatchObject({ features: 2, explanations: candidates, callsPerExplanation: 1, unscored: 0 });
    expect(judgedRow.promptTokensPerExplanation).toBe(10);
    expect(judgedRow.completionTokensPerExplanation).toBe(2);
    const modelRow = report.rows.find((row) => row.scorer === 'stub-model')!;
    expect(modelRow).toMatchObject({ features: 0, featuresOfSource: 2, pooledAuroc: null, callsPerExplanation: null });
    expect(modelRow.notServed[0]).toMatch(/^stub-model: no model /);
    const failingRow = report.rows.find((row) => row.scorer === 'stub-failing')!;
    const failed = report.candidates.filter((c) => c.scorer === 'stub-failing' && c.value === null);
    expect(failed.length).toBeGreaterThan(0);
    expect(failingRow.unscored).toBe(failed.length);
    expect(failed[0]!.reason).toBe('stub-failing failed: judge answer unreadable');
    expect(report.judge).toBe(judge.id);
    expect(report.baseline).toBe(false);
  });
});
