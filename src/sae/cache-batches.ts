/**
 * @module sae/cache-batches — training batches of activation rows from an activation cache (subject/activation-cache),
 * shuffled over the whole cache with bounded memory.
 *
 * Each epoch visits every usable row once, in a seeded random permutation (Fisher–Yates with mulberry32(seed + epoch));
 * batch b is rows [b·B, (b+1)·B) of the concatenated epochs, read sorted so that the cache's page-cache-friendly
 * `readRowSet` coalesces neighbours. Batches are a pure function of their index: a resumed SAE run asks for the batch at
 * its step and gets exactly what the uninterrupted run saw. Memory: one Int32 per usable row (the permutation) plus
 * one batch.
 *
 * Usable rows: every token row but the `<|endoftext|>` the extraction inserted before each document (its activations
 * are those of a position without text, far from the rest; SAELens's `exclude_special_tokens` does the same), and
 * optionally only a range of rows (`rowRange`, e.g. to hold out the end of the cache for evaluation).
 */
import { mulberry32 } from '../common/random.ts';
import type { ActivationCache } from '../subject/activation-cache.ts';
import { InputError } from '../common/errors.ts';

export interface CacheBatchOptions {
  /** Rows per batch. */
  batchSize: number;
  /** Seed of the permutations (default 0). */
  seed?: number;
  /** Keep the inserted `<|endoftext|>` rows (default false: excluded). */
  includeBos?: boolean;
  /** Only rows in [start, end) of the cache (default all). */
  rowRange?: { start: number; end: number };
  /** Stop after this many epochs (default: never; the trainer stops at its step count). */
  epochs?: number;
}

/** A batch source for `trainSae`: batch index → [batchSize × width] rows, or null past the last epoch. */
export interface CacheBatchSource {
  (batchIndex: number): Float32Array | null;
  /** Usable rows (one epoch). */
  readonly rows: number;
  /** Batches per epoch (the last batch of an epoch may take rows from the next). */
  readonly batchesPerEpoch: number;
}

/** The cache's token rows to train on (ascending): see the module comment. */
export function usableCacheRows(
  cache: ActivationCache,
  options: Pick<CacheBatchOptions, 'includeBos' | 'rowRange'> = {},
): Int32Array {
  const total = cache.tokenCount;
  const start = options.rowRange?.start ?? 0;
  const end = options.rowRange?.end ?? total;
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= total)) {
    throw new RangeError(`row range [${start}, ${end}) is not a non-empty range inside the cache's ${total} rows`);
  }
  const bos = cache.header.bosTokenId;
  const excluded = new Uint8Array(end - start);
  if (!options.includeBos && bos !== null) {
    const tokens = cache.readTokens();
    let at = 0;
    for (const sequence of cache.readSequences()) {
      if (sequence.offset === 0 && tokens[at] === bos && at >= start && at < end) excluded[at - start] = 1;
      at += sequence.length;
    }
  }
  const rows = new Int32Array(excluded.length - excluded.reduce((sum, flag) => sum + flag, 0));
  let next = 0;
  for (let row = start; row < end; row++) if (!excluded[row - start]) rows[next++] = row;
  return rows;
}

function permutation(rows: Int32Array, seed: number): Int32Array {
  const out = Int32Array.from(rows);
  const random = mulberry32(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = out[i]!;
    out[i] = out[j]!;
    out[j] = swap;
  }
  return out;
}

/** Shuffled batches of cache rows (see the module comment). */
export function cacheBatches(cache: ActivationCache, options: CacheBatchOptions): CacheBatchSource {
  const { batchSize } = options;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const seed = options.seed ?? 0;
  const rows = usableCacheRows(cache, options);
  if (rows.length === 0) throw new InputError('the cache has no rows to train on');
  const epochs = options.epochs ?? Number.POSITIVE_INFINITY;
  let cached: { epoch: number; order: Int32Array } | null = null;
  const orderOf = (epoch: number): Int32Array => {
    if (cached?.epoch !== epoch) cached = { epoch, order: permutation(rows, seed + epoch) };
    return cached.order;
  };
  const source = (batchIndex: number): Float32Array | null => {
    const first = batchIndex * batchSize;
    if (first + batchSize > epochs * rows.length) return null;
    // One sorted read per epoch the batch touches (a row may appear in both of two epochs' parts).
    const out = new Float32Array(batchSize * cache.width);
    let filled = 0;
    while (filled < batchSize) {
      const position = first + filled;
      const epoch = Math.floor(position / rows.length);
      const start = position % rows.length;
      const count = Math.min(batchSize - filled, rows.length - start);
      const picked = orderOf(epoch)
        .slice(start, start + count)
        .sort();
      out.set(cache.readRowSet(picked), filled * cache.width);
      filled += count;
    }
    return out;
  };
  return Object.assign(source, { rows: rows.length, batchesPerEpoch: Math.ceil(rows.length / batchSize) });
}
