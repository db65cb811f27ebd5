/**
 * @module score/ablation/ablation-scorer — the ablation score of an explanation (docs/DESIGN.md §4) as a scorer: the
 * feature's score-set windows (top and random) go through the subject model with the feature replaced by its
 * simulation, linearly calibrated on the calibration split (score/calibration.ts), and by its mean;
 * `ablation.all = 1 − E[JSD(orig, sim)] / E[JSD(orig, mean)]` (score/ablation.ts).
 *
 * Where the feature's model is available (`context.models`, loaded once per run by the pipeline) and its records
 * carry token ids; otherwise no row, and a note says why. tfjs is loaded only with the model (./ablation-passes.ts
 * is imported then), so runs without a model never pay for it.
 */
import { fitLinearCalibration, scaleByMaxCalibration } from '../calibration.ts';
import type { Scorer, ScorerResult } from '../scorer.ts';
import type { AblationInput } from './ablation-passes.ts';

export const ablationScorer: Scorer = {
  name: 'ablation',
  description:
    'the subject model with the feature replaced by its calibrated simulation vs by its mean (1 − JSD ratio)',
  needs: { simulation: true, subjectModel: true },
  kinds: ['ablation.all'],
  async score(input, context): Promise<ScorerResult | null> {
    const { feature, simulation } = input;
    if (!simulation || !context.models) throw new Error('ablation scorer: the simulation or the models are missing');
    const model = await context.models.resolve(feature);
    if ('unavailable' in model) {
      context.note(`no ablation ${model.unavailable}`);
      return null;
    }
    const calibrationRecords = simulation.records.filter((r) => r.split.split === 'calibration');
    const calibration =
      fitLinearCalibration(
        calibrationRecords.map((r) => r.split.record.activations),
        calibrationRecords.map((r) => r.expected),
      ) ?? scaleByMaxCalibration(feature.stats.maxActivation);
    // Records without token ids (synthetic, or imported from formats that have none) cannot be run again.
    const inputs: AblationInput[] = simulation.records
      .filter(({ split }) => split.split === 'score' && (split.source === 'top' || split.source === 'random'))
      .filter(({ split }) => split.record.tokenIds !== undefined)
      .map(({ split, expected }) => ({ record: split.record, expected }));
    if (inputs.length === 0) {
      context.note(`no ablation for ${feature.id.model} features: their score records carry no token ids`);
      return null;
    }
    const { ablationFeatureScore } = await import('./ablation-passes.ts');
    return { scores: [await ablationFeatureScore(model, feature, inputs, calibration)], promptVersion: null };
  },
};
