/**
 * @module records/shards — how a source's features are split into shards (`run --shard i/n`) and how a shard is
 * written: the pipeline selects a shard's features with it, `merge` checks and names merged shard runs with it.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../common/errors.ts';

export interface ShardSpec {
  index: number;
  count: number;
}

/**
 * The shard (0 ≤ shard < count) a feature belongs to: the first 48 bits of sha256(featureKey), big-endian, modulo
 * `count`. It depends on the key alone, never on the order or number of features, so any tool can reproduce it.
 */
export function shardOfFeature(featureKey: string, count: number): number {
  const digest = createHash('sha256').update(featureKey).digest();
  return digest.readUIntBE(0, 6) % count;
}

/** `i/n`, as `--shard` takes it and run names show it. */
export const formatShard = (shard: ShardSpec): string => `${shard.index}/${shard.count}`;

/** What a shard run's name ends with (`merge` strips it from the name of the merged run). */
export const shardNameSuffix = (shard: ShardSpec): string => ` [shard ${formatShard(shard)}]`;

/** Parses `i/n` (0 ≤ i < n); throws a one-line error otherwise. */
export function parseShard(text: string): ShardSpec {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new InputError(`--shard expects i/n with 0 ≤ i < n (e.g. 0/4), got "${text}"`);
  }
  return { index, count };
}
