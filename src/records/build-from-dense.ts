/**
 * @module records/build-from-dense — builds FeatureRecords (top-k, random and quantile windows, corpus stats) from a
 * dense [tokens × features] activation matrix, in one blocked pass over the matrix and a bounded heap per feature.
 */
import { quantile } from 'simple-statistics';
import { mulberry32, hashString, randomInteger } from '../common/random.ts';
import type { RandomSource } from '../common/random.ts';
import { featureKey } from './feature-key.ts';
import type { ActivationRecord, FeatureId, FeatureRecord, FeatureStats } from './types.ts';

/** Dense activations of `nFeatures` features on a tokenized corpus. */
export interface DenseActivations {
  /** Token strings of the whole corpus, in order (as shown in prompts, e.g. " the" with GPT-2-style leading space). */
  tokens: string[];
  /** Row-major [tokens.length × nFeatures] activations. */
  values: Float32Array;
  nFeatures: number;
  /** Indices where a new document begins (0 is implied); windows never cross a document boundary. */
  documentStarts?: number[];
  /** Token id of each row (records then carry `tokenIds`). */
  tokenIds?: Int32Array;
  /** With `tokenIds`: the ids the model saw before row `row` in its sequence (records carry them as `contextIds`). */
  contextIds?: (row: number) => number[];
}

/** How windows are cut and sampled. */
export interface BuildRecordsOptions {
  /**
   * Window length in tokens (default 64). Each document is cut in order into windows of this length, like delphi's
   * ctx_len; a shorter final piece is kept as a window when its length is ≥ windowSize / 4, else dropped (its tokens
   * still count in the stats).
   */
  windowSize?: number;
  /**
   * Top windows by max activation, descending, ties by window index (default 30). Only windows where the feature
   * activates (max > 0) are eligible, so a feature that never activates has `top: []`.
   */
  topK?: number;
  /** Windows sampled uniformly without replacement among all windows except the top ones (default 30). */
  randomCount?: number;
  /**
   * Equal-count bins of the per-window max activation over (0, max] (default 5): the boundaries are quantiles of the
   * positive window maxima of all windows; windows are then sampled from each bin among those in neither top nor
   * random. 0 disables quantile sampling.
   */
  quantileBins?: number;
  /** Windows sampled per quantile bin (default 5). */
  perQuantile?: number;
  /** Seed of the sampling (default 0). Each feature draws from its own stream, seeded by the seed and its key. */
  seed?: number;
}

const defaultOptions: Required<BuildRecordsOptions> = {
  windowSize: 64,
  topK: 30,
  randomCount: 30,
  quantileBins: 5,
  perQuantile: 5,
  seed: 0,
};

/** The windows of a corpus: half-open token ranges, plus the dropped tails that belong to no window. */
interface WindowLayout {
  starts: Int32Array;
  ends: Int32Array;
  /** Token ranges [start, end) not covered by any window (short final pieces of documents). */
  droppedRanges: Array<[number, number]>;
}

/** Per-feature results of the passes over the matrix. */
interface CorpusScan {
  /** Feature-major [nFeatures × nWindows] per-window max activation. */
  windowMaxima: Float32Array;
  stats: FeatureStats[];
}

/**
 * Builds one FeatureRecord per column of `dense.values`: `featureIds[i]` names column i, so `featureIds.length` must
 * equal `dense.nFeatures`. Records carry raw (not normalized) activations.
 *
 * A feature whose activations are all ≤ 0 gets `top: []`, its random windows as usual, no quantiles, and stats with
 * `maxActivation ≤ 0`; the pipeline stores it with a null score ("feature never activates").
 *
 * Stats are over all tokens (dropped tails included): population mean and variance, skewness m3/m2^1.5 and excess
 * kurtosis m4/m2² − 3 (scipy's defaults; null when the variance is 0), max, and density = fraction of tokens > 0.
 *
 * Records are data to read, not to edit: the records of all features that select the same window share one frozen
 * `tokens` array (writing to it throws); each record has its own `activations`.
 */
