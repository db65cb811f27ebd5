import { describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import { compareRuns, ComparisonError } from '../../src/report/compare.ts';
import { formatComparisonText, formatRegressionText } from '../../src/report/format-compare.ts';
import { regressionJunit, regressionVerdict } from '../../src/report/regress.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { featuresWith, syntheticRun } from './synthetic-store.ts';

const newStore = () => new ResultStore(openDatabase(':memory:'));

describe('compareRuns', () => {
  it('pairs by feature identity, reports the mean difference per layer, and the features that moved most', () => {
    const store = newStore();
    const a = syntheticRun(store, { name: 'a', features: featuresWith(30, (i) => 0.5 + i / 100) });
    // candidate: layer 0 unchanged, layer 1 +0.1, layer 2 −0.2; feature 29 (layer 2) moves most
    const b = syntheticRun(store, {
      name: 'b',
      features: featuresWith(30, (i) => 0.5 + i / 100 + [0, 0.1, -0.2][i % 3]! - (i === 29 ? 0.3 : 0)),
    });
    const comparison = compareRuns(store.db, store.getRun(a)!, store.getRun(b)!, { top: 3 });
    expect(comparison).toMatchObject({
      scoreKind: 'correlation.all',
      features: 30,
      paired: 30,
      unpaired: [],
      warnings: [],
    });
    expect(comparison.layers.map((l) => [l.layer, l.n])).toEqual([
      ['0', 10],
      ['1', 10],
      ['2', 10],
    ]);
    expect(comparison.layers[0]!.meanDifference).toBeCloseTo(0, 12);
    expect(comparison.layers[0]!.ci).toMatchObject({ low: expect.closeTo(0, 12), high: expect.closeTo(0, 12) });
    expect(comparison.layers[1]!.meanDifference).toBeCloseTo(0.1, 12);
    expect(comparison.layers[2]!.meanDifference).toBeCloseTo(-0.23, 12);
    expect(comparison.overall.meanDifference).toBeCloseTo((0 + 1 - 2.3) / 30, 12);
    expect(comparison.mostWorsened[0]).toMatchObject({
      featureKey: 'synthetic/2/neuron/29',
      difference: expect.closeTo(-0.5, 12),
    });
    expect(comparison.mostWorsened).toHaveLength(3);
    expect(comparison.mostImproved.every((p) => p.difference > 0)).toBe(true);
    expect(formatComparisonText(comparison)).toMatch(/paired features: 30 of 30/);
  });

  it('keeps neurons, SAE features of different SAEs and models apart', () => {
    const store = newStore();
    const features = [
      { layer: 0, index: 1, value: 0.5 },
      { layer: 0, index: 1, kind: 'sae' as const, sae: 'res-16k', value: 0.6 },
      { layer: 0, index: 1, kind: 'sae' as const, sae: 'res-65k', value: 0.7 },
      { layer: 0, index: 1, model: 'other', value: 0.8 },
    ];
    const a = syntheticRun(store, { name: 'a', features });
    const b = syntheticRun(store, { name: 'b', features: features.map((f) => ({ ...f, value: f.value + 0.1 })) });
    const comparison = compareRuns(store.db, store.getRun(a)!, store.getRun(b)!);
    expect(comparison.paired).toBe(4);
    expect(comparison.layers.map((l) => `${l.model}/${l.featureKind}/${l.sae}`)).toEqual([
      'other/neuron/',
      'synthetic/neuron/',
      'synthetic/sae/res-16k',
      'synthetic/sae/res-65k',
    ]);
  });

  it('counts every feature it cannot pair, by cause, instead of dropping it silently', () => {
    const store = newStore();
    const a = syntheticRun(store, {
      name: 'a',
      features: [
        ...featuresWith(10, () => 0.8),
        { layer: 0, index: 10, value: null, reason: 'constant simulated activations' },
        { layer: 0, index: 11, value: 0.7 },
        { layer: 0, index: 12, value: 0.7 },
      ],
    });
    const b = syntheticRun(store, {
      name: 'b',
      features: [
        ...featuresWith(10, () => 0.7),
        { layer: 0, index: 10, value: 0.9 },
        { layer: 0, index: 11, value: null, status: 'failed', reason: 'explainer returned no explanation' },
        // index 12 absent from b; 13 only in b
        { layer: 0, index: 13, value: 0.5 },
      ],
    });
    const comparison = compareRuns(store.db, store.getRun(a)!, store.getRun(b)!);
    expect(comparison.paired).toBe(10);
    expect(comparison.features).toBe(14);
    const byCause = Object.fromEntries(comparison.unpaired.map((u) => [`${u.baseline}/${u.candidate}`, u]));
    expect(byCause['null/scored']).toMatchObject({
      count: 1,
      reasons: { 'baseline: constant simulated activations': 1 },
      examples: ['synthetic/0/neuron/10'],
    });
    expect(byCause['scored/failed']).toMatchObject({
      count: 1,
      reasons: { 'candidate: explainer returned no explanation': 1 },
    });
    expect(byCause['scored/absent']).toMatchObject({ count: 1, examples: ['synthetic/0/neuron/12'] });
    expect(byCause['absent/scored']).toMatchObject({ count: 1, examples: ['synthetic/0/neuron/13'] });
    expect(comparison.overall.meanDifference).toBeCloseTo(-0.1, 12);
    const text = formatComparisonText(comparison);
    expect(text).toMatch(
      /not paired: 1 × baseline null score \/ candidate scored \(baseline: constant simulated activations ×1\)/,
    );
    expect(text).toMatch(/not paired: 1 × baseline scored \/ candidate failed/);
  });

  it('warns loudly when the runs measured differently, and marks what --strict refuses', () => {
    const store = newStore();
    const features = featuresWith(6, () => 0.6);
    const a = syntheticRun(store, { name: 'a', features });
    const b = syntheticRun(store, {
      name: 'b',
      features,
      simulator: 'openai:gpt-4o-mini',
      mode: 'chat-logprobs',
      simulatePrompt: 'simulate.v2',
      scoreTop: 3,
      status: 'interrupted',
    });
    const { warnings } = compareRuns(store.db, store.getRun(a)!, store.getRun(b)!);
    expect(warnings.map((w) => [w.code, w.instrument])).toEqual([
      ['simulator', true],
      ['simulation-mode', true],
      ['simulate-prompt', true],
      ['score-records', true],
      ['run-status', false],
    ]);
    expect(warnings[0]!.message).toMatch(/baseline mock:simulator; candidate openai:gpt-4o-mini/);
    const same = compareRuns(store.db, store.getRun(a)!, store.getRun(a)!);
    expect(same.warnings.map((w) => w.code)).toEqual(['same-run']);
  });

  it('refuses what it cannot compare: no shared scored feature, an unknown score kind', () => {
    const store = newStore();
    const a = syntheticRun(store, { name: 'a', features: featuresWith(3, () => 0.5) });
    const b = syntheticRun(store, {
      name: 'b',
      features: featuresWith(3, () => 0.5).map((f) => ({ ...f, index: f.index + 100 })),
    });
    const c = syntheticRun(store, { name: 'c', features: featuresWith(3, () => null) });
    expect(() => compareRuns(store.db, store.getRun(a)!, store.getRun(b)!)).toThrow(
      /share no feature with a defined "correlation.all" score \(6 features/,
    );
    expect(() => compareRuns(store.db, store.getRun(a)!, store.getRun(c)!)).toThrow(ComparisonError);
    expect(() => compareRuns(store.db, store.getRun(a)!, store.getRun(a)!, { scoreKind: 'ablation' })).toThrow(
      /has no "ablation" scores \(it has: absdev.all, correlation.all/,
    );
  });
});

describe('regression verdict on stored runs', () => {
  const noisyRuns = (shift: number) => {
    const store = newStore();
    const random = mulberry32(42);
    const truth = Array.from({ length: 150 }, () => 0.6 + 0.2 * randomGaussian(random));
    const a = syntheticRun(store, {
      name: 'a',
      features: featuresWith(150, (i) => truth[i]! + 0.04 * randomGaussian(random)),
    });
    const b = syntheticRun(store, {
      name: 'b',
      features: featuresWith(150, (i) => truth[i]! + shift + 0.04 * randomGaussian(random)),
    });
    return compareRuns(store.db, store.getRun(a)!, store.getRun(b)!);
  };

  it('flags a planted drop of 0.05 (max-drop 0.02) and passes noise only; JUnit agrees with the verdict', () => {
    const dropped = noisyRuns(-0.05);
    const verdict = regressionVerdict(dropped, 0.02);
    expect(verdict).toMatchObject({ regression: true, rule: 'significant', n: 150 });
    expect(verdict.ci.high).toBeLessThan(0);
    expect(verdict.layers).toHaveLength(3);
    const text = formatRegressionText(dropped, verdict);
    expect(text.split('\n').at(-1)).toMatch(
      /^REGRESSION: correlation.all .* drop 0.0\d+ exceeds max-drop 0.02 and the CI is below 0$/,
    );
    const junit = regressionJunit(dropped, verdict, text);
    expect(junit).toMatch(/<testsuites name="autointerp regress" tests="1" failures="1"/);
    expect(junit).toMatch(/<failure message="regression: /);

    const noise = noisyRuns(0);
    const pass = regressionVerdict(noise, 0.02);
    expect(pass.regression).toBe(false);
    expect(formatRegressionText(noise, pass).split('\n').at(-1)).toMatch(/^PASS: /);
    expect(regressionJunit(noise, pass, 'x < y & "z"')).toMatch(
      /failures="0"[\s\S]*<system-out>x &lt; y &amp; &quot;z&quot;<\/system-out>/,
    );
  });
});
