/**
 * @module pipeline/load-run-features — the features a run invocation works on, as a stream: a first pass
 * (`scanRunFeatures`) reads and validates every record of the source, one at a time, for the digest, the count and the
 * checks across records (a bad file fails the run before anything is written), keeping none of them; the second
 * (`streamRunFeatures`) reads them again and yields the run's pending features one at a time. The source is cut to
 * `limit` (in source order), then to the run's shard; a resume is refused when the source's records changed since the
 * run started. `loadRunFeatures` collects them (batch mode, which plans its requests over all pending features).
 */
import { fileDigester } from '../records/digest-source.ts';
import { createSourceChecks, streamFeatureRecords } from '../records/load.ts';
import { shardOfFeature } from '../records/shards.ts';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureRecord } from '../records/types.ts';
import { digestSource } from '../records/digest-source.ts';
import type { RunRow } from '../store/result-store.ts';
import { resolveSource, type PipelineConfig } from './config.ts';
import { InputError } from '../common/errors.ts';

export interface RunFeatureScan {
  /** The run's features (after `limit` and the shard). */
  total: number;
  /** Of those, how many were settled (`settled`) before this invocation. */
  alreadyDone: number;
  /** The digest of the whole source (`limit` is in the stored config). */
  sourceDigest: string;
  /** One feature of each SAE the run's features belong to (what `recordRunSaes` reads), in source order. */
  saeFeatures: FeatureRecord[];
}

export interface RunFeatures {
  /** The run's features (after `limit` and the shard), in source order. */
  features: FeatureRecord[];
  /** The digest of the whole source (`limit` is in the stored config). */
  sourceDigest: string;
}

/** Records the first pass reads between two calls of its `onProgress` (a resumed run renews its lease there). */
export const SCAN_PROGRESS_EVERY = 1000;

/** Whether the feature at `position` (0-based, source order) with `key` is one of the run's. */
function runSelection(config: PipelineConfig): (key: string, position: number) => boolean {
  const { limit, shard } = config;
  return (key, position) =>
    (limit === undefined || position < limit) && (!shard || shardOfFeature(key, shard.count) === shard.index);
}

/**
 * The first pass: every record read and validated (none kept), the source's digest (hashed as a JSONL file is read;
 * other sources hashed after), the run's feature count and how many of them `settled` holds. Memory: one record at a
 * time, and the key of every feature (for the duplicate check; about 130 bytes a feature). `onProgress` is called
 * every SCAN_PROGRESS_EVERY records (the pass takes minutes at 10^6 features).
 */
export async function scanRunFeatures(
  config: PipelineConfig,
  resumed: RunRow | undefined,
  settled: ReadonlySet<string> = new Set(),
  onProgress?: () => void,
): Promise<RunFeatureScan> {
  const source = resolveSource(config);
  const selected = runSelection(config);
  const digester = fileDigester();
  let hashedWhileReading = false;
  const checks = createSourceChecks(source);
  const saeFeatures = new Map<string, FeatureRecord>();
  let position = 0;
  let read = 0;
  let total = 0;
  let alreadyDone = 0;
  const records = streamFeatureRecords(source, { model: config.model }, (chunk) => {
    hashedWhileReading = true;
    digester.update(chunk);
  });
  for await (const record of records) {
    const key = checks.see(record);
    if (selected(key, position++)) {
      total += 1;
      if (settled.has(key)) alreadyDone += 1;
      const sae = record.id.sae;
      if (sae !== undefined && !saeFeatures.has(sae)) saeFeatures.set(sae, record);
    }
    if (onProgress && ++read % SCAN_PROGRESS_EVERY === 0) onProgress();
  }
  checks.finish();
  const sourceDigest = hashedWhileReading ? digester.digest() : await digestSource(source);
  if (resumed?.source_digest && resumed.source_digest !== sourceDigest) {
    throw new InputError(
      `the feature records of ${config.source} changed since run ${resumed.id} started; resuming would mix two datasets — start a new run`,
    );
  }
  return { total, alreadyDone, sourceDigest, saeFeatures: [...saeFeatures.values()] };
}

/**
 * The second pass: the run's features that `settled` does not hold, one at a time in source order (validated again as
 * they are read). It stops reading at `limit`. A JSONL file read to its end is hashed again: bytes that differ from
 * `sourceDigest` (the file was rewritten during the run) throw an InputError.
 */
export async function* streamRunFeatures(
  config: PipelineConfig,
  sourceDigest: string,
  settled: ReadonlySet<string> = new Set(),
): AsyncGenerator<FeatureRecord> {
  const source = resolveSource(config);
  const selected = runSelection(config);
  const digester = fileDigester();
  let hashedWhileReading = false;
  let position = 0;
  const records = streamFeatureRecords(source, { model: config.model }, (chunk) => {
    hashedWhileReading = true;
    digester.update(chunk);
  });
  for await (const record of records) {
    if (config.limit !== undefined && position >= config.limit) return; // closes the file
    const key = featureKey(record.id);
    if (selected(key, position++) && !settled.has(key)) yield record;
  }
  if (hashedWhileReading && digester.digest() !== sourceDigest) {
    throw new InputError(
      `the feature records of ${config.source} changed while the run was reading them; its results would mix two datasets — start a new run`,
    );
  }
}

/** The run's features, all loaded (both passes; batch mode and tests). */
export async function loadRunFeatures(
  config: PipelineConfig,
  resumed: RunRow | undefined,
  settled: ReadonlySet<string> = new Set(),
): Promise<RunFeatures> {
  const { sourceDigest } = await scanRunFeatures(config, resumed, settled);
  const features: FeatureRecord[] = [];
  for await (const feature of streamRunFeatures(config, sourceDigest, settled)) features.push(feature);
  return { features, sourceDigest };
}