export function buildFeatureRecords(
  dense: DenseActivations,
  featureIds: FeatureId[],
  options: BuildRecordsOptions = {},
): FeatureRecord[] {
  const settings = resolveOptions(options);
  validateInput(dense, featureIds);
  const layout = layoutWindows(dense.tokens.length, dense.documentStarts ?? [], settings.windowSize);
  const scan = scanCorpus(dense, layout);
  const windowCount = layout.starts.length;
  const selected = new Uint8Array(windowCount);
  // One frozen token array (and id arrays) per window, shared by the records of every feature that selects it.
  const windowTokens: Array<WindowText | undefined> = new Array(windowCount);
  const scratch: QuantileScratch = {
    binOfWindow: new Int32Array(windowCount),
    groupedWindows: new Int32Array(windowCount),
  };
  const records: FeatureRecord[] = [];
  for (let feature = 0; feature < dense.nFeatures; feature++) {
    const id = featureIds[feature] as FeatureId;
    const maxima = scan.windowMaxima.subarray(feature * windowCount, (feature + 1) * windowCount);
    const random = mulberry32(hashString(featureKey(id), settings.seed));
    selected.fill(0);

    const topWindows = selectTopWindows(maxima, settings.topK);
    for (const window of topWindows) selected[window] = 1;
    const randomWindows = sampleUnselected(windowCount, selected, settings.randomCount, random);
    for (const window of randomWindows) selected[window] = 1;

    const toRecord = (window: number): ActivationRecord => extractRecord(dense, layout, window, feature, windowTokens);
    const record: FeatureRecord = {
      id,
      top: topWindows.map(toRecord),
      random: randomWindows.map(toRecord),
      stats: scan.stats[feature] as FeatureStats,
    };
    if (settings.quantileBins > 0) {
      const bins = sampleQuantileBins(maxima, selected, settings.quantileBins, settings.perQuantile, random, scratch);
      if (bins) {
        record.quantiles = bins.windows.map((windows) => windows.map(toRecord));
        record.quantileBoundaries = bins.boundaries;
      }
    }
    records.push(record);
  }
  return records;
}

function resolveOptions(options: BuildRecordsOptions): Required<BuildRecordsOptions> {
  const settings = { ...defaultOptions };
  for (const [name, value] of Object.entries(options) as Array<[keyof BuildRecordsOptions, number | undefined]>) {
    if (value !== undefined) settings[name] = value;
  }
  const minimums: Record<keyof BuildRecordsOptions, number> = {
    windowSize: 1,
    topK: 0,
    randomCount: 0,
    quantileBins: 0,
    perQuantile: 0,
    seed: 0,
  };
  for (const name of Object.keys(minimums) as Array<keyof BuildRecordsOptions>) {
    const value = settings[name];
    if (!Number.isInteger(value) || value < minimums[name]) {
      throw new Error(`buildFeatureRecords: option ${name} must be an integer ≥ ${minimums[name]}, got ${value}`);
    }
  }
  return settings;
}

function validateInput(dense: DenseActivations, featureIds: FeatureId[]): void {
  const { tokens, values, nFeatures } = dense;
  if (!Number.isInteger(nFeatures) || nFeatures < 1) {
    throw new Error(`buildFeatureRecords: nFeatures must be a positive integer, got ${nFeatures}`);
  }
  if (tokens.length === 0) throw new Error('buildFeatureRecords: the corpus has no tokens');
  if (dense.tokenIds && dense.tokenIds.length !== tokens.length) {
    throw new Error(`buildFeatureRecords: tokenIds has ${dense.tokenIds.length} entries for ${tokens.length} tokens`);
  }
  if (values.length !== tokens.length * nFeatures) {
    throw new Error(
      `buildFeatureRecords: values has ${values.length} entries but tokens × features = ` +
        `${tokens.length} × ${nFeatures} = ${tokens.length * nFeatures}`,
    );
  }
  if (featureIds.length !== nFeatures) {
    throw new Error(
      `buildFeatureRecords: ${featureIds.length} feature ids given for ${nFeatures} features (one id per column)`,
    );
  }
  for (const start of dense.documentStarts ?? []) {
    if (!Number.isInteger(start) || start < 0 || start > tokens.length) {
      throw new Error(`buildFeatureRecords: document start ${start} is not an integer in [0, ${tokens.length}]`);
    }
  }
}

