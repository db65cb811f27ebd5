import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  embeddedSaeExpansions,
  embeddedSaeName,
  embeddedSaeSettings,
  evaluateEmbeddedSaes,
  type EmbeddedSaeMetrics,
} from '../../scripts/train-embedded-saes.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { extractActivations } from '../../src/subject/extract-activations.ts';
import { loadSubjectModel, type SubjectModel } from '../../src/subject/load-subject.ts';
import { readSafetensorsHeader } from '../../src/common/safetensors.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-embedded-saes-'));
const sliceCache = join(directory, 'heldout');
let subject: SubjectModel;

beforeAll(async () => {
  await initBackend('wasm');
  subject = await loadSubjectModel(join(root, 'data/subject/brown-1l'));
  // The evaluation cache's first sequences, extracted as the training script does (same batch size).
  await extractActivations({
    modelDir: subject,
    hook: embeddedSaeSettings.hook,
    corpus: join(root, 'data/corpus/brown-heldout.jsonl'),
    cacheDir: sliceCache,
    batchSize: 32,
    maxTokens: embeddedSaeSettings.sliceTokens + 64,
  });
}, 60_000);
afterAll(() => {
  subject?.model.dispose();
  rmSync(directory, { recursive: true, force: true });
});

const folderOf = (expansion: number) => join(root, 'data/sae', embeddedSaeName(expansion));
const metricsOf = (expansion: number) =>
  JSON.parse(readFileSync(join(folderOf(expansion), 'metrics.json'), 'utf8')) as EmbeddedSaeMetrics;

describe('embedded SAEs (data/sae/brown-1l-{1,4,16}x)', () => {
  it('are SAELens folders with the shapes and cfg keys of docs/DESIGN.md §5', () => {
    for (const expansion of embeddedSaeExpansions) {
      const folder = folderOf(expansion);
      const cfg = JSON.parse(readFileSync(join(folder, 'cfg.json'), 'utf8'));
      expect(cfg).toMatchObject({
        architecture: 'standard',
        d_in: 512,
        d_sae: 512 * expansion,
        hook_name: 'blocks.0.mlp.hook_post',
        model_name: 'brown-1l',
      });
      const header = readSafetensorsHeader(join(folder, 'sae_weights.safetensors'));
      const shapes = Object.fromEntries(header.entries.map((entry) => [entry.name, entry.shape]));
      expect(shapes).toEqual({
        W_enc: [512, 512 * expansion],
        b_enc: [512 * expansion],
        W_dec: [512 * expansion, 512],
        b_dec: [512],
      });
    }
  });

  it('report L0, FVU, dead fraction and CE loss recovered; the 4× recovers at least 0.8 of the CE loss', () => {
    for (const expansion of embeddedSaeExpansions) {
      const { metrics, tokens } = metricsOf(expansion).heldout;
      expect(tokens).toBeGreaterThan(60_000);
      for (const name of ['l0', 'fvu', 'dead_fraction', 'dense_fraction', 'ce_loss_recovered', 'kl_score'])
        expect(typeof metrics[name], name).toBe('number');
      expect(metrics.fvu!).toBeLessThan(0.5);
    }
    expect(metricsOf(4).heldout.metrics.ce_loss_recovered!).toBeGreaterThanOrEqual(0.8);
  });

  it('reproduce their recorded metrics on the held-out slice', async () => {
    // All three in one evaluation: the splice's original and zero-ablated passes are shared (the metrics per SAE are
    // those of evaluating it alone: test/sae/splice-evaluation.test.ts).
    const evaluations = await evaluateEmbeddedSaes(
      subject,
      embeddedSaeExpansions.map(folderOf),
      sliceCache,
      embeddedSaeSettings.sliceTokens,
    );
    for (const [index, expansion] of embeddedSaeExpansions.entries()) {
      const recorded = metricsOf(expansion).slice;
      const evaluation = evaluations[index]!;
      expect(evaluation.tokens).toBe(recorded.tokens);
      const metrics = {
        l0: evaluation.reconstruction.l0,
        fvu: evaluation.reconstruction.fvu,
        dead_fraction: evaluation.reconstruction.deadFraction,
        ce_loss_recovered: evaluation.splice!.ceLossRecovered,
        kl_divergence: evaluation.splice!.klDivergence,
      };
      for (const [name, value] of Object.entries(metrics))
        expect(value, `${embeddedSaeName(expansion)} ${name}`).toBeCloseTo(recorded.metrics[name]!, 4);
    }
  }, 120_000);
});
