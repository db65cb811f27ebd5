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
import { evaluateSplice, type SpliceMetrics } from './splice-evaluation.ts';
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
  const cache = ActivationCache.open(cacheDir);
  const { header } = cache;
  if (header.hook !== sae.config.hookName)
    throw new InputError(`the SAE reads ${sae.config.hookName}, but the cache ${cacheDir} holds ${header.hook}`);
  if (header.width !== sae.dIn)
    throw new InputError(`the SAE reads ${sae.dIn} values per token, the cache ${cacheDir} has ${header.width}`);
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
  const batches = function* () {
    for (let start = 0; start < rowIndex.length; start += batchRows) {
      yield cache.readRowSet(rowIndex.subarray(start, start + batchRows));
      options.onProgress?.('reconstruction', Math.min(rowIndex.length, start + batchRows), rowIndex.length);
    }
  };
  const reconstruction = await evaluateSae(sae, batches());
  const splice = options.subject
    ? await evaluateSplice(options.subject.model, sae, sequences, {
        batch: options.batchSequences ?? 16,
        bosTokenId: header.bosTokenId,
        onProgress: (done, total) => options.onProgress?.('splice', done, total),
      })
    : null;
  return { cache: cacheDir, sequences: chosen.length, tokens: at, reconstruction, splice };
}