/** Cuts each document, in order, into windows of `windowSize` tokens; keeps a final piece of ≥ windowSize/4. */
function layoutWindows(tokenCount: number, documentStarts: number[], windowSize: number): WindowLayout {
  const boundaries = [...new Set([0, ...documentStarts, tokenCount])].sort((left, right) => left - right);
  const starts: number[] = [];
  const ends: number[] = [];
  const droppedRanges: Array<[number, number]> = [];
  for (let document = 0; document + 1 < boundaries.length; document++) {
    const documentEnd = boundaries[document + 1] as number;
    for (let start = boundaries[document] as number; start < documentEnd; start += windowSize) {
      const end = Math.min(start + windowSize, documentEnd);
      if ((end - start) * 4 >= windowSize) {
        starts.push(start);
        ends.push(end);
      } else {
        droppedRanges.push([start, end]);
      }
    }
  }
  return { starts: Int32Array.from(starts), ends: Int32Array.from(ends), droppedRanges };
}

/**
 * One pass over the matrix, block by block (a block = a window, or a dropped tail): inside a block, feature by
 * feature, the block's rows are read with stride nFeatures (the block stays in cache, every accumulator in a
 * register): window max, positive count and the block's moments (power sums shifted by the block's first value),
 * merged into the running corpus moments with the pairwise update of Chan et al. (exact for constant features).
 */
function scanCorpus(dense: DenseActivations, layout: WindowLayout): CorpusScan {
  const { nFeatures, tokens } = dense;
  const windowCount = layout.starts.length;
  const accumulators: MomentAccumulators = {
    windowMaxima: new Float32Array(nFeatures * windowCount),
    windowCount,
    counts: new Float64Array(nFeatures),
    means: new Float64Array(nFeatures),
    secondMoments: new Float64Array(nFeatures),
    thirdMoments: new Float64Array(nFeatures),
    fourthMoments: new Float64Array(nFeatures),
    positiveCounts: new Float64Array(nFeatures),
    maxima: new Float64Array(nFeatures).fill(-Infinity),
  };
  for (let window = 0; window < windowCount; window++) {
    scanBlock(
      dense.values,
      nFeatures,
      layout.starts[window] as number,
      layout.ends[window] as number,
      window,
      accumulators,
    );
  }
  for (const [start, end] of layout.droppedRanges) scanBlock(dense.values, nFeatures, start, end, -1, accumulators);

  const { means, secondMoments, thirdMoments, fourthMoments, positiveCounts, maxima } = accumulators;
  // NaN and ±Infinity propagate into the moments: only then look for the culprit, so the hot loop stays check-free.
  for (let feature = 0; feature < nFeatures; feature++) {
    if (!Number.isFinite((means[feature] as number) + (fourthMoments[feature] as number))) {
      throwOnNonFinite(dense, feature);
    }
  }

  const tokenCount = tokens.length;
  const stats: FeatureStats[] = [];
  for (let feature = 0; feature < nFeatures; feature++) {
    const variance = (secondMoments[feature] as number) / tokenCount;
    const defined = variance > 0;
    stats.push({
      mean: means[feature] as number,
      variance,
      skewness: defined ? (thirdMoments[feature] as number) / tokenCount / variance ** 1.5 : null,
      kurtosis: defined ? (fourthMoments[feature] as number) / tokenCount / (variance * variance) - 3 : null,
      maxActivation: maxima[feature] as number,
      density: (positiveCounts[feature] as number) / tokenCount,
    });
  }
  return { windowMaxima: accumulators.windowMaxima, stats };
}

/** Running per-feature sums of the scan (feature-indexed arrays; `windowMaxima` is feature-major). */
interface MomentAccumulators {
  windowMaxima: Float32Array;
  windowCount: number;
  counts: Float64Array;
  means: Float64Array;
  secondMoments: Float64Array;
  thirdMoments: Float64Array;
  fourthMoments: Float64Array;
  positiveCounts: Float64Array;
  maxima: Float64Array;
}

