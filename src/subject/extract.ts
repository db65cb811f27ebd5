/**
 * @module subject/extract — runs a subject model over a corpus and stores the activations of one hook point in an
 * activation cache (subject/activation-cache.ts), then builds FeatureRecords from the cache, with Brown POS reference
 * labels where the corpus carries tags.
 *
 * Extraction: each document is tokenized with `<|endoftext|>` in front (as the training stream of the embedded model
 * joins documents), cut into non-overlapping sequences of the model's context length (the last one shorter), and the
 * sequences are run in batches (padded to the batch's longest; causal attention keeps padding from reaching real
 * tokens) with the hook captured and the forward pass stopped there. The writes of one batch (thread pool) overlap the
 * forward pass of the next. Memory holds two batches of activations and the corpus's token ids (4 + 2 bytes a token),
 * never the corpus's activations. `maxTokens` takes whole sequences in corpus order while the total stays ≤ it.
 *
 * Records: built per column chunk of the cache with `buildFeatureRecords`; windows never cross a sequence (each
 * sequence is one context the model saw). The inserted `<|endoftext|>` at the start of each document is left out of
 * records and of their stats: it is not text of the corpus, and position-0 activations of an attention-sink token are
 * outliers that would fill every top list (TransformerLens users drop BOS from max-activating examples too). The first
 * token of a document's later sequences is corpus text and stays.
 *
 * POS reference labels: for each feature and each Brown base tag t (`parseBrownTag(tag).parts[0]`), the point-biserial
 * correlation r between the activation and the indicator "the token's word has base tag t", over all tokens of the
 * records (inserted `<|endoftext|>` excluded; tokens without a tag count as not-t). The tag with the highest r is the
 * feature's best tag; it becomes a reference label when r ≥ `minLabelCorrelation` (default 0.5: the tag alone explains
 * at least a quarter of the activation's variance, and a positive r means the feature is higher on the tag).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseBrownTag } from './brown-tags.ts';
import { buildFeatureRecords, type BuildRecordsOptions } from '../records/build-from-dense.ts';
import { featureKey, type FeatureId, type FeatureKind, type FeatureRecord } from '../records/types.ts';
import {
  ActivationCache,
  ActivationCacheWriter,
  activationCacheFormat,
  activationCacheVersion,
  type ActivationCacheHeader,
  type ActivationCacheIdentity,
  type CacheCorpusFormat,
  type CacheSequence,
  type ColumnChunk,
} from './activation-cache.ts';
import { parseCorpusSampleLine, type CorpusSampleWord } from './corpus-sample.ts';
import { hookWidth } from './gpt2-model.ts';
import { loadSubjectModel, type SubjectModel } from './load-subject.ts';
import { loadTokenizer, type SubjectTokenizer } from './tokenizer.ts';

// ——— corpus ———

/** A corpus that cannot be read for extraction; the message is one line naming the file (and line). */
export class ExtractionCorpusError extends Error {
  override readonly name = 'ExtractionCorpusError';
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`corpus ${file}: ${reason}`, options);
  }
}

export interface ExtractionDocument {
  text: string;
  /** Brown-tagged words (the corpus sample); absent for untagged corpora. */
  words?: CorpusSampleWord[];
}

