/**
 * @module sae/sae-columns — an SAE's latent activations as the feature columns of an activation cache, so that
 * `recordsFromCache` builds records of SAE features exactly as it does for neurons (same windows, stats and reference
 * labels). Rows are encoded in blocks (bounded memory: one block of [rows × d_sae] at a time); every chunk of
 * features costs one encoding pass over the rows, so ask for many features per chunk when building all of them.
 */
import type { ActivationCache } from '../subject/activation-cache.ts';
import type { FeatureColumnSource } from '../subject/extract.ts';
import type { SparseAutoencoder } from './sae-model.ts';

/** Feature columns from `sae` (named `name` in feature ids); the cache must be of the SAE's hook. */
export function saeColumnSource(sae: SparseAutoencoder, name: string, options: { blockRows?: number } = {}): FeatureColumnSource {
  const blockRows = options.blockRows ?? 4096;
  return {
    width: sae.dSae,
    kind: 'sae',
    sae: name,
    read(cache: ActivationCache, features: readonly number[], rows: Int32Array): Float32Array {
      if (cache.header.hook !== sae.config.hookName) {
        throw new RangeError(`the SAE ${name} reads ${sae.config.hookName}, but the cache holds ${cache.header.hook}`);
      }
      if (cache.width !== sae.dIn) throw new RangeError(`the SAE ${name} reads ${sae.dIn} values per token, the cache has ${cache.width}`);
      const k = features.length;
      const out = new Float32Array(rows.length * k);
      for (let start = 0; start < rows.length; start += blockRows) {
        const block = rows.subarray(start, Math.min(rows.length, start + blockRows));
        const latents = sae.encodeBatch(cache.readRowSet(block));
        for (let row = 0; row < block.length; row++) {
          const from = row * sae.dSae;
          const to = (start + row) * k;
          for (let column = 0; column < k; column++) out[to + column] = latents[from + features[column]!]!;
        }
      }
      return out;
    },
  };
}
