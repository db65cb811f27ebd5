/**
 * @module subject/extract-activations — runs a subject model over a corpus and stores the activations of one hook
 * point in an activation cache (subject/activation-cache.ts); records are built from the cache by
 * ./records-from-cache.ts.
 *
 * The corpus is streamed (./extraction-corpus.ts: a first pass for the digest, document count and tag vocabulary the
 * header holds; then the documents one at a time) and its sequences planned as the documents arrive
 * (./sequence-plan.ts); they are run in batches (padded to the batch's longest; causal attention keeps padding from
 * reaching real tokens) with the hook captured and the forward pass stopped there. The writes of one batch (thread
 * pool) overlap the forward pass of the next. Memory holds two batches of activations and the token ids of the
 * current document and batch, never the corpus's tokens or activations; a resume reads the cache's last sequence and
 * skips the documents before it without tokenizing them.
 */
import { copyFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../common/errors.ts';
import {
  ActivationCacheWriter,
  activationCacheFormat,
  activationCacheVersion,
  type ActivationCacheHeader,
  type ActivationCacheIdentity,
} from './activation-cache.ts';
import { openExtractionCorpus, type ExtractionCorpus } from './extraction-corpus.ts';
import { hookWidth } from './gpt2-model.ts';
import { loadSubjectModel, type SubjectModel } from './load-subject.ts';
import { ForwardPool, workerBackend } from './parallel-forward.ts';
import { SequencePlanMismatchError, SequencePlanner, type SequenceBatch } from './sequence-plan.ts';
import type { Gpt2Config } from './types.ts';

export interface ExtractionProgress {
  /** Sequences and tokens in the cache (resumed ones included). */
  sequences: number;
  tokens: number;
  /**
   * Tokens the cache will hold when this run ends: estimated from the share of the corpus file read so far (and capped
   * by maxTokens) until the plan reaches its end, exact from then on.
   */
  tokensPlanned: number;
  /** Tokens extracted by this run per second of its own time. */
  tokensPerSecond: number;
  /** Batches run by this run. */
  batches: number;
}

export interface ExtractOptions {
  /** A subject model folder, or a model already loaded with loadSubjectModel. */
  modelDir: string | SubjectModel;
  /** Hook point, e.g. `blocks.0.mlp.hook_post`. */
  hook: string;
  /** Corpus file (see openExtractionCorpus), or a corpus already opened. */
  corpus: string | ExtractionCorpus;
  /** Stop before the first sequence that would take the cache past this many tokens (default: the whole corpus). */
  maxTokens?: number;
  /** Sequences per forward pass (default 16). A resumed cache is byte-identical to an uninterrupted one with the same batch size. */
  batchSize?: number;
  cacheDir: string;
  /** Continue the cache in cacheDir (refused when model, hook or corpus differ). Default false: an existing cache is an error. */
  resume?: boolean;
  /** Model name in the cache and feature ids (default the model folder's name). */
  modelName?: string;
  /**
   * Called after each batch is committed (the next batch's forward pass may already have run). An exception thrown
   * here stops the extraction: the batches committed stay, the next one is not written.
   */
  onProgress?: (progress: ExtractionProgress) => void;
  /** Aborting stops before the next forward pass; batches already computed are committed; the result has `interrupted: true`. */
  signal?: AbortSignal;
  /**
   * Forward passes on this many worker threads, each with its own backend (subject/parallel-forward.ts): batch i on
   * one worker while batch i + 1 runs on the next, committed in order, the cache byte-identical. Default 1: the
   * forward pass runs on this thread. wasm and cpu backends only.
   */
  workers?: number;
  /**
   * Forward passes on the workers of this started pool (of the subject's weights), not on `workers` of its own; left
   * open. A pool of another model configuration is refused (RangeError).
   */
  pool?: ForwardPool;
}

export interface ExtractResult {
  cacheDir: string;
  header: ActivationCacheHeader;
  /** Tokens the cache held before this run (resume). */
  resumedTokens: number;
  tokensAdded: number;
  sequencesAdded: number;
  batches: number;
  seconds: number;
  /** tokensAdded / seconds of the batch loop (reading and tokenizing the documents, forward, read back, half-float conversion, writes). */
  tokensPerSecond: number;
  /** Stopped by the abort signal before the plan was done. */
  interrupted: boolean;
  /** Most token ids held at once by the plan (the current document's and a batch's): bounded, whatever the corpus size. */
  peakTokensHeld: number;
}

/** A hook that cannot be extracted; the message lists the valid ones. */
export class ExtractionSetupError extends InputError {
  override readonly name = 'ExtractionSetupError';
}

/** Hook points whose activation is [batch, tokens, width] (attention patterns excluded). */
export function extractableHooks(subject: Pick<SubjectModel, 'model' | 'config'>): string[] {
  return subject.model.hookPoints.filter((hook) => hookWidth(subject.config, hook) !== null);
}

/** The activation width at a hook, or an ExtractionSetupError listing the valid hooks. */
export function extractionWidth(subject: Pick<SubjectModel, 'model' | 'config' | 'name'>, hook: string): number {
  const valid = extractableHooks(subject);
  const width = valid.includes(hook) ? hookWidth(subject.config, hook) : null;
  if (width === null)
    throw new ExtractionSetupError(`unknown hook "${hook}" for ${subject.name}; valid hooks: ${valid.join(', ')}`);
  return width;
}

/**
 * Runs the model over the corpus and appends the hook's activations to the cache. Needs a started tfjs backend.
 * A model given as a folder is loaded and disposed here; a loaded one is left to the caller.
 */
export async function extractActivations(options: ExtractOptions): Promise<ExtractResult> {
  if (typeof options.modelDir !== 'string') return extractWithModel(options.modelDir, options);
  const subject = await loadSubjectModel(options.modelDir);
  try {
    return await extractWithModel(subject, options);
  } finally {
    subject.model.dispose();
  }
}

/**
 * A RangeError unless `pool`'s workers built a model of the subject's configuration (the weights themselves are the
 * caller's to match: the pool keeps no digest of them).
 */
function checkPoolModel(pool: ForwardPool, subject: Pick<SubjectModel, 'config' | 'name'>): void {
  const keys = Object.keys(subject.config) as (keyof Gpt2Config)[];
  const differences = [...new Set([...keys, ...(Object.keys(pool.config) as (keyof Gpt2Config)[])])]
    .filter((key) => pool.config[key] !== subject.config[key])
    .map((key) => `${key} ${String(pool.config[key])} in the pool, ${String(subject.config[key])} in ${subject.name}`);
  if (differences.length > 0)
    throw new RangeError(
      `extract: the forward pool's model is not the subject model ${subject.name}: ${differences.join('; ')}`,
    );
}

async function extractWithModel(subject: SubjectModel, options: ExtractOptions): Promise<ExtractResult> {
  const { config, tokenizer } = subject;
  const width = extractionWidth(subject, options.hook);
  const batchSize = options.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new ExtractionSetupError(`batch size must be a positive integer, got ${batchSize}`);
  const workers = options.workers ?? 1;
  if (!(Number.isInteger(workers) && workers > 0))
    throw new ExtractionSetupError(`workers must be a positive integer, got ${workers}`);
  if (workers > 1) workerBackend(tf.getBackend()); // refused before the cache folder is made
  if (options.pool) checkPoolModel(options.pool, subject);
  const maxTokens = options.maxTokens ?? Infinity;
  if (!(maxTokens > 0)) throw new ExtractionSetupError(`maxTokens must be positive, got ${maxTokens}`);
  const corpus = typeof options.corpus === 'string' ? openExtractionCorpus(options.corpus) : options.corpus;

  const identity: ActivationCacheIdentity = {
    format: activationCacheFormat,
    version: activationCacheVersion,
    model: options.modelName ?? subject.name,
    modelDigest: subject.digests.model,
    tokenizerDigest: subject.digests.tokenizer,
    hook: options.hook,
    width,
    sequenceLength: config.nPositions,
    dtype: 'f16',
    bosTokenId: tokenizer.eosId,
    corpus: { path: corpus.path, format: corpus.format, digest: corpus.digest, documents: corpus.documentCount },
    tagVocabulary: corpus.tagVocabulary,
  };
  const writer = ActivationCacheWriter.open(options.cacheDir, identity, { resume: options.resume ?? false });
  let pool: ForwardPool | null = null;
  // Batches planned and started (their forward pass running), not yet taken.
  const ahead: { batch: SequenceBatch; activations: Promise<Float32Array> }[] = [];
  try {
    for (const file of subject.tokenizerFiles) copyFileSync(file, join(options.cacheDir, basename(file)));
    const resumedSequences = writer.state.sequences;
    const resumedTokens = writer.state.tokens;
    const planner = new SequencePlanner(corpus, tokenizer, {
      sequenceLength: config.nPositions,
      maxTokens,
      batchSize,
      resumeFrom: { sequences: resumedSequences, tokens: resumedTokens, last: writer.lastSequence() },
    });
    const plannedBatches = planner.batches();
    const planNext = (): SequenceBatch | null => {
      try {
        const next = plannedBatches.next();
        return next.done ? null : next.value;
      } catch (error) {
        if (!(error instanceof SequencePlanMismatchError)) throw error;
        throw new ExtractionSetupError(
          `the cache in ${options.cacheDir} holds ${resumedTokens} tokens in ${resumedSequences} sequences, which do not match this corpus's sequences: ${error.message}`,
          { cause: error },
        );
      }
    };
    const tokensPlanned = (): number => {
      if (planner.finished) return Math.max(writer.state.tokens, planner.tokens);
      const share = corpus.bytes > 0 ? planner.bytesRead / corpus.bytes : 0;
      const estimate = share > 0 ? Math.round(planner.tokens / share) : planner.tokens;
      return Math.max(writer.state.tokens, planner.tokens, Math.min(maxTokens, estimate));
    };
    const padId = tokenizer.eosId ?? 0;
    let firstBatch = planNext();
    if (workers > 1 && firstBatch && !options.pool) {
      const weights = await subject.model.toWeights();
      pool = await ForwardPool.start({ config, weights, workers, backend: tf.getBackend() });
    }
    const forwardPool = options.pool ?? pool;
    // With workers, the batches after the one taken run ahead, one per worker; without, each runs when taken.
    const depth = forwardPool?.size ?? 1;
    const start = (batch: SequenceBatch) =>
      ahead.push({ batch, activations: runBatch(subject, options.hook, width, batch, padId, forwardPool) });
    const take = (): { batch: SequenceBatch; activations: Promise<Float32Array> } | null => {
      if (ahead.length === 0) {
        const batch = firstBatch ?? planNext();
        firstBatch = null;
        if (!batch) return null;
        start(batch);
      }
      const taken = ahead.shift()!;
      while (ahead.length < depth - 1) {
        const batch = planNext();
        if (!batch) break;
        start(batch);
      }
      return taken;
    };
    const started = performance.now();
    let batches = 0;
    let interrupted = false;
    // The append of batch i (I/O in the thread pool) overlaps the forward pass of batch i + 1.
    let pending: Promise<void> | null = null;
    const settle = async (): Promise<void> => {
      if (!pending) return;
      const committing = pending;
      pending = null;
      await committing;
      batches++;
      const seconds = (performance.now() - started) / 1000;
      options.onProgress?.({
        sequences: writer.state.sequences,
        tokens: writer.state.tokens,
        tokensPlanned: tokensPlanned(),
        tokensPerSecond: (writer.state.tokens - resumedTokens) / Math.max(seconds, 1e-9),
        batches,
      });
    };
    try {
      for (;;) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        const next = take();
        if (!next) break;
        const { batch } = next;
        const activations = await next.activations;
        await settle();
        pending = writer.append({
          sequences: batch.sequences,
          tokens: batch.tokens,
          activations,
          ...(batch.tags ? { tags: batch.tags } : {}),
        });
      }
      await settle();
    } catch (error) {
      // Let an append in flight finish (or fail) before the files are closed; the first error is the one reported.
      if (pending) await (pending as Promise<void>).catch(() => undefined);
      throw error;
    }
    // A resume that adds nothing because the cache already holds maxTokens leaves the header as it was.
    if (!interrupted && (writer.state.sequences > resumedSequences || planner.corpusComplete))
      writer.setCorpusComplete(planner.corpusComplete);
    const seconds = (performance.now() - started) / 1000;
    const tokensAdded = writer.state.tokens - resumedTokens;
    return {
      cacheDir: options.cacheDir,
      header: { ...writer.state },
      resumedTokens,
      tokensAdded,
      sequencesAdded: writer.state.sequences - resumedSequences,
      batches,
      seconds,
      tokensPerSecond: seconds > 0 ? tokensAdded / seconds : 0,
      interrupted,
      peakTokensHeld: planner.peakTokensHeld,
    };
  } finally {
    // Batches started ahead and not taken: their results (or errors) are dropped.
    for (const { activations } of ahead) activations.catch(() => undefined);
    await pool?.close();
    writer.close();
  }
}

