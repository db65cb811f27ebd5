import { describe, expect, it } from 'vitest';
import { exportCsv, exportJsonl, neuronpediaFeatures, type ExportedFeature } from '../../src/report/export.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticRun } from './synthetic-store.ts';

function storedRun() {
  const store = new ResultStore(openDatabase(':memory:'));
  const run = syntheticRun(store, {
    name: 'export',
    features: [
      { layer: 0, index: 3, value: 0.9, explanation: 'commas, "quotes"\nand lines', density: null },
      { layer: 'blocks.1.hook_resid_post', index: 7, kind: 'sae', sae: 'res-16k', value: 0.4 },
      { layer: 0, index: 4, value: null, status: 'failed', reason: 'explainer returned no explanation' },
      { layer: 0, index: 5, value: null, status: 'skipped', reason: 'feature never activates' },
    ],
  });
  return { store, run: store.getRun(run)! };
}

describe('exports', () => {
  it('jsonl: one object per feature the run finished, null scores with their reason, ids as the records format writes them', () => {
    const { store, run } = storedRun();
    const lines = exportJsonl(store.db, run)
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as ExportedFeature);
    expect(lines.map((f) => f.featureKey)).toEqual([
      'synthetic/0/neuron/3',
      'synthetic/0/neuron/4',
      'synthetic/0/neuron/5',
      'synthetic/blocks.1.hook_resid_post/sae/7@res-16k',
    ]);
    expect(lines[0]).toMatchObject({
      run: { id: run.id, name: 'export' },
      feature: { model: 'synthetic', layer: 0, kind: 'neuron', index: 3 },
      status: 'scored',
      explanation: {
        text: 'commas, "quotes"\nand lines',
        explainer: 'mock:explainer',
        promptVersion: 'explain.v1',
        baseline: false,
      },
      simulation: { simulator: 'mock:simulator', mode: 'prompt-logprobs', promptVersion: 'simulate.v1' },
      scores: { 'correlation.all': { value: 0.9, reason: null, nTokens: 50, nMissing: 0 } },
      stats: { density: null, maxActivation: 2 },
    });
    expect(lines[1]).toMatchObject({
      status: 'failed',
      stage: 'explain',
      reason: 'explainer returned no explanation',
      explanation: null,
      simulation: null,
      scores: {},
    });
    expect(lines[2]).toMatchObject({
      status: 'skipped',
      scores: { 'correlation.all': { value: null, reason: 'feature never activates' } },
    });
    expect(lines[3]!.feature).toEqual({
      model: 'synthetic',
      layer: 'blocks.1.hook_resid_post',
      kind: 'sae',
      index: 7,
      sae: 'res-16k',
    });
  });

  it('csv: one row per feature, a value and a reason column per score kind, empty cells for null', () => {
    const { store, run } = storedRun();
    const csv = exportCsv(store.db, run);
    const [header, ...rest] = csv.split('\r\n');
    expect(header).toBe(
      'run_id,run_name,feature_key,model,layer,kind,index,sae,status,stage,reason,explanation,explainer,explain_prompt_version,baseline,simulator,simulation_mode,simulate_prompt_version,density,max_activation,' +
        'absdev.all,absdev.all.reason,correlation.all,correlation.all.reason,correlation.random,correlation.random.reason,correlation.top,correlation.top.reason,rsquared.all,rsquared.all.reason',
    );
    expect(rest[0]).toMatch(
      /^1,export,synthetic\/0\/neuron\/3,synthetic,0,neuron,3,,scored,,,"commas, ""quotes""\nand lines",mock:explainer,/,
    );
    expect(csv).toMatch(
      /synthetic\/0\/neuron\/5,synthetic,0,neuron,5,,skipped,,feature never activates,,,,,,,,0.01,2,,feature never activates,,feature never activates,/,
    );
  });

  it('neuronpedia: one object per feature with Neuronpedia field names and top activation records', () => {
    const { store, run } = storedRun();
    const features = neuronpediaFeatures(store.db, run);
    expect(features).toHaveLength(4);
    expect(features[0]).toMatchObject({
      modelId: 'synthetic',
      layer: '0',
      index: '3',
      explanations: [
        {
          description: 'commas, "quotes"\nand lines',
          explanationModelName: 'mock:explainer',
          typeName: 'autointerp:explain.v1',
          scores: expect.arrayContaining([
            { explanationScoreTypeName: 'correlation.all', explanationScoreModelName: 'mock:simulator', value: 0.9 },
          ]),
        },
      ],
      activations: [{ tokens: ['a', ' t3', 'b'], values: [0, 2, 0], maxValue: 2, maxValueTokenIndex: 1 }],
      autointerp: { featureKey: 'synthetic/0/neuron/3', status: 'scored', density: null },
    });
    expect(features[1]).toMatchObject({
      index: '4',
      explanations: [],
      autointerp: { status: 'failed', reason: 'explainer returned no explanation' },
    });
    expect(features[2]!.autointerp.nullScores).toMatchObject({ 'correlation.all': 'feature never activates' });
    expect(features[3]).toMatchObject({ layer: 'blocks.1.hook_resid_post-res-16k', index: '7' });
  });
});
