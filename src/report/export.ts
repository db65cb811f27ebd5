/**
 * @module report/export — a run's explanations and scores in exchange formats:
 * - `jsonl`: one JSON object a line per feature the run finished (scored, skipped or failed): feature id (as in
 *   the records format), status, explanation with explainer and prompt version, simulation (simulator, mode,
 *   prompt), every score with `value` (null with `reason` when undefined), `nTokens`, `nMissing`, and stats.
 * - `csv`: the same, one row per feature, one column per score kind (empty when null) plus `<kind>.reason`.
 * - `neuronpedia`: ONE JSON array, one object per feature, with Neuronpedia's field names (`modelId`, `layer`,
 *   `index` as a string, `explanations[].description`, `explanationModelName`, `typeName`, scores, and top
 *   `activations` as `{tokens, values, maxValue, maxValueTokenIndex}`), plus an `autointerp` object with what
 *   Neuronpedia has no field for. "Neuronpedia-style": shaped after its exports, not validated by its upload API.
 */
import type { SqliteDatabase } from '../store/database.ts';
import {
  featureResultsOfRun,
  runPromptVersions,
  scoreKindsOfRun,
  scoreRecordsOfRun,
  storedFeatureKey,
  type FeatureResultRow,
} from '../store/queries.ts';
import type { RunRow } from '../store/result-store.ts';
import { toCsv, type CsvValue } from './csv.ts';

export type ExportFormat = 'jsonl' | 'csv' | 'neuronpedia';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['jsonl', 'csv', 'neuronpedia'];

/** Layer as the records format writes it: a number when it is one, else the hook name. */
const layerValue = (layer: string): number | string => (/^\d+$/.test(layer) ? Number(layer) : layer);

export interface ExportedFeature {
  run: { id: number; name: string };
  featureKey: string;
  feature: { model: string; layer: number | string; kind: string; index: number; sae?: string };
  status: FeatureResultRow['status'];
  stage: string | null;
  reason: string | null;
  explanation: {
    text: string;
    explainer: string | null;
    promptVersion: string | null;
    baseline: boolean | null;
  } | null;
  simulation: { simulator: string; mode: string | null; promptVersion: string | null } | null;
  scores: Record<string, { value: number | null; reason: string | null; nTokens: number; nMissing: number }>;
  stats: { density: number | null; maxActivation: number | null; mean: number | null; variance: number | null };
}

export function exportedFeatures(db: SqliteDatabase, run: RunRow): ExportedFeature[] {
  return featureResultsOfRun(db, run.id).map((row) => ({
    run: { id: run.id, name: run.name },
    featureKey: storedFeatureKey(row),
    feature: {
      model: row.model,
      layer: layerValue(row.layer),
      kind: row.kind,
      index: row.index,
      ...(row.sae ? { sae: row.sae } : {}),
    },
    status: row.status,
    stage: row.stage,
    reason: row.reason,
    explanation:
      row.explanation === null
        ? null
        : {
            text: row.explanation,
            explainer: row.explainer,
            promptVersion: row.explainPromptVersion,
            baseline: row.isBaseline,
          },
    simulation:
      row.simulator === null
        ? null
        : { simulator: row.simulator, mode: row.simulationMode, promptVersion: row.simulatePromptVersion },
    scores: Object.fromEntries(row.scores.map(({ kind, ...score }) => [kind, score])),
    stats: { density: row.density, maxActivation: row.maxActivation, mean: row.mean, variance: row.variance },
  }));
}

export function exportJsonl(db: SqliteDatabase, run: RunRow): string {
  return exportedFeatures(db, run)
    .map((feature) => `${JSON.stringify(feature)}\n`)
    .join('');
}

