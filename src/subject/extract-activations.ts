/**
 * @module subject/extract-activations — runs a subject model over a corpus and stores the activations of one hook
 * point in an activation cache (subject/activation-cache.ts); records are built from the cache by
 * ./records-from-cache.ts.
 *
 * The sequences (./sequence-plan.ts) are run in batches (padded to the batch's longest; causal attention keeps
 * padding from reaching real tokens) with the hook captured and the forward pass stopped there. The writes of one
 * batch (thread pool) overlap the forward pass of the next. Memory holds two batches of activations and the corpus's
 * token ids (4 + 2 bytes a token), never the corpus's activations.
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
import { readExtractionCorpus, type ExtractionCorpus } from './extraction-corpus.ts';
import { hookWidth } from './gpt2-model.ts';
import { loadSubjectModel, type SubjectModel } from './load-subject.ts';
import { planSequences, type SequencePlan } from './sequence-plan.ts';

export interface ExtractionProgress {
  /** Sequences and tokens in the cache (resumed ones included). */
  sequences: number;
  tokens: number;
  /** Tokens the cache will hold when this run ends. */
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
  /** Corpus file (see readExtractionCorpus), or a corpus already read. */
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
  /** tokensAdded / seconds of the batch loop (forward, read back, half-float conversion, writes). */
  tokensPerSecond: number;
  /** Stopped by the abort signal before the plan was done. */
  interrupted: boolean;
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

async function extractWithModel(subject: SubjectModel, options: ExtractOptions): Promise<ExtractResult> {
  const { config, tokenizer } = subject;
  const width = extractionWidth(subject, options.hook);
  const batchSize = options.batchSize ?? 16;
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new ExtractionSetupError(`batch size must be a positive integer, got ${batchSize}`);
  const maxTokens = options.maxTokens ?? Infinity;
  if (!(maxTokens > 0)) throw new ExtractionSetupError(`maxTokens must be positive, got ${maxTokens}`);
  const corpus = typeof options.corpus === 'string' ? readExtractionCorpus(options.corpus) : options.corpus;

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
    corpus: { path: corpus.path, format: corpus.format, digest: corpus.digest, documents: corpus.documents.length },
    tagVocabulary: corpus.tagVocabulary,
  };
  const writer = ActivationCacheWriter.open(options.cacheDir, identity, { resume: options.resume ?? false });
  try {
    for (const file of subject.tokenizerFiles) copyFileSync(file, join(options.cacheDir, basename(file)));
    const plan = planSequences(corpus, tokenizer, config.nPositions, maxTokens);
    const resumedSequences = writer.state.sequences;
    const resumedTokens = writer.state.tokens;
    if (resumedSequences <= plan.sequences.length && plan.starts[resumedSequences] !== resumedTokens) {
      throw new ExtractionSetupError(
        `the cache in ${options.cacheDir} holds ${resumedTokens} tokens in ${resumedSequences} sequences, which do not match this corpus's sequences`,
      );
    }
    const tokensPlanned = Math.max(resumedTokens, plan.starts[plan.sequences.length]!);
    const padId = tokenizer.eosId ?? 0;
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
        tokensPlanned,
        tokensPerSecond: (writer.state.tokens - resumedTokens) / Math.max(seconds, 1e-9),
        batches,
      });
    };
    try {
      let next = resumedSequences;
      while (next < plan.sequences.length) {
        if (options.signal?.aborted) {
          interrupted = true;
          break;
        }
        const last = Math.min(plan.sequences.length, next + batchSize);
        const firstToken = plan.starts[next]!;
        const endToken = plan.starts[last]!;
        const activations = await runBatch(subject, options.hook, width, plan, next, last, padId);
        await settle();
        pending = writer.append({
          sequences: plan.sequences.slice(next, last),
          tokens: plan.tokens.subarray(firstToken, endToken),
          activations,
          ...(plan.tags ? { tags: plan.tags.subarray(firstToken, endToken) } : {}),
        });
        next = last;
      }
      await settle();
    } catch (error) {
      // Let an append in flight finish (or fail) before the files are closed; the first error is the one reported.
      if (pending) await (pending as Promise<void>).catch(() => undefined);
      throw error;
    }
    if (!interrupted && writer.state.sequences === plan.sequences.length) writer.setCorpusComplete(plan.corpusComplete);
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
    };
  } finally {
    writer.close();
  }
}

/** Runs sequences [first, last) of the plan, padded to the longest; returns the hook's activations of their real tokens. */
async function runBatch(
  subject: SubjectModel,
  hook: string,
  width: number,
  plan: SequencePlan,
  first: number,
  last: number,
  padId: number,
): Promise<Float32Array> {
  const rows = last - first;
  let length = 0;
  for (let index = first; index < last; index++) length = Math.max(length, plan.sequences[index]!.length);
  const ids = new Int32Array(rows * length).fill(padId);
  for (let row = 0; row < rows; row++) {
    const start = plan.starts[first + row]!;
    ids.set(plan.tokens.subarray(start, plan.starts[first + row + 1]!), row * length);
  }
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
  let data: Float32Array;
  try {
    data = (await captured.data()) as Float32Array;
  } finally {
    captured.dispose();
  }
  const tokenCount = plan.starts[last]! - plan.starts[first]!;
  if (tokenCount === rows * length) return data;
  const out = new Float32Array(tokenCount * width);
  let at = 0;
  for (let row = 0; row < rows; row++) {
    const count = plan.sequences[first + row]!.length * width;
    out.set(data.subarray(row * length * width, row * length * width + count), at);
    at += count;
  }
  return out;
}
