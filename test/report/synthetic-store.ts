/**
 * Test helper: stored runs with chosen scores, written through ResultStore exactly as the pipeline writes them
 * (one transaction per feature), without any LLM — so compare / regress / report / export tests can plant the
 * numbers they check.
 */
import type { FeatureKind } from '../../src/records/types.ts';
import type { ScoreKind } from '../../src/score/score-feature.ts';
import type { SimulationMode } from '../../src/simulate/types.ts';
import type { ResultStore, StoredCandidate, StoredRecord } from '../../src/store/result-store.ts';

export interface SyntheticFeature {
  layer: number | string;
  index: number;
  model?: string;
  kind?: FeatureKind;
  sae?: string;
  /** correlation.all (and, unless `scores` says otherwise, every other kind gets value − 0.05). */
  value: number | null;
  reason?: string;
  status?: 'scored' | 'failed' | 'skipped';
  explanation?: string;
  density?: number | null;
  scores?: Partial<Record<ScoreKind, number | null>>;
  records?: StoredRecord[];
  /** Best-of-n candidates, stored as the pipeline stores them (the selected one should be `explanation`). */
  candidates?: StoredCandidate[];
}

export interface SyntheticRunOptions {
  name: string;
  features: readonly SyntheticFeature[];
  explainer?: string;
  simulator?: string;
  mode?: SimulationMode;
  source?: string;
  simulatePrompt?: string;
  scoreTop?: number;
  status?: 'finished' | 'interrupted';
}

const defaultRecords = (feature: SyntheticFeature): StoredRecord[] => [
  {
    split: 'score',
    source: 'top',
    tokens: ['a', ` t${feature.index}`, 'b'],
    activations: [0, 2, 0],
    expected: [0, 9, 1],
  },
  { split: 'score', source: 'random', tokens: ['c', 'd'], activations: [0, 0], expected: [0, 0.5] },
];

export function syntheticRun(store: ResultStore, options: SyntheticRunOptions): number {
  const simulator = options.simulator ?? 'mock:simulator';
  const mode = options.mode ?? 'prompt-logprobs';
  const simulatePrompt = options.simulatePrompt ?? 'simulate.v1';
  const runId = store.createRun({
    name: options.name,
    config: {
      source: options.source ?? 'synthetic.jsonl',
      scoreTop: options.scoreTop ?? 5,
      scoreRandom: 5,
      simulatePrompt,
    },
    codeVersion: 'test',
    promptVersions: { explain: 'explain.v1', simulate: simulatePrompt },
    explainer: options.explainer ?? 'mock:explainer',
    simulator,
    isBaseline: false,
    source: options.source ?? 'synthetic.jsonl',
  });
  for (const feature of options.features) {
    const record = {
      id: {
        model: feature.model ?? 'synthetic',
        layer: feature.layer,
        kind: feature.kind ?? 'neuron',
        index: feature.index,
        ...(feature.sae ? { sae: feature.sae } : {}),
      },
      top: [],
      random: [],
      stats: {
        mean: 0.1,
        variance: 0.1,
        skewness: null,
        kurtosis: null,
        maxActivation: 2,
        density: feature.density === undefined ? 0.01 : feature.density,
      },
    };
    const kinds: ScoreKind[] = [
      'correlation.all',
      'correlation.top',
      'correlation.random',
      'rsquared.all',
      'absdev.all',
    ];
    if (feature.scores?.['ablation.all'] !== undefined) kinds.push('ablation.all'); // only where planted, as the pipeline writes it only where computed
    const scores = kinds.map((kind) => {
      const planted = feature.scores?.[kind];
      const value =
        kind === 'correlation.all'
          ? feature.value
          : planted !== undefined
            ? planted
            : feature.value === null
              ? null
              : feature.value - 0.05;
      return {
        kind,
        value,
        reason: value === null ? (feature.reason ?? 'constant true activations') : null,
        nTokens: 50,
        nMissing: 0,
      };
    });
    const status = feature.status ?? 'scored';
    if (status === 'scored') {
      store.saveFeatureResult(runId, {
        status: 'scored',
        feature: record,
        records: feature.records ?? defaultRecords(feature),
        explanation: {
          text: feature.explanation ?? `tokens like t${feature.index}`,
          explainer: options.explainer ?? 'mock:explainer',
          promptVersion: 'explain.v1',
          isBaseline: false,
        },
        simulation: { simulator, mode, promptVersion: simulatePrompt },
        scores,
        ...(feature.candidates ? { candidates: feature.candidates } : {}),
      });
    } else {
      store.saveFeatureResult(runId, {
        status,
        feature: record,
        stage: status === 'failed' ? 'explain' : null,
        reason:
          feature.reason ?? (status === 'failed' ? 'explainer returned no explanation' : 'feature never activates'),
        ...(status === 'skipped'
          ? { scores: scores.map((s) => ({ ...s, value: null, reason: feature.reason ?? 'feature never activates' })) }
          : {}),
      });
    }
  }
  store.setRunStatus(runId, options.status ?? 'finished');
  return runId;
}

/** n features over `layers` layers whose correlation.all is drawn by `value(i)`. */
export function featuresWith(n: number, value: (i: number) => number | null, layers = 3): SyntheticFeature[] {
  return Array.from({ length: n }, (_, i) => ({ layer: i % layers, index: i, value: value(i) }));
}
