/**
 * @module records/splits — disjoint explain / calibration / score sets, interleaved as the reference does
 * (`get_slices_for_splits`): top records are dealt round-robin into explain, calibration and score; random records
 * into calibration and score; quantile samples go to score. Explain and score never share a record — not even a
 * copy: imported data can hold the same window twice (in the top list and the random sample), so records are
 * de-duplicated by content before they are dealt.
 */
import type { ActivationRecord, FeatureRecord, SplitRecord } from './types.ts';

export interface SplitOptions {
  /** Top records shown to the explainer. Default 10 (the reference demo uses 5). */
  explainTop?: number;
  /** Held-out top records scored. Default 5. */
  scoreTop?: number;
  /** Held-out random records scored. Default 5. */
  scoreRandom?: number;
  /** Top and random records held out for calibration (rsquared, absdev, ablation). Default 2 and 2. */
  calibrationTop?: number;
  calibrationRandom?: number;
  /** Records scored from each quantile bin when the feature has them (docs/DESIGN.md §3: "plus quantile samples"). Default 1. */
  scorePerQuantile?: number;
}

export const defaultSplitOptions: Required<SplitOptions> = {
  explainTop: 10,
  scoreTop: 5,
  scoreRandom: 5,
  calibrationTop: 2,
  calibrationRandom: 2,
  scorePerQuantile: 1,
};

/** Deals `items` round-robin into buckets with the given capacities (a full bucket is skipped). */
function dealRoundRobin<T>(items: readonly T[], capacities: readonly number[]): T[][] {
  const buckets: T[][] = capacities.map(() => []);
  let next = 0;
  for (const item of items) {
    let tries = 0;
    while (tries < capacities.length && buckets[next]!.length >= capacities[next]!) {
      next = (next + 1) % capacities.length;
      tries += 1;
    }
    if (tries === capacities.length) break;
    buckets[next]!.push(item);
    next = (next + 1) % capacities.length;
  }
  return buckets;
}

/** A cheap fingerprint; records are compared in full only when fingerprints collide. */
function fingerprint(record: ActivationRecord): string {
  let sum = 0;
  const values = record.activations;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return `${record.tokens.length}|${record.tokens[0]}|${record.tokens.at(-1)}|${sum}`;
}

const sameContent = (a: ActivationRecord, b: ActivationRecord) =>
  a.tokens.length === b.tokens.length &&
  a.tokens.every((token, i) => token === b.tokens[i]) &&
  a.activations.every((value, i) => value === b.activations[i]);

/** Records whose content was not seen before (in `seen` or earlier in the list), in order; `seen` is updated. */
function unseen(records: readonly ActivationRecord[], seen: Map<string, ActivationRecord[]>): ActivationRecord[] {
  return records.filter((record) => {
    const key = fingerprint(record);
    const bucket = seen.get(key);
    if (bucket?.some((other) => sameContent(other, record))) return false;
    if (bucket) bucket.push(record);
    else seen.set(key, [record]);
    return true;
  });
}

/**
 * Splits a feature's records. With fewer records than asked, each set gets what round-robin dealing gives it,
 * so the sets stay disjoint and proportionate.
 */
export function splitFeatureRecords(feature: FeatureRecord, options: SplitOptions = {}): SplitRecord[] {
  const o = { ...defaultSplitOptions, ...options };
  const seen = new Map<string, ActivationRecord[]>();
  const top = unseen(feature.top, seen);
  const random = unseen(feature.random, seen);
  const [explain, calibrationTop, scoreTop] = dealRoundRobin(top, [o.explainTop, o.calibrationTop, o.scoreTop]);
  const [calibrationRandom, scoreRandom] = dealRoundRobin(random, [o.calibrationRandom, o.scoreRandom]);
  const result: SplitRecord[] = [
    ...explain!.map((record) => ({ split: 'explain' as const, source: 'top' as const, record })),
    ...calibrationTop!.map((record) => ({ split: 'calibration' as const, source: 'top' as const, record })),
    ...calibrationRandom!.map((record) => ({ split: 'calibration' as const, source: 'random' as const, record })),
    ...scoreTop!.map((record) => ({ split: 'score' as const, source: 'top' as const, record })),
    ...scoreRandom!.map((record) => ({ split: 'score' as const, source: 'random' as const, record })),
  ];
  if (o.scorePerQuantile > 0 && feature.quantiles) {
    feature.quantiles.forEach((bin, binIndex) => {
      for (const record of unseen(bin, seen).slice(0, o.scorePerQuantile)) {
        result.push({ split: 'score', source: `quantile-${binIndex}`, record });
      }
    });
  }
  return result;
}
