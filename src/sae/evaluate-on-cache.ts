/**
 * @module sae/evaluate-on-cache — an SAE's quality on the first whole sequences of an activation cache (usually one
 * extracted from held-out text): reconstruction metrics on the cached activations (./evaluate-sae) and, when the
 * subject model is given, the splice metrics through it (./splice-evaluation: CE loss recovered, KL).
 *
 * The slice is deterministic: sequences in cache order until the next would pass `tokens`; the `<|endoftext|>` rows
 * the extraction inserted are left out of the reconstruction metrics (the SAE is not trained on them) and kept
 * unpatched in the splice. The subject model must be the one the cache was extracted with (its digest is checked).
 */
import type { SubjectModel } from '../subject/load-subject.ts';
import { ActivationCache, type CacheSequence } from '../subject/activation-cache.ts';
import { evaluateSae } from './evaluate-sae.ts';
import type { SaeMetrics } from './metrics.ts';
import type { SparseAutoencoder } from './sae-model.ts';
import { evaluateSplices, type SpliceMetrics } from './splice-evaluation.ts';
import { InputError } from '../common/errors.ts';

export interface EvaluateOnCacheOptions {
  /** At most this many tokens, whole sequences (default all). */
  tokens?: number;
  /** Subject model for the splice metrics (optional). */
  subject?: SubjectModel;
  /** Rows per reconstruction batch (default 2048) and sequences per forward pass (default 16). */
  batchRows?: number;
  batchSequences?: number;
  onProgress?: (phase: 'reconstruction' | 'splice', done: number, total: number) => void;
}

export interface SaeEvaluation {
  /** The cache and how much of it was used. */
  cache: string;
  sequences: number;
  tokens: number;
  reconstruction: SaeMetrics;
  /** Null without a subject model. */
  splice: SpliceMetrics | null;
}

/** The metrics as flat name → value pairs (the `sae_metrics` rows; snake_case names). */
export function flattenSaeEvaluation(evaluation: SaeEvaluation): Record<string, number | null> {
  const { reconstruction: r, splice: s } = evaluation;
  return {
    l0: r.l0,
    mse: r.mse,
    fvu: r.fvu,
    explained_variance: r.explainedVariance,
    dead_fraction: r.deadFraction,
    dense_fraction: r.denseFraction,
    ...(s
      ? {
          ce_original: s.ceOriginal,
          ce_reconstructed: s.ceReconstructed,
          ce_zero_ablated: s.ceZeroAblated,
          ce_loss_recovered: s.ceLossRecovered,
          kl_divergence: s.klDivergence,
          kl_score: s.klScore,
        }
      : {}),
  };
}

export async function evaluateSaeOnCache(
  sae: SparseAutoencoder,
  cacheDir: string,
  options: EvaluateOnCacheOptions = {},
): Promise<SaeEvaluation> {
  const [evaluation] = await evaluateSaesOnCache([sae], cacheDir, options);
  return evaluation!;
}

/**
 * `evaluateSaeOnCache` for several SAEs of the cache's hook (a sweep) over the same slice: the slice is chosen once
 * (each SAE's reconstruction then reads its rows in turn) and the splice's original and zero-ablated passes are shared
 * (./splice-evaluation `evaluateSplices`); each SAE's evaluation is the one `evaluateSaeOnCache` gives for it alone.
 * Progress counts over all the SAEs.
 */
export async function evaluateSaesOnCache(
  saes: readonly SparseAutoencoder[],
  cacheDir: string,
  options: EvaluateOnCacheOptions = {},
): Promise<SaeEvaluation[]> {
  if (saes.length === 0) return [];
  const cache = ActivationCache.open(cacheDir);
  const { header } = cache;
  for (const sae of saes) {
    if (header.hook !== sae.config.hookName)
      throw new InputError(`the SAE reads ${sae.config.hookName}, but the cache ${cacheDir} holds ${header.hook}`);
    if (header.width !== sae.dIn)
      throw new InputError(`the SAE reads ${sae.dIn} values per token, the cache ${cacheDir} has ${header.width}`);
  }
  if (options.subject && options.subject.digests.model !== header.modelDigest) {
    throw new InputError(
      `the subject model ${options.subject.directory} is not the model the cache ${cacheDir} was extracted with (${header.model})`,
    );
  }
  const limit = options.tokens ?? Number.POSITIVE_INFINITY;
  const tokenIds = cache.readTokens();
  const chosen: CacheSequence[] = [];
  const sequences: Int32Array[] = [];
  const rows: number[] = [];
  let at = 0;
  for (const sequence of cache.readSequences()) {
    if (at + sequence.length > limit) break;
    const ids = tokenIds.slice(at, at + sequence.length);
    const skipFirst = header.bosTokenId !== null && sequence.offset === 0 && ids[0] === header.bosTokenId;
    for (let position = skipFirst ? 1 : 0; position < sequence.length; position++) rows.push(at + position);
    chosen.push(sequence);
    sequences.push(ids);
    at += sequence.length;
  }
  if (rows.length === 0) throw new InputError(`no tokens to evaluate on in ${cacheDir} within ${limit} tokens`);
  const batchRows = options.batchRows ?? 2048;
  const rowIndex = Int32Array.from(rows);
  const reconstructions: SaeMetrics[] = [];
  for (const [index, sae] of saes.entries()) {
    const before = index * rowIndex.length;
    const batches = function* () {
      for (let start = 0; start < rowIndex.length; start += batchRows) {
        yield cache.readRowSet(rowIndex.subarray(start, start + batchRows));
        const done = before + Math.min(rowIndex.length, start + batchRows);
        options.onProgress?.('reconstruction', done, saes.length * rowIndex.length);
      }
    };
    reconstructions.push(await evaluateSae(sae, batches()));
  }
  const splices = options.subject
    ? await evaluateSplices(options.subject.model, saes, sequences, {
        batch: options.batchSequences ?? 16,
        bosTokenId: header.bosTokenId,
        onProgress: (done, total) => options.onProgress?.('splice', done, total),
      })
    : null;
  return reconstructions.map((reconstruction, index) => ({
    cache: cacheDir,
    sequences: chosen.length,
    tokens: at,
    reconstruction,
    splice: splices ? splices[index]! : null,
  }));
}