/** Scans the rows [start, end) of every feature; `window` is the window index, or -1 for a dropped tail. */
function scanBlock(
  values: Float32Array,
  nFeatures: number,
  start: number,
  end: number,
  window: number,
  accumulators: MomentAccumulators,
): void {
  const { windowMaxima, windowCount, counts, means, secondMoments, thirdMoments, fourthMoments } = accumulators;
  const { positiveCounts, maxima } = accumulators;
  const blockLength = end - start;
  const stop = end * nFeatures;
  for (let feature = 0; feature < nFeatures; feature++) {
    // Power sums of (value − shift), shift = the block's first value: one pass, and no large-offset cancellation.
    const first = start * nFeatures + feature;
    const shift = values[first] as number;
    let sum = 0;
    let sumSquares = 0;
    let sumCubes = 0;
    let sumFourths = 0;
    let maximum = shift;
    let positives = 0;
    let differing = 0;
    for (let index = first; index < stop; index += nFeatures) {
      const value = values[index] as number;
      // Values equal to the shift add nothing to the shifted sums: sparse features (mostly 0) skip most rows.
      // NaN never equals the shift, so it always reaches the sums (and the non-finite check after the scan).
      if (value === shift) continue;
      differing++;
      positives += value > 0 ? 1 : 0;
      if (value > maximum) maximum = value;
      const shifted = value - shift;
      const shiftedSquared = shifted * shifted;
      sum += shifted;
      sumSquares += shiftedSquared;
      sumCubes += shiftedSquared * shifted;
      sumFourths += shiftedSquared * shiftedSquared;
    }
    if (shift > 0) positives += blockLength - differing;
    // The block's central moments from its shifted power sums (a = block mean − shift).
    const offset = sum / blockLength;
    const offsetSquared = offset * offset;
    const blockMean = shift + offset;
    const second = sumSquares - blockLength * offsetSquared;
    const third = sumCubes - 3 * offset * sumSquares + 2 * blockLength * offsetSquared * offset;
    const fourth =
      sumFourths -
      4 * offset * sumCubes +
      6 * offsetSquared * sumSquares -
      3 * blockLength * offsetSquared * offsetSquared;
    if (window >= 0) windowMaxima[feature * windowCount + window] = maximum;
    if (maximum > (maxima[feature] as number)) maxima[feature] = maximum;
    positiveCounts[feature] = (positiveCounts[feature] as number) + positives;

    // Chan et al.'s pairwise update of (count, mean, M2, M3, M4) with the block's own central moments.
    const countBefore = counts[feature] as number;
    const total = countBefore + blockLength;
    const delta = blockMean - (means[feature] as number);
    const deltaOverTotal = delta / total;
    const deltaOverTotalSquared = deltaOverTotal * deltaOverTotal;
    const secondBefore = secondMoments[feature] as number;
    const thirdBefore = thirdMoments[feature] as number;
    const product = countBefore * blockLength;
    fourthMoments[feature] =
      (fourthMoments[feature] as number) +
      fourth +
      delta *
        deltaOverTotalSquared *
        deltaOverTotal *
        product *
        (countBefore * countBefore - product + blockLength * blockLength) +
      6 * deltaOverTotalSquared * (countBefore * countBefore * second + blockLength * blockLength * secondBefore) +
      4 * deltaOverTotal * (countBefore * third - blockLength * thirdBefore);
    thirdMoments[feature] =
      thirdBefore +
      third +
      delta * deltaOverTotalSquared * product * (countBefore - blockLength) +
      3 * deltaOverTotal * (countBefore * second - blockLength * secondBefore);
    secondMoments[feature] = secondBefore + second + delta * deltaOverTotal * product;
    // The first block sets the mean exactly (a constant feature then keeps variance 0, not 1e-34).
    means[feature] = countBefore === 0 ? blockMean : (means[feature] as number) + deltaOverTotal * blockLength;
    counts[feature] = total;
  }
}

