import { describe, expect, it } from 'vitest';
import * as autointerp from '../src/index.ts';

describe('public library API (src/index.ts)', () => {
  it('exposes the documented functions, which compose', async () => {
    const { normalizeActivations, expectedValueFromTopLogprobs, correlationScore, rsquaredScore, absoluteDevExplainedScore } = autointerp;
    expect(normalizeActivations([0, 0.5, 1], 1)).toEqual([0, 5, 10]);
    expect(expectedValueFromTopLogprobs({ '4': 0 })).toBe(4);
    expect(correlationScore([[0, 1, 2]], [[0, 2, 4]])).toBeCloseTo(1, 12);
    expect(rsquaredScore([[1, 2]], [[1, 2]])).toBe(1);
    expect(absoluteDevExplainedScore([[1, 2]], [[1, 2]])).toBe(1);
    const explain = autointerp.buildExplainPrompt([{ tokens: [' the', ' cat'], activations: [1, 0] }]);
    expect(explain.messages.at(-1)!.content).toMatch(/ the\t10\n cat\t0/);
    const simulation = autointerp.buildSimulationPrompt('the word "the"', [[' the', ' cat']]);
    expect(simulation.unknownOffsets[0]).toHaveLength(2);
    const baseline = autointerp.createProvider('baseline');
    expect(baseline.isBaseline).toBe(true);
    const result = await autointerp.simulateRecords(baseline, 'the token "the"', [[' the', ' cat', ' the']]);
    expect(result.records[0]!.expected[0]!).toBeGreaterThan(8);
    expect(result.records[0]!.expected[1]!).toBeLessThan(1);
    expect(typeof autointerp.runPipeline).toBe('function');
    expect(typeof autointerp.buildFeatureRecords).toBe('function');
    for (const name of ['SparseAutoencoder', 'trainSae', 'trainSaeOnCache', 'evaluateSplice', 'loadSaeLens', 'loadSubjectModel', 'extractActivations', 'scoreFeatureAblation', 'clampHooks']) {
      expect(typeof (autointerp as Record<string, unknown>)[name], name).toBe('function');
    }
  });
});
