import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createFeatureModels } from '../../src/pipeline/feature-models.ts';
import type { FeatureRecord } from '../../src/records/types.ts';
import { ablationScorer } from '../../src/score/ablation/ablation-scorer.ts';
import type { FeatureSimulation, ScorerContext } from '../../src/score/scorer.ts';
import { loadSaeLens } from '../../src/sae/formats.ts';
import { writeSparsifyFolder } from '../helpers/sparsify-folder.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-ablation-sae-folders-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** The embedded brown-1l-1x SAE (standard ReLU) written as a sparsify folder: TopK with k = d_sae is the same ReLU SAE. */
function writeAsSparsify(folder: string): void {
  const { config, weights } = loadSaeLens(join(root, 'data/sae/brown-1l-1x'));
  const { dIn, dSae } = config;
  writeSparsifyFolder(folder, weights, config, {
    activation: 'topk',
    k: dSae,
    num_latents: dSae,
    d_in: dIn,
    transcode: false,
    skip_connection: false,
  });
}

describe('ablation of SAE latents from a sparsify folder (issue 13 item 16)', () => {
  it('scores a latent of a sparsify folder (named by its Hugging Face module) as the same SAE in SAELens layout', async () => {
    // sparsify names the folder after the module it reads: h.0.mlp.act is blocks.0.mlp.hook_post.
    const sparsifyFolder = join(directory, 'h.0.mlp.act');
    writeAsSparsify(sparsifyFolder);
    const feature = JSON.parse(
      readFileSync(join(root, 'data/demo/records/brown-1l-1x.jsonl'), 'utf8').split('\n')[0]!,
    ) as FeatureRecord;
    const max = Math.max(...feature.top.flatMap((record) => record.activations));
    // A coarse simulation of three top windows (true activations rounded to the 0–10 scale), as score records; no
    // calibration records, so the calibration is the scale by max activation.
    const simulation: FeatureSimulation = {
      records: feature.top.slice(0, 3).map((record) => ({
        split: { split: 'score', source: 'top', record },
        expected: record.activations.map((x) => Math.round((10 * Math.max(0, x)) / max)),
      })),
    };
    const notes: string[] = [];
    const models = createFeatureModels({ saes: [sparsifyFolder], note: (line) => notes.push(line) });
    const context: ScorerContext = { models, countTokens: (text) => text.length, note: (line) => notes.push(line) };
    const score = async (scored: FeatureRecord) =>
      (await ablationScorer.score(
        { feature: scored, explanation: 'x', splits: simulation.records.map((r) => r.split), simulation, seed: 1 },
        context,
      ))!.scores[0]!;
    try {
      const embedded = await score(feature);
      const sparsify = await score({ ...feature, id: { ...feature.id, sae: 'h.0.mlp.act' } });
      expect(embedded.value, embedded.reason ?? '').not.toBeNull();
      expect(sparsify.value, sparsify.reason ?? '').toBeCloseTo(embedded.value!, 4);
      expect(notes).toEqual([
        'SAE h.0.mlp.act: hookpoint h.0.mlp.act (the folder name) read as the hook point blocks.0.mlp.hook_post',
      ]);
    } finally {
      models.dispose();
    }
  }, 60_000);
});
