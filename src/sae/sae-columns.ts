/**
 * @module sae/sae-columns — an SAE's latent activations as the feature columns of an activation cache, so that
 * `recordsFromCache` builds records of SAE features exactly as it does for neurons (same windows, stats and reference
 * labels). Rows are encoded in blocks (bounded memory: one block of [rows × columns] at a time) with
 * `SparseAutoencoder.encodeLatents`: a chunk of k latents of a standard SAE costs k/d_sae of a full encoding, while a
 * topk SAE encodes fully for every chunk, so ask for many features per chunk when building all of them.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationCache } from '../subject/activation-cache.ts';
import type { FeatureColumnSource } from '../subject/records-from-cache.ts';
import type { SparseAutoencoder } from './sae-model.ts';
import { InputError } from '../common/errors.ts';

/** Feature columns from `sae` (named `name` in feature ids); the cache must be of the SAE's hook. */
export function saeColumnSource(
  sae: SparseAutoencoder,
  name: string,
  options: { blockRows?: number } = {},
): FeatureColumnSource {
  const blockRows = options.blockRows ?? 4096;
  return {
    width: sae.dSae,
    kind: 'sae',
    sae: name,
    read(cache: ActivationCache, features: readonly number[], rows: Int32Array): Float32Array {
      if (cache.header.hook !== sae.config.hookName) {
        throw new InputError(`the SAE ${name} reads ${sae.config.hookName}, but the cache holds ${cache.header.hook}`);
      }
      if (cache.width !== sae.dIn)
        throw new InputError(`the SAE ${name} reads ${sae.dIn} values per token, the cache has ${cache.width}`);
      const out = new Float32Array(rows.length * features.length);
      for (let start = 0; start < rows.length; start += blockRows) {
        const block = rows.subarray(start, Math.min(rows.length, start + blockRows));
        const latents = tf.tidy(() =>
          sae.encodeLatents(tf.tensor2d(cache.readRowSet(block), [block.length, sae.dIn]), features),
        );
        out.set(latents.dataSync() as Float32Array, start * features.length);
        latents.dispose();
      }
      return out;
    },
  };
}
