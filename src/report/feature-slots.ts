/**
 * @module report/feature-slots — a small dense number (a slot) for each stored feature id, for typed arrays indexed by
 * feature: the id itself where ids are dense (the usual case: no lookup), else the id's position among the sorted
 * ids, found by binary search (a database with a few huge ids, e.g. 2^33, would otherwise need arrays of that
 * length). Slots keep the ids' order: a smaller slot is a smaller feature id.
 */
import { lowerBound } from '../common/sorted-search.ts';
import type { SqliteDatabase } from '../store/database.ts';
import { featureIdCount, featureIdsAscending, largestFeatureId } from '../store/score-streams.ts';

export interface FeatureSlots {
  /** The length of an array indexed by slot. */
  readonly size: number;
  /** The slot of a feature id; -1 where it is no stored feature's id (outside 0..size-1 in any case). */
  slotOf(featureId: number): number;
  /** The feature id of a slot. */
  featureIdOf(slot: number): number;
}

/** Largest ids up to this use dense slots whatever the count (arrays of at most 4 MiB a byte per slot). */
const ALWAYS_DENSE_UP_TO = 1 << 20;
/** Beyond that, dense slots while the largest id is at most this many times the number of features (plus a margin). */
const DENSE_FACTOR = 4;
const DENSE_MARGIN = 1024;

export function featureSlots(db: SqliteDatabase): FeatureSlots {
  const largest = largestFeatureId(db);
  if (largest < ALWAYS_DENSE_UP_TO || largest <= DENSE_FACTOR * featureIdCount(db) + DENSE_MARGIN)
    return denseSlots(largest + 1);
  return sparseSlots(featureIdsAscending(db));
}

/** Slot = feature id, for ids 0..size-1. */
export function denseSlots(size: number): FeatureSlots {
  return {
    size,
    slotOf: (featureId) => (featureId < size ? featureId : -1),
    featureIdOf: (slot) => slot,
  };
}

/** Slot = position of the id in `ids` (ascending, distinct). */
export function sparseSlots(ids: Float64Array): FeatureSlots {
  return {
    size: ids.length,
    slotOf(featureId) {
      const low = lowerBound(ids, featureId);
      return ids[low] === featureId ? low : -1;
    },
    featureIdOf: (slot) => ids[slot]!,
  };
}
