/**
 * @module subject/records-from-cache — builds FeatureRecords from an activation cache, with Brown POS reference
 * labels where the corpus carries tags.
 *
 * Records: built per column chunk of the cache with `buildFeatureRecords` (`recordChunksFromCache` hands them out a
 * chunk at a time, so a caller that writes them as they come holds one chunk's records; a feature source with
 * `chunks`, as an SAE's, computes all its chunks in one pass over the cache); windows never cross a sequence (each
 * sequence is one context the model saw). The inserted `<|endoftext|>` at the start of each document is left out of
 * records and of their stats: it is not text of the corpus, and position-0 activations of an attention-sink token are
 * outliers that would fill every top list (TransformerLens users drop BOS from max-activating examples too). The first
 * token of a document's later sequences is corpus text and stays.
 *
 * POS reference labels: each feature's best Brown base tag (./tag-associations.ts, over the tokens of the records,
 * inserted `<|endoftext|>` excluded) becomes a reference label when r ≥ `minLabelCorrelation` (default 0.5: the tag
 * alone explains at least a quarter of the activation's variance, and a positive r means the feature is higher on the
 * tag).
 */
import { buildFeatureRecords, type BuildRecordsOptions } from '../records/build-from-dense.ts';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureId, FeatureKind, FeatureRecord } from '../records/types.ts';
import { ActivationCache, type ColumnChunk } from './activation-cache.ts';
import { brownBaseTagDescriptions } from './brown-tag-descriptions.ts';
import { parseBrownTag } from './brown-tags.ts';
import { tagAssociations, type ReferenceLabel, type TagAssociation } from './tag-associations.ts';
import { loadTokenizer, type SubjectTokenizer } from './tokenizer.ts';

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
  /**
   * Optional: every chunk of `features` (at most `chunkFeatures` each, in order) for the given rows, for a source that
   * computes all its features of a row block at once (an SAE's encoder) and so reads the cache once for all chunks,
   * not once per chunk as `read` does.
   */
  chunks?(
    cache: ActivationCache,
    features: readonly number[],
    chunkFeatures: number,
    rows: Int32Array,
  ): Iterable<ColumnChunk>;
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

/** The records (and labels) of one column chunk. */
export interface RecordsFromCacheChunk {
  records: FeatureRecord[];
  referenceLabels: Map<string, ReferenceLabel>;
  bestTags: Map<string, TagAssociation>;
}

/** What {@link recordChunksFromCache} returns when done. */
export interface RecordsFromCacheSummary {
  tokens: number;
  minLabelCorrelation: number;
}

/** Builds FeatureRecords (and POS reference labels) for features of a cache, one column chunk at a time. */
export function recordsFromCache(cacheDir: string, options: RecordsFromCacheOptions = {}): RecordsFromCacheResult {
  const records: FeatureRecord[] = [];
  const referenceLabels = new Map<string, ReferenceLabel>();
  const bestTags = new Map<string, TagAssociation>();
  const chunks = recordChunksFromCache(cacheDir, options);
  for (let next = chunks.next(); ; next = chunks.next()) {
    if (next.done) return { records, referenceLabels, bestTags, ...next.value };
    records.push(...next.value.records);
    for (const [key, label] of next.value.referenceLabels) referenceLabels.set(key, label);
    for (const [key, association] of next.value.bestTags) bestTags.set(key, association);
  }
}

/**
 * {@link recordsFromCache} a chunk at a time, so that the caller can write each chunk's records and let them go:
 * memory holds one chunk's records, not every feature's.
 */
export function* recordChunksFromCache(
  cacheDir: string,
  options: RecordsFromCacheOptions = {},
): Generator<RecordsFromCacheChunk, RecordsFromCacheSummary> {
  const cache = ActivationCache.open(cacheDir);
  const { header } = cache;
  const width = options.columns?.width ?? header.width;
  const features =
    options.features === undefined || options.features === 'all'
      ? Array.from({ length: width }, (_, index) => index)
      : [...options.features];
  for (const feature of features) {
    if (!(Number.isInteger(feature) && feature >= 0 && feature < width))
      throw new RangeError(`feature ${feature} is not in [0, ${width})`);
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
    ? source.chunks
      ? source.chunks(cache, features, chunkFeatures, rows)
      : (function* () {
          for (let first = 0; first < features.length; first += chunkFeatures) {
            const chunk = features.slice(first, first + chunkFeatures);
            yield { features: chunk, values: source.read(cache, chunk, rows) };
          }
        })()
    : cache.columnChunks(features, chunkFeatures, { rows });
  for (const chunk of chunks) {
    const referenceLabels = new Map<string, ReferenceLabel>();
    const bestTags = new Map<string, TagAssociation>();
    const ids: FeatureId[] = chunk.features.map((index) =>
      source
        ? { model, layer, kind: source.kind, index, ...(source.sae ? { sae: source.sae } : {}) }
        : { model, layer, kind: 'neuron', index },
    );
    const records = buildFeatureRecords(
      {
        tokens: tokenStrings,
        values: chunk.values,
        nFeatures: chunk.features.length,
        documentStarts,
        tokenIds: rowTokenIds,
        contextIds,
      },
      ids,
      buildOptions,
    );
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
    yield { records, referenceLabels, bestTags };
  }
  return { tokens: rows.length, minLabelCorrelation };
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
