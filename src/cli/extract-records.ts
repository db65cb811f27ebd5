/**
 * @module cli/extract-records — the records step of `autointerp extract --records-out`: the features of a cache (its
 * neurons, or with `--sae` an SAE's latents) built a column chunk at a time and written to the JSONL as they come, so
 * memory holds one chunk's records, not every feature's; the Brown POS reference labels beside them.
 */
import { writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { featureKey } from '../records/feature-key.ts';
import type { FeatureId } from '../records/types.ts';
import type { ActivationCacheHeader } from '../subject/activation-cache.ts';
import type { FeatureColumnSource } from '../subject/records-from-cache.ts';
import type { ReferenceLabel } from '../subject/tag-associations.ts';
import { UsageError } from './errors.ts';

/** An SAE's latents as a feature source, and how to let it go. */
export interface SaeColumns {
  source: FeatureColumnSource;
  /** Latents (the width `--features` counts in). */
  width: number;
  dispose(): void;
}

/** Loads the SAE folder of `--sae` (SAELens or sparsify layout) as the feature source; it must read `hook`. */
export async function loadSaeColumns(folder: string, hook: string): Promise<SaeColumns> {
  const [{ loadSaeFolder }, { SparseAutoencoder }, { saeColumnSource }] = await Promise.all([
    import('../sae/formats.ts'),
    import('../sae/sae-model.ts'),
    import('../sae/sae-columns.ts'),
  ]);
  const loaded = loadSaeFolder(folder);
  for (const warning of loaded.warnings) process.stderr.write(`sae: ${warning}\n`);
  if (loaded.config.hookName !== hook && loaded.config.hookName !== 'unknown') {
    throw new UsageError(
      `--sae ${folder} reads ${loaded.config.hookName}, but --hook is ${hook}; give --hook ${loaded.config.hookName}`,
    );
  }
  const sae = SparseAutoencoder.fromWeights({ ...loaded.config, hookName: hook }, loaded.weights);
  return {
    source: saeColumnSource(sae, basename(resolve(folder))),
    width: sae.dSae,
    dispose: () => sae.dispose(),
  };
}

export interface ExtractRecordsOptions {
  cacheDir: string;
  header: ActivationCacheHeader;
  recordsOut: string;
  /** Default: beside recordsOut, `.labels.json`. */
  labelsOut?: string;
  features: number[] | 'all';
  /** The SAE's latents instead of the cache's neurons. */
  columns?: FeatureColumnSource;
}

function defaultLabelsPath(recordsOut: string): string {
  return `${recordsOut.replace(/\.jsonl$/i, '')}.labels.json`;
}

/** Builds and writes the records (and, for a tagged corpus, the reference labels); reports on stderr. */
export async function writeExtractRecords(options: ExtractRecordsOptions): Promise<void> {
  const [{ recordChunksFromCache }, { writeFeatureRecordsJsonl }] = await Promise.all([
    import('../subject/records-from-cache.ts'),
    import('../records/jsonl.ts'),
  ]);
  const { cacheDir, header, recordsOut } = options;
  const chunks = recordChunksFromCache(cacheDir, {
    features: options.features,
    ...(options.columns ? { columns: options.columns } : {}),
  });
  const labels: ({ key: string; feature: FeatureId | undefined } & ReferenceLabel)[] = [];
  let written = 0;
  let summary: { tokens: number; minLabelCorrelation: number } | null = null;
  await writeFeatureRecordsJsonl(
    recordsOut,
    (function* () {
      for (;;) {
        const next = chunks.next();
        if (next.done) {
          summary = next.value;
          return;
        }
        const ids = new Map(next.value.records.map((record) => [featureKey(record.id), record.id]));
        for (const [key, label] of next.value.referenceLabels) labels.push({ key, feature: ids.get(key), ...label });
        written += next.value.records.length;
        yield* next.value.records;
      }
    })(),
  );
  const { tokens, minLabelCorrelation } = summary!;
  const what = options.columns ? `latents of ${options.columns.sae}` : 'features';
  process.stderr.write(
    `records: ${written} ${what} written to ${recordsOut} (from ${tokens} tokens; the inserted <|endoftext|> left out)\n`,
  );
  if (!header.tagVocabulary) return;
  const labelsPath = options.labelsOut ?? defaultLabelsPath(recordsOut);
  const file = {
    source: { cache: cacheDir, model: header.model, hook: header.hook, corpus: header.corpus.path, tokens },
    measure: "point-biserial r between the activation and the indicator of the token's Brown base tag",
    threshold: minLabelCorrelation,
    labels,
  };
  writeFileSync(labelsPath, `${JSON.stringify(file, null, 2)}\n`);
  process.stderr.write(
    `reference labels: ${labels.length} of ${written} ${what} track a Brown tag with r ≥ ${minLabelCorrelation} → ${labelsPath}\n`,
  );
}