export interface ExtractionCorpus {
  path: string;
  format: CacheCorpusFormat;
  /** `sha256:` of the file bytes. */
  digest: string;
  documents: ExtractionDocument[];
  /** `""` then the sorted raw tags of all documents; null for untagged corpora. */
  tagVocabulary: string[] | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a corpus for extraction. Formats, detected from the content: a JSONL file (first non-blank line starts with
 * `{`) whose objects have `spans` and `tags` is the Brown corpus sample (data/corpus/brown-heldout.jsonl, tagged);
 * other JSONL needs a string `text` per line (other fields ignored); anything else is plain text with documents
 * separated by blank lines.
 */
export function readExtractionCorpus(file: string): ExtractionCorpus {
  const path = resolve(file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ExtractionCorpusError(file, code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot read (${String(error)})`, { cause: error });
  }
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const content = bytes.toString('utf8');
  const firstLine = content.split('\n').find((line) => line.trim() !== '');
  if (firstLine === undefined) throw new ExtractionCorpusError(file, 'is empty');
  let format: CacheCorpusFormat;
  const documents: ExtractionDocument[] = [];
  if (firstLine.trimStart().startsWith('{')) {
    format = 'jsonl-text';
    const lines = content.split('\n');
    for (let index = 0; index < lines.length; index++) {
      const line = lines[index]!;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (error) {
        throw new ExtractionCorpusError(file, `line ${index + 1} is not valid JSON`, { cause: error });
      }
      if (documents.length === 0 && isRecord(value) && 'spans' in value && 'tags' in value) format = 'brown-sample';
      if (format === 'brown-sample') {
        const document = parseCorpusSampleLine(value, file, index + 1);
        documents.push({ text: document.text, words: document.words });
      } else {
        if (!isRecord(value) || typeof value.text !== 'string') {
          throw new ExtractionCorpusError(file, `line ${index + 1} has no string "text" field (JSONL corpora need {"text": …} per line)`);
        }
        documents.push({ text: value.text });
      }
    }
  } else {
    format = 'plain-text';
    for (const piece of content.split(/\r?\n[ \t]*\r?\n/)) {
      const text = piece.replace(/^\s*\n/, '').trimEnd();
      if (text.trim() !== '') documents.push({ text });
    }
  }
  if (!documents.some((document) => document.text.length > 0)) throw new ExtractionCorpusError(file, 'has no text');
  let tagVocabulary: string[] | null = null;
  if (format === 'brown-sample') {
    const tags = new Set<string>();
    for (const document of documents) for (const word of document.words ?? []) tags.add(word.tag);
    tagVocabulary = ['', ...[...tags].sort()];
    if (tagVocabulary.length > 65535) throw new ExtractionCorpusError(file, `has ${tagVocabulary.length} distinct tags (at most 65535 fit the cache)`);
  }
  return { path, format, digest, documents, tagVocabulary };
}

/**
 * The tag index of each token: the tag of the word whose span contains the token's first non-space character; 0 when
 * the token is only whitespace or its first character lies in no word. Offsets come from `encodeWithOffsets`.
 */
export function tokenTags(
  text: string,
  offsets: readonly (readonly [number, number])[],
  words: readonly CorpusSampleWord[],
  tagIndex: ReadonlyMap<string, number>,
): Uint16Array {
  const tags = new Uint16Array(offsets.length);
  let word = 0;
  for (let token = 0; token < offsets.length; token++) {
    const [start, end] = offsets[token]!;
    let position = start;
    while (position < end && /\s/.test(text[position]!)) position++;
    if (position >= end) continue;
    while (word < words.length && words[word]!.end <= position) word++;
    const candidate = words[word];
    if (candidate && candidate.start <= position) tags[token] = tagIndex.get(candidate.tag) ?? 0;
  }
  return tags;
}

// ——— sequence plan ———

/** The sequences to extract: token ids and tags of the sequences, concatenated. */
interface SequencePlan {
  sequences: CacheSequence[];
  /** Start of each sequence in `tokens` (plus the total at the end). */
  starts: number[];
  tokens: Int32Array;
  tags: Uint16Array | null;
  /** Every sequence of the corpus is in the plan. */
  corpusComplete: boolean;
}

/**
 * Tokenizes documents in order and cuts them into sequences, taking whole sequences while the total stays
 * ≤ maxTokens (the first that does not fit ends the plan; tokenization stops there too).
 */
function planSequences(corpus: ExtractionCorpus, tokenizer: SubjectTokenizer, sequenceLength: number, maxTokens: number): SequencePlan {
  const tagIndex = new Map((corpus.tagVocabulary ?? []).map((tag, index) => [tag, index]));
  const sequences: CacheSequence[] = [];
  const starts = [0];
  const tokenParts: Int32Array[] = [];
  const tagParts: Uint16Array[] = [];
  let total = 0;
  let complete = true;
  const bos = tokenizer.eosId;
  outer: for (let document = 0; document < corpus.documents.length; document++) {
    const { text, words } = corpus.documents[document]!;
    if (text.length === 0) continue;
    const { ids, offsets } = tokenizer.encodeWithOffsets(text);
    const prefix = bos === null ? 0 : 1;
    const tokens = new Int32Array(ids.length + prefix);
    if (bos !== null) tokens[0] = bos;
    tokens.set(ids, prefix);
    let tags: Uint16Array | null = null;
    if (corpus.tagVocabulary) {
      tags = new Uint16Array(tokens.length);
      tags.set(tokenTags(text, offsets, words ?? [], tagIndex), prefix);
    }
    for (let offset = 0; offset < tokens.length; offset += sequenceLength) {
      const length = Math.min(sequenceLength, tokens.length - offset);
      if (total + length > maxTokens) {
        complete = false;
        break outer;
      }
      sequences.push({ document, offset, length });
      total += length;
      starts.push(total);
      tokenParts.push(tokens.subarray(offset, offset + length));
      if (tags) tagParts.push(tags.subarray(offset, offset + length));
    }
  }
  const concatenate = <T extends Int32Array | Uint16Array>(parts: T[], out: T): T => {
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  };
  return {
    sequences,
    starts,
    tokens: concatenate(tokenParts, new Int32Array(total)),
    tags: corpus.tagVocabulary ? concatenate(tagParts, new Uint16Array(total)) : null,
    corpusComplete: complete,
  };
}

// ——— extraction ———

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
export class ExtractionSetupError extends Error {
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
  if (width === null) throw new ExtractionSetupError(`unknown hook "${hook}" for ${subject.name}; valid hooks: ${valid.join(', ')}`);
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
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new ExtractionSetupError(`batch size must be a positive integer, got ${batchSize}`);
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
      throw new ExtractionSetupError(`the cache in ${options.cacheDir} holds ${resumedTokens} tokens in ${resumedSequences} sequences, which do not match this corpus's sequences`);
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

// ——— records from a cache ———

/** What a Brown base tag means (Brown Corpus Manual, Francis & Kučera 1964/1979); used in reference labels. */
export const brownBaseTagDescriptions: Readonly<Record<string, string>> = {
  '.': 'sentence-ending punctuation (. ? ! ;)',
  '(': 'opening parenthesis',
  ')': 'closing parenthesis',
  '*': 'negation ("not", "n\'t")',
  '--': 'dashes',
  ',': 'commas',
  ':': 'colons',
  '``': 'opening quotation marks',
  "''": 'closing quotation marks',
  "'": 'apostrophes and single quotes',
  abl: 'pre-qualifiers ("quite", "rather")',
  abn: 'pre-quantifiers ("half", "all")',
  abx: 'the pre-quantifier "both"',
  ap: 'post-determiners ("many", "several", "next", "other")',
  at: 'articles ("the", "a", "an", "no")',
  be: 'the verb "be"',
  bed: 'the verb "were"',
  bedz: 'the verb "was"',
  beg: 'the verb "being"',
  bem: 'the verb "am"',
  ben: 'the verb "been"',
  ber: 'the verb "are"',
  bez: 'the verb "is"',
  cc: 'coordinating conjunctions ("and", "or", "but")',
  cd: 'cardinal numbers',
  cs: 'subordinating conjunctions ("that", "if", "as", "because")',
  do: 'the verb "do"',
  dod: 'the verb "did"',
  doz: 'the verb "does"',
  dt: 'singular determiners ("this", "that", "another")',
  dti: 'determiners "some" and "any"',
  dts: 'plural determiners ("these", "those")',
  dtx: 'the determiner "either"',
  ex: 'existential "there"',
  hv: 'the verb "have"',
  hvd: 'the verb "had"',
  hvg: 'the verb "having"',
  hvn: 'the participle "had"',
  hvz: 'the verb "has"',
  in: 'prepositions',
  jj: 'adjectives',
  jjr: 'comparative adjectives',
  jjs: 'semantically superlative adjectives ("chief", "top")',
  jjt: 'superlative adjectives ("biggest")',
  md: 'modal auxiliaries ("can", "would", "should")',
  nc: 'cited words',
  nn: 'singular or mass nouns',
  nns: 'plural nouns',
  np: 'proper nouns',
  nps: 'plural proper nouns',
  nr: 'adverbial nouns ("home", "today", "west")',
  nrs: 'plural adverbial nouns',
  od: 'ordinal numbers ("first", "second")',
  pn: 'nominal pronouns ("everybody", "nothing")',
  pp: 'possessive personal pronouns and determiners ("his", "their", "mine")',
  ppl: 'singular reflexive pronouns ("himself")',
  ppls: 'plural reflexive pronouns ("themselves")',
  ppo: 'objective personal pronouns ("him", "them")',
  pps: 'third-person singular subject pronouns ("he", "she", "it")',
  ppss: 'other subject pronouns ("I", "we", "they", "you")',
  ql: 'qualifiers ("very", "too", "so")',
  qlp: 'post-qualifiers ("enough", "indeed")',
  rb: 'adverbs',
  rbr: 'comparative adverbs',
  rbt: 'superlative adverbs',
  rn: 'nominal adverbs ("here", "then")',
  rp: 'adverbial particles ("up", "out", "off")',
  to: 'infinitival "to"',
  uh: 'interjections',
  vb: 'verbs in the base form',
  vbd: 'past-tense verbs',
  vbg: 'present participles and gerunds (-ing verbs)',
  vbn: 'past participles',
  vbz: 'third-person singular present verbs',
  wdt: 'wh- determiners ("which", "what")',
  wp: 'possessive wh- pronoun "whose"',
  wpo: 'objective wh- pronouns ("whom")',
  wps: 'subject wh- pronouns ("who", "which", "that")',
  wql: 'wh- qualifier "how"',
  wrb: 'wh- adverbs ("how", "where", "when", "why")',
};

/** How a feature's activation tracks a Brown base tag: the point-biserial correlation over the cache's tokens. */
export interface TagAssociation {
  /** Brown base tag, e.g. "at". */
  tag: string;
  /** Point-biserial r between the activation and the tag's indicator, in [−1, 1]. */
  score: number;
  /** Tokens with the tag. */
  tagTokens: number;
  /** Mean activation on tokens with the tag and on the others. */
  meanOnTag: number;
  meanOffTag: number;
}

/** A POS reference label: the tag a feature tracks, stated as an explanation can be checked against. */
export interface ReferenceLabel extends TagAssociation {
  /** e.g. `Brown tag "at": articles ("the", "a", "an", "no")`. */
  description: string;
  /** Always "point-biserial r" (the measure behind `score`). */
  measure: 'point-biserial r';
}

/**
 * Where feature columns come from when they are not the cache's own activations, e.g. an SAE's latents computed
 * from them (sae/sae-columns). `read` gets ascending cache rows and returns row-major [rows × features.length].
 */
export interface FeatureColumnSource {
  /** Number of features (columns). */
  width: number;
  /** Feature id kind and SAE name of the features. */
  kind: FeatureKind;
  sae?: string;
  read(cache: ActivationCache, features: readonly number[], rows: Int32Array): Float32Array;
}

export interface RecordsFromCacheOptions extends BuildRecordsOptions {
  /** Build the features of this source instead of the cache's own activations (neurons). */
  columns?: FeatureColumnSource;
  /** Features (columns) to build, default 'all'. */
  features?: readonly number[] | 'all';
  /** Features read per pass over activations.bin (default 64): memory ≈ tokens × chunkFeatures × 4 bytes. */
  chunkFeatures?: number;
  /** Feature id model name (default the cache's). */
  model?: string;
  /** Feature id layer (default the cache's hook name). */
  layer?: number | string;
  /** Token strings come from this tokenizer (default the copy in the cache folder). */
  tokenizer?: SubjectTokenizer;
  /** Smallest point-biserial r for a reference label (default 0.5). */
  minLabelCorrelation?: number;
  /** Called after each chunk with the features done so far. */
  onChunk?: (featuresDone: number, featuresTotal: number) => void;
}

export interface RecordsFromCacheResult {
  records: FeatureRecord[];
  /** Features (by featureKey) whose best tag reaches the threshold. Empty for untagged corpora. */
  referenceLabels: Map<string, ReferenceLabel>;
  /** Every feature's best tag (highest r), labelled or not; empty for untagged corpora or constant features. */
  bestTags: Map<string, TagAssociation>;
  /** Tokens the records and stats were built from (the cache's, minus the inserted <|endoftext|> tokens). */
  tokens: number;
  minLabelCorrelation: number;
}

/** Parses a feature list like `0-15`, `3,7,100-120` or `all` against a width. */
export function parseFeatureList(text: string, width: number): number[] | 'all' {
  if (text.trim() === 'all') return 'all';
  const features: number[] = [];
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new RangeError(`bad feature list "${text}": use e.g. 0-15, 3,7,100-120 or all`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) throw new RangeError(`bad feature range "${part.trim()}" (end before start)`);
    if (to >= width) throw new RangeError(`feature ${to} is out of range: the hook has ${width} features (0-${width - 1})`);
    for (let feature = from; feature <= to; feature++) features.push(feature);
  }
  return [...new Set(features)];
}

/** Builds FeatureRecords (and POS reference labels) for features of a cache, one column chunk at a time. */
export function recordsFromCache(cacheDir: string, options: RecordsFromCacheOptions = {}): RecordsFromCacheResult {
  const cache = ActivationCache.open(cacheDir);
  const { header } = cache;
  const width = options.columns?.width ?? header.width;
  const features = options.features === undefined || options.features === 'all' ? Array.from({ length: width }, (_, index) => index) : [...options.features];
  for (const feature of features) {
    if (!(Number.isInteger(feature) && feature >= 0 && feature < width)) throw new RangeError(`feature ${feature} is not in [0, ${width})`);
  }
  const chunkFeatures = options.chunkFeatures ?? 64;
  const minLabelCorrelation = options.minLabelCorrelation ?? 0.5;
  const tokenizer = options.tokenizer ?? loadTokenizer(cacheDir);

  // Rows kept: all but the <|endoftext|> inserted before each document; windows restart at every sequence.
  const sequences = cache.readSequences();
  const tokenIds = cache.readTokens();
  const keptRows: number[] = [];
  const documentStarts: number[] = [];
  // Cache row of each sequence's first token, per kept row's sequence: a window's context is its sequence before it.
  const sequenceStartOfKept: number[] = [];
  let at = 0;
  for (const sequence of sequences) {
    documentStarts.push(keptRows.length);
    sequenceStartOfKept.push(at);
    const skipFirst = header.bosTokenId !== null && sequence.offset === 0 && tokenIds[at] === header.bosTokenId;
    for (let position = skipFirst ? 1 : 0; position < sequence.length; position++) keptRows.push(at + position);
    at += sequence.length;
  }
  const rows = Int32Array.from(keptRows);
  if (rows.length === 0) throw new RangeError(`the cache in ${cacheDir} has no tokens to build records from`);
  const tokenStrings = tokenStringsOf(tokenizer, tokenIds, rows);
  const rowTokenIds = new Int32Array(rows.length);
  for (let row = 0; row < rows.length; row++) rowTokenIds[row] = tokenIds[rows[row]!]!;
  const contextIds = (row: number): number[] => {
    // The sequence holding kept row `row`: the last one whose first kept row is ≤ row.
    let low = 0;
    let high = documentStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (documentStarts[middle]! <= row) low = middle;
      else high = middle - 1;
    }
    return Array.from(tokenIds.subarray(sequenceStartOfKept[low]!, rows[row]!));
  };

  // Base tag per kept row (−1: none).
  const tagData = cache.readTags();
  const baseTags: string[] = [];
  let rowBaseTag: Int32Array | null = null;
  if (tagData && header.tagVocabulary) {
    const baseIndex = new Map<string, number>();
    const vocabularyBase = header.tagVocabulary.map((raw) => {
      if (raw === '') return -1;
      const base = parseBrownTag(raw).parts[0];
      if (base === undefined) return -1;
      if (!baseIndex.has(base)) {
        baseIndex.set(base, baseTags.length);
        baseTags.push(base);
      }
      return baseIndex.get(base)!;
    });
    rowBaseTag = new Int32Array(rows.length);
    for (let row = 0; row < rows.length; row++) rowBaseTag[row] = vocabularyBase[tagData[rows[row]!]!]!;
  }

  const model = options.model ?? header.model;
  const layer = options.layer ?? header.hook;
  const records: FeatureRecord[] = [];
  const referenceLabels = new Map<string, ReferenceLabel>();
  const bestTags = new Map<string, TagAssociation>();
  const buildOptions: BuildRecordsOptions = {
    windowSize: options.windowSize,
    topK: options.topK,
    randomCount: options.randomCount,
    quantileBins: options.quantileBins,
    perQuantile: options.perQuantile,
    seed: options.seed,
  };
  let done = 0;
  const source = options.columns;
  const chunks: Iterable<ColumnChunk> = source
    ? (function* () {
        for (let first = 0; first < features.length; first += chunkFeatures) {
          const chunk = features.slice(first, first + chunkFeatures);
          yield { features: chunk, values: source.read(cache, chunk, rows) };
        }
      })()
    : cache.columnChunks(features, chunkFeatures, { rows });
  for (const chunk of chunks) {
    const ids: FeatureId[] = chunk.features.map((index) =>
      source ? { model, layer, kind: source.kind, index, ...(source.sae ? { sae: source.sae } : {}) } : { model, layer, kind: 'neuron', index },
    );
    records.push(...buildFeatureRecords({ tokens: tokenStrings, values: chunk.values, nFeatures: chunk.features.length, documentStarts, tokenIds: rowTokenIds, contextIds }, ids, buildOptions));
    if (rowBaseTag) {
      const associations = tagAssociations(chunk.values, chunk.features.length, rowBaseTag, baseTags);
      associations.forEach((association, column) => {
        if (!association) return;
        const key = featureKey(ids[column]!);
        bestTags.set(key, association);
        if (association.score >= minLabelCorrelation) {
          const meaning = brownBaseTagDescriptions[association.tag];
          referenceLabels.set(key, {
            ...association,
            description: `Brown tag "${association.tag}"${meaning ? `: ${meaning}` : ''}`,
            measure: 'point-biserial r',
          });
        }
      });
    }
    done += chunk.features.length;
    options.onChunk?.(done, features.length);
  }
  return { records, referenceLabels, bestTags, tokens: rows.length, minLabelCorrelation };
}

/** Display strings of the kept tokens, one tokenizer call per distinct id. */
function tokenStringsOf(tokenizer: SubjectTokenizer, tokenIds: Int32Array, rows: Int32Array): string[] {
  const table = new Map<number, string>();
  const strings = new Array<string>(rows.length);
  for (let row = 0; row < rows.length; row++) {
    const id = tokenIds[rows[row]!]!;
    let text = table.get(id);
    if (text === undefined) {
      text = tokenizer.tokenStrings([id])[0]!;
      table.set(id, text);
    }
    strings[row] = text;
  }
  return strings;
}

/**
 * For each column of a row-major [rows × k] chunk, the base tag with the highest point-biserial correlation
 * r = (mean_t − mean) / σ · √(p / (1 − p)) (population σ, p = share of rows with the tag), or null when the column is
 * constant or no tag occurs.
 */
export function tagAssociations(values: Float32Array, k: number, rowTag: Int32Array, tags: readonly string[]): (TagAssociation | null)[] {
  const n = rowTag.length;
  const tagCount = tags.length;
  const sums = new Float64Array(k);
  const squares = new Float64Array(k);
  const tagSums = new Float64Array(tagCount * k);
  const tagRows = new Float64Array(tagCount);
  for (let row = 0; row < n; row++) {
    const tag = rowTag[row]!;
    const base = row * k;
    if (tag >= 0) {
      tagRows[tag]! += 1;
      const target = tag * k;
      for (let column = 0; column < k; column++) {
        const value = values[base + column]!;
        sums[column]! += value;
        squares[column]! += value * value;
        tagSums[target + column]! += value;
      }
    } else {
      for (let column = 0; column < k; column++) {
        const value = values[base + column]!;
        sums[column]! += value;
        squares[column]! += value * value;
      }
    }
  }
  const out: (TagAssociation | null)[] = [];
  for (let column = 0; column < k; column++) {
    const mean = sums[column]! / n;
    const variance = squares[column]! / n - mean * mean;
    if (!(variance > 1e-12 * Math.max(1, mean * mean))) {
      out.push(null);
      continue;
    }
    const sigma = Math.sqrt(variance);
    let best: TagAssociation | null = null;
    for (let tag = 0; tag < tagCount; tag++) {
      const count = tagRows[tag]!;
      if (count === 0 || count === n) continue;
      const meanOnTag = tagSums[tag * k + column]! / count;
      const meanOffTag = (sums[column]! - tagSums[tag * k + column]!) / (n - count);
      const p = count / n;
      const score = ((meanOnTag - mean) / sigma) * Math.sqrt(p / (1 - p));
      if (!best || score > best.score) best = { tag: tags[tag]!, score, tagTokens: count, meanOnTag, meanOffTag };
    }
    out.push(best);
  }
  return out;
}
