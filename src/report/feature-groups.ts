/**
 * @module report/feature-groups — every stored feature's (model, layer, kind, SAE) as a small group number in a typed
 * array indexed by feature slot (report/feature-slots.ts: the feature id itself unless ids are sparse), so that scores
 * streamed as (value, feature id) are grouped without a join or a string per row (the leaderboard's rows, compare's
 * layers). About 4 bytes per feature id.
 */
import type { SqliteDatabase } from '../store/database.ts';
import { featureIdsOfPrefix, featurePrefixes } from '../store/score-streams.ts';
import { type FeatureSlots, featureSlots } from './feature-slots.ts';

/** The identity a feature shares with the others of its leaderboard row and compare layer. */
export interface FeatureGroup {
  model: string;
  layer: string;
  kind: string;
  /** '' for neurons and unnamed SAEs. */
  sae: string;
}

export interface FeatureGroupIndex {
  groups: FeatureGroup[];
  /** Each feature's slot (`slots.slotOf(featureId)`), the index of `groupOf` and of the callers' arrays. */
  slots: FeatureSlots;
  /** The group number of each feature slot; -1 where the feature is in no group kept (or there is no such id). */
  groupOf: Int32Array;
}

/** Optional exact filters on the group, applied before any feature id is read. */
export interface FeatureGroupFilters {
  model?: string;
  layer?: string;
  kind?: string;
}

export function featureGroupIndex(db: SqliteDatabase, filters: FeatureGroupFilters = {}): FeatureGroupIndex {
  const slots = featureSlots(db);
  const groupOf = new Int32Array(slots.size).fill(-1);
  const groups: FeatureGroup[] = [];
  for (const prefix of featurePrefixes(db)) {
    if (
      (filters.model !== undefined && prefix.model !== filters.model) ||
      (filters.layer !== undefined && prefix.layer !== filters.layer) ||
      (filters.kind !== undefined && prefix.kind !== filters.kind)
    )
      continue;
    for (const [sae, ids] of featureIdsOfPrefix(db, prefix)) {
      const group = groups.push({ ...prefix, sae }) - 1;
      for (const id of ids) groupOf[slots.slotOf(id)] = group;
    }
  }
  return { groups, slots, groupOf };
}

/** A typed array that grows as values are appended, read back as a view of the filled part. */
export class GrowableArray<T extends Float64Array | Int32Array> {
  private buffer: T;
  length = 0;

  constructor(private readonly make: (length: number) => T) {
    this.buffer = make(64);
  }

  push(value: number): void {
    if (this.length === this.buffer.length) {
      const larger = this.make(this.buffer.length * 2);
      larger.set(this.buffer);
      this.buffer = larger;
    }
    this.buffer[this.length++] = value;
  }

  /** The values appended so far (a view: valid until the next push). */
  view(): T {
    return this.buffer.subarray(0, this.length) as T;
  }
}

export const growableFloat64 = () => new GrowableArray((length) => new Float64Array(length));
export const growableInt32 = () => new GrowableArray((length) => new Int32Array(length));