function throwOnNonFinite(dense: DenseActivations, feature: number): never {
  const { values, nFeatures, tokens } = dense;
  for (let token = 0; token < tokens.length; token++) {
    const value = values[token * nFeatures + feature] as number;
    if (!Number.isFinite(value)) {
      throw new Error(
        `buildFeatureRecords: activation at token index ${token}, feature ${feature} is ${value} (must be finite)`,
      );
    }
  }
  // A finite series whose float64 sum overflowed (|values| near 1e308 cannot come from a Float32Array).
  throw new Error(`buildFeatureRecords: the activations of feature ${feature} sum to a non-finite value`);
}

/** True when window `left` ranks before window `right`: higher max first, then lower index. */
function ranksBefore(maxima: Float32Array, left: number, right: number): boolean {
  const leftValue = maxima[left] as number;
  const rightValue = maxima[right] as number;
  return leftValue > rightValue || (leftValue === rightValue && left < right);
}

/**
 * The `topK` windows with the highest positive max, in rank order, with a bounded heap whose root is the worst
 * window kept: O(W log k) instead of sorting all W windows.
 */
function selectTopWindows(maxima: Float32Array, topK: number): number[] {
  if (topK === 0) return [];
  const heap = new Int32Array(topK);
  let size = 0;
  const siftDown = (from: number): void => {
    let parent = from;
    for (;;) {
      const left = 2 * parent + 1;
      if (left >= size) return;
      const right = left + 1;
      // The child that ranks last (worst) must rise to keep the worst window at the root.
      let worst = left;
      if (right < size && ranksBefore(maxima, heap[left] as number, heap[right] as number)) worst = right;
      if (!ranksBefore(maxima, heap[parent] as number, heap[worst] as number)) return;
      const kept = heap[parent] as number;
      heap[parent] = heap[worst] as number;
      heap[worst] = kept;
      parent = worst;
    }
  };
  for (let window = 0; window < maxima.length; window++) {
    if (!((maxima[window] as number) > 0)) continue;
    if (size < topK) {
      let child = size++;
      heap[child] = window;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!ranksBefore(maxima, heap[parent] as number, heap[child] as number)) break;
        const kept = heap[parent] as number;
        heap[parent] = heap[child] as number;
        heap[child] = kept;
        child = parent;
      }
    } else if (ranksBefore(maxima, window, heap[0] as number)) {
      heap[0] = window;
      siftDown(0);
    }
  }
  const top = Array.from(heap.subarray(0, size));
  return top.sort((left, right) => (ranksBefore(maxima, left, right) ? -1 : 1));
}

/**
 * Up to `count` windows drawn uniformly without replacement among those not `selected`, returned in window order.
 * Rejection sampling when the pool is large relative to `count`, a partial Fisher–Yates shuffle otherwise.
 */
function sampleUnselected(windowCount: number, selected: Uint8Array, count: number, random: RandomSource): number[] {
  let available = 0;
  for (let window = 0; window < windowCount; window++) available += selected[window] ? 0 : 1;
  if (count >= available) {
    const all: number[] = [];
    for (let window = 0; window < windowCount; window++) if (!selected[window]) all.push(window);
    return all;
  }
  if (count * 4 <= available) {
    const drawn = new Set<number>();
    const sample: number[] = [];
    while (sample.length < count) {
      const window = randomInteger(random, windowCount);
      if (selected[window] || drawn.has(window)) continue;
      drawn.add(window);
      sample.push(window);
    }
    return sample.sort((left, right) => left - right);
  }
  const pool: number[] = [];
  for (let window = 0; window < windowCount; window++) if (!selected[window]) pool.push(window);
  return partialShuffleSample(pool, count, random);
}

/** The first `count` items of a partial Fisher–Yates shuffle of `pool` (which it reorders), in ascending order. */
function partialShuffleSample(pool: number[] | Int32Array, count: number, random: RandomSource): number[] {
  const taken = Math.min(count, pool.length);
  for (let index = 0; index < taken; index++) {
    const other = index + randomInteger(random, pool.length - index);
    const kept = pool[index] as number;
    pool[index] = pool[other] as number;
    pool[other] = kept;
  }
  const sample: number[] = [];
  for (let index = 0; index < taken; index++) sample.push(pool[index] as number);
  return sample.sort((left, right) => left - right);
}

