import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import type { SaeConfig } from '../../src/sae/types.ts';
import { SparseAutoencoder } from '../../src/sae/sae-model.ts';
import { evaluateSplice, evaluateSplices } from '../../src/sae/splice-evaluation.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { loadSubjectModel, type SubjectModel } from '../../src/subject/load-subject.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hook = 'blocks.0.mlp.hook_post';
const bosTokenId = 0;
let subject: SubjectModel;
let saes: SparseAutoencoder[];

/** A standard SAE on the MLP's 512 neurons with seeded Gaussian weights (what it reconstructs does not matter here). */
function randomSae(dSae: number, seed: number, hookName = hook): SparseAutoencoder {
  const random = mulberry32(seed);
  const gaussian = (length: number, scale: number) =>
    Float32Array.from({ length }, () => scale * randomGaussian(random));
  const config: SaeConfig = {
    dIn: 512,
    dSae,
    architecture: 'standard',
    applyBDecToInput: false,
    normalizeActivations: 'none',
    hookName,
    modelName: 'brown-1l',
  };
  return SparseAutoencoder.fromWeights(config, {
    W_enc: gaussian(512 * dSae, 0.05),
    b_enc: gaussian(dSae, 0.01),
    W_dec: gaussian(dSae * 512, 0.05),
    b_dec: gaussian(512, 0.01),
  });
}

/** Seeded token sequences: two lengths (two groups), some starting with the inserted `<|endoftext|>`. */
function sequences(): Int32Array[] {
  const random = mulberry32(7);
  return [17, 17, 17, 30, 30].map((length, index) => {
    const ids = Int32Array.from({ length }, () => 1 + Math.floor(random() * 4095));
    if (index % 2 === 0) ids[0] = bosTokenId;
    return ids;
  });
}

beforeAll(async () => {
  await initBackend('wasm');
  subject = await loadSubjectModel(join(root, 'data/subject/brown-1l'));
  saes = [randomSae(16, 1), randomSae(64, 2), randomSae(128, 3)];
}, 60_000);
afterAll(() => {
  for (const sae of saes ?? []) sae.dispose();
  subject?.model.dispose();
});

describe('evaluateSplices (several SAEs of one hook, shared original and zero-ablated passes)', () => {
  it("gives each SAE exactly evaluateSplice's metrics for it alone", async () => {
    // Batches of 2: the 5 sequences make 3 batches over the two lengths, so the sums run over several batches.
    const options = { batch: 2, bosTokenId };
    const together = await evaluateSplices(subject.model, saes, sequences(), options);
    const alone = [];
    for (const sae of saes) alone.push(await evaluateSplice(subject.model, sae, sequences(), options));
    expect(together).toEqual(alone);
    // The SAEs differ, and the SAE-independent metrics are the same for all (a non-trivial comparison).
    expect(new Set(together.map((metrics) => metrics.ceReconstructed)).size).toBe(3);
    expect(new Set(together.map((metrics) => metrics.ceOriginal)).size).toBe(1);
    expect(together[0]!.predictions).toBe(3 * 16 + 2 * 29 - 3);
  }, 60_000);

  it('refuses SAEs of different hook points, naming both', async () => {
    const other = randomSae(16, 4, 'blocks.0.hook_resid_post');
    try {
      await expect(evaluateSplices(subject.model, [saes[0]!, other], sequences())).rejects.toThrow(
        /blocks\.0\.mlp\.hook_post and blocks\.0\.hook_resid_post/,
      );
    } finally {
      other.dispose();
    }
  });
});
