/**
 * @module pipeline/record-saes — a run over SAE features records, in the `saes` and `sae_metrics` tables, each SAE of
 * its features whose folder it knows (the embedded data/sae/*, or `--sae` folders; pipeline/feature-models), with
 * the metrics its folder's `metrics.json` holds: `{ name, <split>: { tokens, metrics: {l0, fvu, …},
 * logDensityHistogram? } }` (written by scripts/train-embedded-saes.ts and `autointerp train-sae` / `sae-metrics`).
 * Only the small cfg.json and metrics.json are read, and the weights file is hashed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FeatureRecord } from '../records/types.ts';
import type { SqliteDatabase } from '../store/database.ts';
import { SaeStore } from '../store/sae-store.ts';

/** One evaluation split of metrics.json. */
export interface SaeSplitMetrics {
  tokens: number;
  metrics: Record<string, number | null>;
  logDensityHistogram?: unknown;
}

export const saeMetricsFile = 'metrics.json';

const isSplit = (value: unknown): value is SaeSplitMetrics =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as SaeSplitMetrics).tokens === 'number' &&
  typeof (value as SaeSplitMetrics).metrics === 'object';

/** Records the known SAEs of `features`; returns the names recorded. A folder that cannot be read is skipped. */
export function recordRunSaes(
  db: SqliteDatabase,
  features: readonly FeatureRecord[],
  folders: ReadonlyMap<string, string>,
): string[] {
  const names = new Set(
    features.map((feature) => feature.id.sae).filter((name): name is string => name !== undefined && folders.has(name)),
  );
  const store = new SaeStore(db);
  const recorded: string[] = [];
  for (const name of names) {
    const folder = folders.get(name)!;
    let cfg: Record<string, unknown>;
    try {
      cfg = JSON.parse(readFileSync(join(folder, 'cfg.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      continue;
    }
    const metadata = (cfg.metadata ?? {}) as Record<string, unknown>;
    const weights = join(folder, 'sae_weights.safetensors');
    const trainingFile = join(folder, 'training.json');
    const id = store.recordSae({
      name,
      model: String(metadata.model_name ?? cfg.model_name ?? 'unknown'),
      hook: String(metadata.hook_name ?? cfg.hook_name ?? 'unknown'),
      architecture: String(cfg.architecture ?? 'standard'),
      dIn: Number(cfg.d_in),
      dSae: Number(cfg.d_sae),
      k: typeof cfg.k === 'number' ? cfg.k : null,
      l1Coefficient: typeof cfg.l1_coefficient === 'number' ? cfg.l1_coefficient : null,
      path: folder,
      weightsDigest: existsSync(weights)
        ? `sha256:${createHash('sha256').update(readFileSync(weights)).digest('hex')}`
        : null,
      training: existsSync(trainingFile) ? JSON.parse(readFileSync(trainingFile, 'utf8')) : undefined,
    });
    const metricsFile = join(folder, saeMetricsFile);
    if (existsSync(metricsFile)) {
      const metrics = JSON.parse(readFileSync(metricsFile, 'utf8')) as Record<string, unknown>;
      for (const [split, value] of Object.entries(metrics)) {
        if (isSplit(value)) store.recordMetrics(id, split, value.tokens, value.metrics, value.logDensityHistogram);
      }
    }
    recorded.push(name);
  }
  return recorded;
}