export function exportCsv(db: SqliteDatabase, run: RunRow): string {
  const kinds = scoreKindsOfRun(db, run.id);
  const header = [
    'run_id',
    'run_name',
    'feature_key',
    'model',
    'layer',
    'kind',
    'index',
    'sae',
    'status',
    'stage',
    'reason',
    'explanation',
    'explainer',
    'explain_prompt_version',
    'baseline',
    'simulator',
    'simulation_mode',
    'simulate_prompt_version',
    'density',
    'max_activation',
    ...kinds.flatMap((kind) => [kind, `${kind}.reason`]),
  ];
  const rows = exportedFeatures(db, run).map((f): CsvValue[] => [
    f.run.id,
    f.run.name,
    f.featureKey,
    f.feature.model,
    f.feature.layer,
    f.feature.kind,
    f.feature.index,
    f.feature.sae ?? '',
    f.status,
    f.stage,
    f.reason,
    f.explanation?.text,
    f.explanation?.explainer,
    f.explanation?.promptVersion,
    f.explanation?.baseline,
    f.simulation?.simulator,
    f.simulation?.mode,
    f.simulation?.promptVersion,
    f.stats.density,
    f.stats.maxActivation,
    ...kinds.flatMap((kind) => [f.scores[kind]?.value, f.scores[kind]?.reason]),
  ]);
  return toCsv(header, rows);
}

export interface NeuronpediaFeature {
  modelId: string;
  /** Neuronpedia's source id: the layer, with `-<sae>` when the feature belongs to a named SAE. */
  layer: string;
  index: string;
  explanations: {
    description: string;
    explanationModelName: string | null;
    typeName: string;
    scores: { explanationScoreTypeName: string; explanationScoreModelName: string | null; value: number }[];
  }[];
  activations: { tokens: string[]; values: number[]; maxValue: number; maxValueTokenIndex: number }[];
  autointerp: {
    run: { id: number; name: string };
    featureKey: string;
    kind: string;
    status: string;
    reason: string | null;
    simulationMode: string | null;
    density: number | null;
    maxActivation: number | null;
    /** Scores with no defined value, with the reason (Neuronpedia scores have no null). */
    nullScores: Record<string, string | null>;
  };
}

/** Neuronpedia-style objects; `activationRecords` top score records per feature (default 5). */
export function neuronpediaFeatures(
  db: SqliteDatabase,
  run: RunRow,
  options: { activationRecords?: number } = {},
): NeuronpediaFeature[] {
  const records = scoreRecordsOfRun(db, run.id, { perSource: options.activationRecords ?? 5, sources: ['top'] });
  const promptVersion = runPromptVersions(run).explain ?? 'unknown';
  return featureResultsOfRun(db, run.id).map((row) => {
    const defined = row.scores.filter((s): s is typeof s & { value: number } => s.value !== null);
    return {
      modelId: row.model,
      layer: row.sae ? `${row.layer}-${row.sae}` : row.layer,
      index: String(row.index),
      explanations:
        row.explanation === null
          ? []
          : [
              {
                description: row.explanation,
                explanationModelName: row.explainer,
                typeName: `autointerp:${row.explainPromptVersion ?? promptVersion}`,
                scores: defined.map((s) => ({
                  explanationScoreTypeName: s.kind,
                  explanationScoreModelName: row.simulator,
                  value: s.value,
                })),
              },
            ],
      activations: (records.get(row.featureId) ?? []).map((record) => {
        let maxValueTokenIndex = 0;
        record.activations.forEach((value, i) => {
          if (value > record.activations[maxValueTokenIndex]!) maxValueTokenIndex = i;
        });
        return {
          tokens: record.tokens,
          values: record.activations,
          maxValue: record.activations[maxValueTokenIndex] ?? 0,
          maxValueTokenIndex,
        };
      }),
      autointerp: {
        run: { id: run.id, name: run.name },
        featureKey: storedFeatureKey(row),
        kind: row.kind,
        status: row.status,
        reason: row.reason,
        simulationMode: row.simulationMode,
        density: row.density,
        maxActivation: row.maxActivation,
        nullScores: Object.fromEntries(row.scores.filter((s) => s.value === null).map((s) => [s.kind, s.reason])),
      },
    };
  });
}

export function exportNeuronpedia(
  db: SqliteDatabase,
  run: RunRow,
  options: { activationRecords?: number } = {},
): string {
  return `${JSON.stringify(neuronpediaFeatures(db, run, options), null, 1)}\n`;
}

export function exportRun(
  db: SqliteDatabase,
  run: RunRow,
  format: ExportFormat,
  options: { activationRecords?: number } = {},
): string {
  switch (format) {
    case 'jsonl':
      return exportJsonl(db, run);
    case 'csv':
      return exportCsv(db, run);
    case 'neuronpedia':
      return exportNeuronpedia(db, run, options);
  }
}
