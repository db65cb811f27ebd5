/**
 * @module score/classifier/sample-examples — draws the windows a detection or fuzzing judge is shown, seeded
 * (docs/DESIGN.md §4). Only calibration and score records are cut into windows; the explain split is read for one
 * thing, the feature's top tokens (to find hard negatives), and never shown.
 *   - Activating: each top or quantile record whose strongest token fires, cut to L tokens around that token.
 *   - Non-activating: spans of L tokens of held-out records (any source) where no token fires and that do not overlap
 *     an activating window: first hard negatives (a span centred on one of the top tokens where the feature does not
 *     fire, up to `hardNegativeShare` of them), then random spans (each run of non-firing tokens tiled at a random
 *     offset, the tiles shuffled).
 * A token fires when its activation is above `firingFraction` × the feature's max activation. L is one length for
 * all examples of a feature (so length tells the judge nothing): the longest ≤ `maxWindowTokens` and ≤ the shortest
 * activating record at which the records hold as many non-activating spans as wanted, at least `minWindowTokens`
 * (activating records shorter than that are left out while longer ones exist). Dense features get short windows.
 */
import { hashString, mulberry32, randomInteger, shuffleInPlace, type RandomSource } from '../../common/random.ts';
import type { ActivationRecord, FeatureRecord, RecordSource, SplitRecord } from '../../records/types.ts';
import type { ClassifierExample } from './classifier-example.ts';
import type { ClassifierOptions } from './classifier-options.ts';
import { normalizedToken, topTokens } from './top-tokens.ts';

export interface SampledExamples {
  /** Activating examples first, then hard negatives, then random negatives (the prompt builder shuffles). */
  examples: ClassifierExample[];
  /** The window length L of this feature. */
  windowTokens: number;
  /** How many non-activating examples were wanted (as many as activating ones, by default). */
  nonActivatingWanted: number;
  /** The feature's top tokens (from the explain split) that hard negatives were looked for with. */
  topTokens: string[];
}

type SamplingOptions = Pick<
  ClassifierOptions,
  | 'maxWindowTokens'
  | 'minWindowTokens'
  | 'firingFraction'
  | 'maxActivatingExamples'
  | 'nonActivatingPerActivating'
  | 'hardNegativeShare'
  | 'topTokenCount'
>;

interface Peak {
  record: ActivationRecord;
  position: number;
  source: RecordSource;
}

interface Span {
  recordIndex: number;
  start: number;
  end: number;
}

/** Start of the window of `length` tokens around `position` in a record of `recordLength` tokens. */
function windowStart(position: number, length: number, recordLength: number): number {
  return Math.max(0, Math.min(position - Math.floor(length / 2), recordLength - length));
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] ?? 0) > (values[best] ?? 0)) best = i;
  return best;
}

/** Maximal runs of non-firing tokens, outside the `taken` spans of the same record. */
function nonFiringRuns(records: readonly ActivationRecord[], threshold: number, taken: readonly Span[]): Span[] {
  const runs: Span[] = [];
  records.forEach((record, recordIndex) => {
    const blocked = record.activations.map((value) => value > threshold);
    for (const span of taken) {
      if (span.recordIndex !== recordIndex) continue;
      for (let i = span.start; i < span.end; i++) blocked[i] = true;
    }
    let start = -1;
    for (let i = 0; i <= blocked.length; i++) {
      if (i < blocked.length && !blocked[i]) {
        if (start === -1) start = i;
      } else if (start !== -1) {
        runs.push({ recordIndex, start, end: i });
        start = -1;
      }
    }
  });
  return runs;
}

const spanCapacity = (runs: readonly Span[], length: number) =>
  runs.reduce((total, run) => total + Math.floor((run.end - run.start) / length), 0);

const overlaps = (a: Span, b: Span) => a.recordIndex === b.recordIndex && a.start < b.end && b.start < a.end;

function cut(record: ActivationRecord, start: number, end: number) {
  return { tokens: record.tokens.slice(start, end), activations: record.activations.slice(start, end) };
}

/** Hard negatives: spans of `length` centred on top-token occurrences inside non-firing runs, non-overlapping. */
function hardNegativeSpans(
  records: readonly ActivationRecord[],
  runs: readonly Span[],
  tokens: ReadonlySet<string>,
  length: number,
  limit: number,
  random: RandomSource,
): Span[] {
  if (limit <= 0 || tokens.size === 0) return [];
  const candidates: Span[] = [];
  for (const run of runs) {
    if (run.end - run.start < length) continue;
    const record = records[run.recordIndex]!;
    for (let position = run.start; position < run.end; position++) {
      if (!tokens.has(normalizedToken(record.tokens[position] ?? ''))) continue;
      const start = Math.max(run.start, Math.min(position - Math.floor(length / 2), run.end - length));
      candidates.push({ recordIndex: run.recordIndex, start, end: start + length });
    }
  }
  shuffleInPlace(candidates, random);
  const chosen: Span[] = [];
  for (const candidate of candidates) {
    if (chosen.length >= limit) break;
    if (!chosen.some((span) => overlaps(span, candidate))) chosen.push(candidate);
  }
  return chosen;
}

