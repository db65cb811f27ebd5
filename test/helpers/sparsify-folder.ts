/** @module test/helpers/sparsify-folder — SAE weights written as an EleutherAI sparsify folder (the import tests' input). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/common/safetensors.ts';
import type { SaeWeights } from '../../src/sae/types.ts';

/**
 * Writes `weights` (SAELens layout: W_enc [d_in, d_sae]) as sparsify's `sae.safetensors` (encoder.weight [d_sae, d_in],
 * encoder.bias, W_dec, b_dec) and `cfg.json` with `cfg` as given.
 */
export function writeSparsifyFolder(
  folder: string,
  weights: SaeWeights,
  shape: { dIn: number; dSae: number },
  cfg: Record<string, unknown>,
): void {
  const { dIn, dSae } = shape;
  const encoder = new Float32Array(dSae * dIn);
  for (let latent = 0; latent < dSae; latent++)
    for (let j = 0; j < dIn; j++) encoder[latent * dIn + j] = weights.W_enc[j * dSae + latent]!;
  mkdirSync(folder, { recursive: true });
  writeSafetensors(
    join(folder, 'sae.safetensors'),
    new Map([
      ['encoder.weight', { shape: [dSae, dIn], data: encoder }],
      ['encoder.bias', { shape: [dSae], data: weights.b_enc }],
      ['W_dec', { shape: [dSae, dIn], data: weights.W_dec }],
      ['b_dec', { shape: [dIn], data: weights.b_dec }],
    ]),
  );
  writeFileSync(join(folder, 'cfg.json'), JSON.stringify(cfg));
}