/** Window-length work arrays of the quantile sampling, allocated once per build. */
interface QuantileScratch {
  binOfWindow: Int32Array;
  groupedWindows: Int32Array;
}

/**
 * Quantile bins of the positive window maxima: boundaries [0, q(1/B), …, q((B−1)/B), max] (linear interpolation,
 * numpy's default), bin i = (boundaries[i], boundaries[i+1]]; `perQuantile` windows are drawn from each bin among the
 * windows not yet selected. Null when the feature never activates.
 */
function sampleQuantileBins(
  maxima: Float32Array,
  selected: Uint8Array,
  binCount: number,
  perQuantile: number,
  random: RandomSource,
  scratch: QuantileScratch,
): { boundaries: number[]; windows: number[][] } | null {
  const positive: number[] = [];
  let highest = 0;
  for (let window = 0; window < maxima.length; window++) {
    const maximum = maxima[window] as number;
    if (maximum > 0) {
      positive.push(maximum);
      if (maximum > highest) highest = maximum;
    }
  }
  if (positive.length === 0) return null;
  const levels = Array.from({ length: binCount - 1 }, (_, index) => (index + 1) / binCount);
  const interior = levels.length > 0 ? quantile(positive, levels) : [];
  const boundaries = [0, ...interior, highest];

  // Counting sort of the eligible windows by bin into one typed array, then a partial shuffle inside each bin.
  const binOfWindow = scratch.binOfWindow;
  const binStarts = new Int32Array(binCount + 1);
  for (let window = 0; window < maxima.length; window++) {
    const maximum = maxima[window] as number;
    let bin = -1;
    if (!selected[window] && maximum > 0) {
      bin = 0;
      while (bin < binCount - 1 && maximum > (boundaries[bin + 1] as number)) bin++;
      binStarts[bin + 1] = (binStarts[bin + 1] as number) + 1;
    }
    binOfWindow[window] = bin;
  }
  for (let bin = 0; bin < binCount; bin++)
    binStarts[bin + 1] = (binStarts[bin + 1] as number) + (binStarts[bin] as number);
  const fill = binStarts.slice(0, binCount);
  const grouped = scratch.groupedWindows;
  for (let window = 0; window < maxima.length; window++) {
    const bin = binOfWindow[window] as number;
    if (bin < 0) continue;
    grouped[fill[bin] as number] = window;
    fill[bin] = (fill[bin] as number) + 1;
  }
  const windows: number[][] = [];
  for (let bin = 0; bin < binCount; bin++) {
    const pool = grouped.subarray(binStarts[bin] as number, binStarts[bin + 1] as number);
    windows.push(partialShuffleSample(pool, perQuantile, random));
  }
  for (const bin of windows) for (const window of bin) selected[window] = 1;
  return { boundaries, windows };
}

function extractRecord(
  dense: DenseActivations,
  layout: WindowLayout,
  window: number,
  feature: number,
  windowTokens: Array<WindowText | undefined>,
): ActivationRecord {
  const start = layout.starts[window] as number;
  const end = layout.ends[window] as number;
  const activations = new Array<number>(end - start);
  for (let token = start; token < end; token++) {
    activations[token - start] = dense.values[token * dense.nFeatures + feature] as number;
  }
  let text = windowTokens[window];
  if (text === undefined) {
    text = { tokens: Object.freeze(dense.tokens.slice(start, end)) as string[] };
    if (dense.tokenIds) {
      text.tokenIds = Object.freeze(Array.from(dense.tokenIds.subarray(start, end))) as number[];
      if (dense.contextIds) text.contextIds = Object.freeze(dense.contextIds(start)) as number[];
    }
    windowTokens[window] = text;
  }
  return { ...text, activations };
}

/** The text of a window as records show it: token strings, and ids when the source has them. */
interface WindowText {
  tokens: string[];
  tokenIds?: number[];
  contextIds?: number[];
}