/** Random negatives: each run, less the hard-negative spans, tiled with `length`-token spans at a random offset. */
function randomNegativeSpans(runs: readonly Span[], taken: readonly Span[], length: number, random: RandomSource) {
  const tiles: Span[] = [];
  for (const run of runs) {
    const blocking = taken
      .filter((span) => span.recordIndex === run.recordIndex && span.start < run.end && run.start < span.end)
      .sort((a, b) => a.start - b.start);
    let segmentStart = run.start;
    for (const segmentEnd of [...blocking.map((span) => span.start), run.end]) {
      const size = segmentEnd - segmentStart;
      const count = Math.floor(size / length);
      if (count > 0) {
        const offset = segmentStart + randomInteger(random, size - count * length + 1);
        for (let k = 0; k < count; k++) {
          tiles.push({ recordIndex: run.recordIndex, start: offset + k * length, end: offset + (k + 1) * length });
        }
      }
      const block = blocking.find((span) => span.start === segmentEnd);
      segmentStart = block ? Math.max(segmentStart, block.end) : segmentEnd;
    }
  }
  return shuffleInPlace(tiles, random);
}

/** Samples the examples of one feature (see the module comment). Same input and seed → same examples. */
export function sampleClassifierExamples(
  feature: FeatureRecord,
  splits: readonly SplitRecord[],
  options: SamplingOptions,
  seed: number,
): SampledExamples {
  const random = mulberry32(hashString('classifier-examples', seed));
  const threshold = Math.max(0, options.firingFraction * Math.max(0, feature.stats.maxActivation));
  const heldOut = splits.filter((split) => split.split !== 'explain');
  const records = heldOut.map((split) => split.record);
  const explainRecords = splits.filter((split) => split.split === 'explain').map((split) => split.record);

  let peaks: (Peak & { recordIndex: number })[] = [];
  heldOut.forEach((split, recordIndex) => {
    if (split.source !== 'top' && !split.source.startsWith('quantile-')) return;
    const position = argmax(split.record.activations);
    if ((split.record.activations[position] ?? 0) <= threshold) return;
    peaks.push({ record: split.record, position, source: split.source, recordIndex });
  });
  // One length for all: an activating record shorter than the window would give a shorter window, telling the judge
  // its class. L is at most the shortest activating record; records shorter than `minWindowTokens` are left out
  // while longer ones exist (one 3-token sentence must not cut every window to 3 tokens).
  const longestPeakRecord = Math.max(0, ...peaks.map((peak) => peak.record.tokens.length));
  peaks = peaks.filter((peak) => peak.record.tokens.length >= Math.min(options.minWindowTokens, longestPeakRecord));
  if (peaks.length > options.maxActivatingExamples) {
    peaks = shuffleInPlace(peaks, random).slice(0, options.maxActivatingExamples);
  }
  const wanted = Math.round(peaks.length * options.nonActivatingPerActivating);

  const activatingSpans = (length: number): Span[] =>
    peaks.map((peak) => {
      const start = windowStart(peak.position, length, peak.record.tokens.length);
      return { recordIndex: peak.recordIndex, start, end: Math.min(peak.record.tokens.length, start + length) };
    });
  const longestLength = Math.min(options.maxWindowTokens, ...peaks.map((peak) => peak.record.tokens.length));
  const shortestLength = Math.max(1, Math.min(options.minWindowTokens, longestLength));
  let length = shortestLength;
  for (let candidate = longestLength; candidate >= shortestLength; candidate--) {
    if (spanCapacity(nonFiringRuns(records, threshold, activatingSpans(candidate)), candidate) >= wanted) {
      length = candidate;
      break;
    }
  }

  const positives = activatingSpans(length);
  const runs = nonFiringRuns(records, threshold, positives);
  const top = topTokens(explainRecords, options.topTokenCount, threshold);
  const hard = hardNegativeSpans(
    records,
    runs,
    new Set(top),
    length,
    Math.floor(wanted * options.hardNegativeShare),
    random,
  );
  const randomSpans = randomNegativeSpans(runs, hard, length, random).slice(0, Math.max(0, wanted - hard.length));

  const examples: ClassifierExample[] = [
    ...positives.map((span, i) => ({
      ...cut(records[span.recordIndex]!, span.start, span.end),
      activating: true,
      source: peaks[i]!.source,
    })),
    ...hard.map((span) => ({
      ...cut(records[span.recordIndex]!, span.start, span.end),
      activating: false,
      source: 'hard-negative' as const,
    })),
    ...randomSpans.map((span) => ({
      ...cut(records[span.recordIndex]!, span.start, span.end),
      activating: false,
      source: 'random-negative' as const,
    })),
  ];
  return { examples, windowTokens: length, nonActivatingWanted: wanted, topTokens: top };
}
