/** @module cli/select-features — loads a records source and picks features by key for single-feature commands. */
import { demoRecordsPath } from '../pipeline/config.ts';
import { DEMO_SOURCE } from '../pipeline/config-defaults.ts';
import { loadFeatureRecords } from '../records/load.ts';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureRecord } from '../records/types.ts';
import { UsageError } from './errors.ts';

export async function selectFeatures(
  records: string | undefined,
  options: { feature?: string; model?: string; limit?: number },
): Promise<FeatureRecord[]> {
  const source = !records || records === DEMO_SOURCE ? demoRecordsPath : records;
  const all = await loadFeatureRecords(source, options.model ? { model: options.model } : {});
  if (!options.feature) return options.limit ? all.slice(0, options.limit) : all;
  const found = all.find((feature) => featureKey(feature.id) === options.feature);
  if (!found) {
    const examples = all
      .slice(0, 3)
      .map((feature) => featureKey(feature.id))
      .join(', ');
    throw new UsageError(`no feature "${options.feature}" in ${source}; keys look like: ${examples}`);
  }
  return [found];
}