/**
 * Runs the sequences of a batch, padded to the longest, on this thread or on a worker of `pool`; returns the hook's
 * activations of their real tokens.
 */
async function runBatch(
  subject: SubjectModel,
  hook: string,
  width: number,
  batch: SequenceBatch,
  padId: number,
  pool: ForwardPool | null = null,
): Promise<Float32Array> {
  const rows = batch.sequences.length;
  let length = 0;
  for (const sequence of batch.sequences) length = Math.max(length, sequence.length);
  const ids = new Int32Array(rows * length).fill(padId);
  for (let row = 0; row < rows; row++) {
    ids.set(batch.tokens.subarray(batch.starts[row]!, batch.starts[row + 1]!), row * length);
  }
  const data = pool ? await pool.hookActivations(ids, rows, hook) : await hookOnThisThread(subject, ids, rows, hook);
  const tokenCount = batch.tokens.length;
  if (tokenCount === rows * length) return data;
  const out = new Float32Array(tokenCount * width);
  let at = 0;
  for (let row = 0; row < rows; row++) {
    const count = batch.sequences[row]!.length * width;
    out.set(data.subarray(row * length * width, row * length * width + count), at);
    at += count;
  }
  return out;
}

/** The hook's activation [rows, length, width] of a padded batch, computed on this thread's backend. */
async function hookOnThisThread(
  subject: SubjectModel,
  ids: Int32Array,
  rows: number,
  hook: string,
): Promise<Float32Array> {
  const captured = tf.tidy(() => {
    let activation: tf.Tensor | undefined;
    subject.model.forward(ids, rows, {
      hooks: {
        [hook]: (value) => {
          activation = value;
        },
      },
      stopAt: hook,
    });
    if (!activation) throw new Error(`hook ${hook} did not run`);
    return activation;
  });
  try {
    return (await captured.data()) as Float32Array;
  } finally {
    captured.dispose();
  }
}
