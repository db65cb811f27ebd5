/**
 * @module sae/sae-columns — an SAE's latent activations as the feature columns of an activation cache, so that
 * `recordsFromCache` builds records of SAE features exactly as it does for neurons (same windows, stats and reference
 * labels).
 *
 * Building many latents (`chunks`): one pass over the cache encodes every wanted latent of a row block at once and
 * keeps only the nonzeros (./sparse-column-store.ts; an SAE latent is zero on most tokens), then the chunks are
 * densified from them one at a time. The cache is read and decoded once, not once per chunk, and a topk SAE is encoded
 * once, not once per chunk. Memory: the nonzeros of the pass (8 bytes each) are held to `memoryBytes`; when they
 * would pass it, the pass keeps the first half of its latents and leaves the others to another pass.
 *
 * A few latents (`read`): rows are encoded in blocks with `SparseAutoencoder.encodeLatents` (a chunk of k latents of a
 * standard SAE costs k/d_sae of a full encoding).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationCache, ColumnChunk } from '../subject/activation-cache.ts';
import type { FeatureColumnSource } from '../subject/records-from-cache.ts';
import type { SparseAutoencoder } from './sae-model.ts';
import { InputError } from '../common/errors.ts';
import { SparseColumnStore } from './sparse-column-store.ts';

export interface SaeColumnOptions {
  /** Rows encoded at a time (default 4096; fewer in a pass over many latents, see blockBytes). */
  blockRows?: number;
  /** Bytes the nonzero latents of one pass over the cache may take (default 512 MiB). */
  memoryBytes?: number;
  /** Bytes of one block of dense latents in a pass (default 16 MiB): fewer rows at a time when there are many latents. */
  blockBytes?: number;
  /** Called after each pass over the cache with the latents it encoded and the bytes their nonzeros took. */
  onPass?: (pass: { latents: number; bytes: number }) => void;
}

/** Feature columns from `sae` (named `name` in feature ids); the cache must be of the SAE's hook. */
export function saeColumnSource(
  sae: SparseAutoencoder,
  name: string,
  options: SaeColumnOptions = {},
): FeatureColumnSource {
  const blockRows = options.blockRows ?? 4096;
  const memoryBytes = options.memoryBytes ?? 512 * 1024 * 1024;
  const blockBytes = options.blockBytes ?? 16 * 1024 * 1024;
  const check = (cache: ActivationCache): void => {
    if (cache.header.hook !== sae.config.hookName) {
      throw new InputError(`the SAE ${name} reads ${sae.config.hookName}, but the cache holds ${cache.header.hook}`);
    }
    if (cache.width !== sae.dIn)
      throw new InputError(`the SAE ${name} reads ${sae.dIn} values per token, the cache has ${cache.width}`);
  };
  /** The latents `features` of the cache rows `block`, row-major [block.length × features.length]. */
  const encodeRows = (cache: ActivationCache, block: Int32Array, features: readonly number[]): Float32Array => {
    const everyLatent = features.length === sae.dSae && features.every((feature, index) => feature === index);
    const latents = tf.tidy(() => {
      const input = tf.tensor2d(cache.readRowSet(block), [block.length, sae.dIn]);
      return everyLatent ? sae.encode(input) : sae.encodeLatents(input, features);
    });
    try {
      return latents.dataSync() as Float32Array;
    } finally {
      latents.dispose();
    }
  };
  return {
    width: sae.dSae,
    kind: 'sae',
    sae: name,
    read(cache: ActivationCache, features: readonly number[], rows: Int32Array): Float32Array {
      check(cache);
      const out = new Float32Array(rows.length * features.length);
      for (let start = 0; start < rows.length; start += blockRows) {
        const block = rows.subarray(start, Math.min(rows.length, start + blockRows));
        out.set(encodeRows(cache, block, features), start * features.length);
      }
      return out;
    },
    *chunks(
      cache: ActivationCache,
      features: readonly number[],
      chunkFeatures: number,
      rows: Int32Array,
    ): Generator<ColumnChunk> {
      check(cache);
      let first = 0;
      while (first < features.length) {
        let latents = features.slice(first);
        const store = new SparseColumnStore(latents.length);
        for (let start = 0; start < rows.length; ) {
          const count = Math.max(1, Math.min(blockRows, Math.floor(blockBytes / (latents.length * 4))));
          const block = rows.subarray(start, Math.min(rows.length, start + count));
          store.appendBlock(encodeRows(cache, block, latents), start);
          start += block.length;
          while (store.bytes > memoryBytes && latents.length > 1) {
            latents = latents.slice(0, Math.ceil(latents.length / 2));
            store.truncate(latents.length);
          }
        }
        options.onPass?.({ latents: latents.length, bytes: store.bytes });
        for (let at = 0; at < latents.length; at += chunkFeatures) {
          const end = Math.min(latents.length, at + chunkFeatures);
          yield { features: latents.slice(at, end), values: store.takeDense(at, end, rows.length) };
        }
        first += latents.length;
      }
    },
  };
}
