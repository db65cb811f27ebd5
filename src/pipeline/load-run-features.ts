/**
 * @module pipeline/load-run-features — the features a run invocation works on: every record of the source loaded
 * and validated first (a bad file fails the run before anything is written), cut to `limit`, then to the run's
 * shard; a resume is refused when the source's records changed since the run started.
 */
import { loadFeatureRecordsWithDigest } from '../records/load.ts';
import { shardOfFeature } from '../records/shards.ts';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureRecord } from '../records/types.ts';
import type { RunRow } from '../store/result-store.ts';
import { resolveSource, type PipelineConfig } from './config.ts';
import { InputError } from '../common/errors.ts';

export interface RunFeatures {
  /** The run's features (after `limit` and the shard), in source order. */
  features: FeatureRecord[];
  /** The digest of the whole source (`limit` is in the stored config). */
  sourceDigest: string;
}

export async function loadRunFeatures(config: PipelineConfig, resumed: RunRow | undefined): Promise<RunFeatures> {
  const loaded = await loadFeatureRecordsWithDigest(resolveSource(config), { model: config.model });
  let features: FeatureRecord[] = loaded.records;
  if (config.limit !== undefined) features = features.slice(0, config.limit);
  if (config.shard) {
    const { index, count } = config.shard;
    features = features.filter((feature) => shardOfFeature(featureKey(feature.id), count) === index);
  }
  const sourceDigest = loaded.digest;
  if (resumed?.source_digest && resumed.source_digest !== sourceDigest) {
    throw new InputError(
      `the feature records of ${config.source} changed since run ${resumed.id} started; resuming would mix two datasets — start a new run`,
    );
  }
  return { features, sourceDigest };
}
