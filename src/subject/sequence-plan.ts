/**
 * @module subject/sequence-plan — what `extract` runs, planned as the documents arrive: each document tokenized with
 * `<|endoftext|>` in front (as the training stream of the embedded model joins documents) and cut into non-overlapping
 * sequences of the model's context length (the last one shorter); `maxTokens` takes whole sequences in corpus order
 * while the total stays ≤ it. Sequences are handed out in batches; memory holds the batch being filled and the current
 * document's tokens, never the corpus's.
 */
import { InputError } from '../common/errors.ts';
import type { CacheSequence } from './activation-cache.ts';
import type { ExtractionCorpus } from './extraction-corpus.ts';
import { tokenTags } from './token-tags.ts';
import type { SubjectTokenizer } from './tokenizer.ts';

/** Consecutive sequences of the plan: their token ids and tags, concatenated. */
export interface SequenceBatch {
  sequences: CacheSequence[];
  /** Start of each sequence in `tokens` (plus the total at the end). */
  starts: number[];
  tokens: Int32Array;
  tags: Uint16Array | null;
}

/** Where a resumed cache stopped: its counts and its last sequence (null when it has none). */
export interface PlanResumePoint {
  sequences: number;
  tokens: number;
  last: CacheSequence | null;
}

export interface SequencePlanOptions {
  sequenceLength: number;
  /** Stop before the first sequence that would take the total past this (default: no limit). */
  maxTokens?: number;
  /** Sequences per batch. */
  batchSize: number;
  /** Start after the sequences of a cache (documents before its last one are read but not tokenized). */
  resumeFrom?: PlanResumePoint;
}

/** A resume point that is not a sequence of this corpus (the cache was cut another way): bad input, not a bug. */
export class SequencePlanMismatchError extends InputError {
  override readonly name = 'SequencePlanMismatchError';
}

/** Hands out the sequences of a corpus in batches, tokenizing documents only as the batches need them. */
export class SequencePlanner {
  /** Sequences and tokens planned so far, a resumed cache's included. */
  sequences: number;
  tokens: number;
  /** Byte offset in the corpus file past the last document tokenized (0 when unknown). */
  bytesRead = 0;
  /** True once the plan reached the end of the corpus; false while it runs or when maxTokens ended it. */
  corpusComplete = false;
  /** True once the last batch is planned (the end of the corpus, or maxTokens). */
  finished = false;
  /** Token ids held at once (the current document's and the batch being filled): the high-water mark. */
  peakTokensHeld = 0;

  private readonly maxTokens: number;

  constructor(
    private readonly corpus: ExtractionCorpus,
    private readonly tokenizer: SubjectTokenizer,
    private readonly options: SequencePlanOptions,
  ) {
    this.maxTokens = options.maxTokens ?? Infinity;
    this.sequences = options.resumeFrom?.sequences ?? 0;
    this.tokens = options.resumeFrom?.tokens ?? 0;
    if (!(Number.isInteger(options.batchSize) && options.batchSize > 0))
      throw new RangeError(`batch size must be a positive integer, got ${options.batchSize}`);
  }

  /** The batches, in corpus order; each has `batchSize` sequences but the last. Iterate once. */
  *batches(): Generator<SequenceBatch> {
    const { sequenceLength, batchSize } = this.options;
    const resume = this.options.resumeFrom?.last ?? null;
    const tagIndex = new Map((this.corpus.tagVocabulary ?? []).map((tag, index) => [tag, index]));
    const bos = this.tokenizer.eosId;
    let pending: { sequence: CacheSequence; tokens: Int32Array; tags: Uint16Array | null }[] = [];
    let pendingTokens = 0;
    let document = -1;
    for (const { text, words, endByte } of this.corpus.documents) {
      document++;
      if (resume && document < resume.document) continue;
      if (endByte !== undefined) this.bytesRead = endByte;
      if (text.length === 0) {
        if (resume?.document === document)
          throw new SequencePlanMismatchError(`document ${document} has no text, but the cache has a sequence of it`);
        continue;
      }
      const { ids, offsets } = this.tokenizer.encodeWithOffsets(text);
      const prefix = bos === null ? 0 : 1;
      const tokens = new Int32Array(ids.length + prefix);
      if (bos !== null) tokens[0] = bos;
      tokens.set(ids, prefix);
      let tags: Uint16Array | null = null;
      if (this.corpus.tagVocabulary) {
        tags = new Uint16Array(tokens.length);
        tags.set(tokenTags(text, offsets, words ?? [], tagIndex), prefix);
      }
      let first = 0;
      if (resume?.document === document) {
        const end = resume.offset + resume.length;
        if (!(end <= tokens.length && resume.length === Math.min(sequenceLength, tokens.length - resume.offset))) {
          throw new SequencePlanMismatchError(
            `the cache's last sequence (document ${resume.document}, tokens ${resume.offset}–${end}) is not one of this corpus's ${tokens.length}-token document`,
          );
        }
        first = end;
      }
      this.peakTokensHeld = Math.max(this.peakTokensHeld, tokens.length + pendingTokens);
      for (let offset = first; offset < tokens.length; offset += sequenceLength) {
        const length = Math.min(sequenceLength, tokens.length - offset);
        if (this.tokens + length > this.maxTokens) {
          this.finished = true;
          if (pending.length > 0) yield concatenate(pending, this.corpus.tagVocabulary !== null);
          return;
        }
        pending.push({
          sequence: { document, offset, length },
          tokens: tokens.subarray(offset, offset + length),
          tags: tags ? tags.subarray(offset, offset + length) : null,
        });
        pendingTokens += length;
        this.sequences++;
        this.tokens += length;
        if (pending.length === batchSize) {
          yield concatenate(pending, this.corpus.tagVocabulary !== null);
          pending = [];
          pendingTokens = 0;
        }
      }
    }
    if (resume && document < resume.document) {
      throw new SequencePlanMismatchError(
        `the cache's last sequence is of document ${resume.document}, but the corpus has ${document + 1} documents`,
      );
    }
    this.corpusComplete = true;
    this.finished = true;
    if (pending.length > 0) yield concatenate(pending, this.corpus.tagVocabulary !== null);
  }
}

function concatenate(
  parts: readonly { sequence: CacheSequence; tokens: Int32Array; tags: Uint16Array | null }[],
  tagged: boolean,
): SequenceBatch {
  const starts = [0];
  for (const part of parts) starts.push(starts.at(-1)! + part.tokens.length);
  const total = starts.at(-1)!;
  const tokens = new Int32Array(total);
  const tags = tagged ? new Uint16Array(total) : null;
  parts.forEach((part, index) => {
    tokens.set(part.tokens, starts[index]!);
    if (tags && part.tags) tags.set(part.tags, starts[index]!);
  });
  return { sequences: parts.map((part) => part.sequence), starts, tokens, tags };
}
