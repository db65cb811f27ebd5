/**
 * @module report/export — a run's explanations and scores in exchange formats:
 * - `jsonl`: one JSON object a line per feature the run finished (scored, skipped or failed): feature id (as in
 *   the records format), status, explanation with explainer and prompt version, simulation (simulator, mode,
 *   prompt), every score with `value` (null with `reason` when undefined), `nTokens`, `nMissing`, and stats.
 *   Scores of a scorer with its own prompt carry its `promptVersion`; a feature a judge scored has `judgements`:
 *   per scorer the judge, its prompt version and every example it saw with the truth and its answer; a best-of-n
 *   feature has `candidates`: every candidate explanation with its kind, parent, calibration and held-out scores and
 *   `selected`.
 * - `csv`: the same, one row per feature, one column per score kind (empty when null) plus `<kind>.reason`, and
 *   `<kind>.prompt_version` for the kinds of a scorer with its own prompt.
 * - `neuronpedia`: ONE JSON array, one object per feature, with Neuronpedia's field names (`modelId`, `layer`,
 *   `index` as a string, `explanations[].description`, `explanationModelName`, `typeName`, scores (detection's and
 *   fuzzing's balanced accuracy under its names `eleuther_recall` and `eleuther_fuzz`, scored by the judge), and top
 *   `activations` as `{tokens, values, maxValue, maxValueTokenIndex}`), plus an `autointerp` object with what
 *   Neuronpedia has no field for. "Neuronpedia-style": shaped after its exports, not validated by its upload API.
 * Each format is also made as a sequence of chunks (`exportChunks`), read a page of features at a time, so a run of a
 * million features is written with bounded memory, never held as one string (V8's limit is 512 MiB).
 */
import type { SqliteDatabase } from '../store/database.ts';
import {
  featureIdsOfRunInOrder,
  featureResultsOfRun,
  judgementsOfRun,
  promptedScoreKindsOfRun,
  runConfig,
  runPromptVersions,
  scoreKindsOfRun,
  scoreRecordsOfRun,
  storedFeatureKey,
  type FeatureResultRow,
  type StoredJudgement,
} from '../store/queries.ts';
import { candidatesOfRun } from '../store/candidate-queries.ts';
import type { RunRow, StoredCandidate } from '../store/result-store.ts';
import { csvCell, type CsvValue } from './csv.ts';
import { NEURONPEDIA_SCORE_TYPES, scoreFamily } from './score-families.ts';

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
  /** `promptVersion` only on scores of a scorer with its own prompt (detection.v1). */
  scores: Record<
    string,
    { value: number | null; reason: string | null; nTokens: number; nMissing: number; promptVersion?: string }
  >;
  stats: { density: number | null; maxActivation: number | null; mean: number | null; variance: number | null };
  /** Per judged scorer, the judge, its prompt and every example with the truth and the answer; absent when none. */
  judgements?: Record<string, { judge: string; promptVersion: string; examples: StoredJudgement[] }>;
  /** The best-of-n candidates (`run --explanations N`, `--revise K`) in the order made; absent for one-shot. */
  candidates?: StoredCandidate[];
}

/** Features read per query when an export streams. */
export const EXPORT_PAGE_SIZE = 1000;

/** The run's finished features in export order, a page of rows at a time. */
function* featureResultPages(db: SqliteDatabase, runId: number, pageSize: number): Generator<FeatureResultRow[]> {
  const featureIds = featureIdsOfRunInOrder(db, runId);
  for (let start = 0; start < featureIds.length; start += pageSize)
    yield featureResultsOfRun(db, runId, featureIds.slice(start, start + pageSize));
}

export function exportedFeatures(db: SqliteDatabase, run: RunRow): ExportedFeature[] {
  return [...exportedFeaturePages(db, run, EXPORT_PAGE_SIZE)].flat();
}

/** `exportedFeatures`, a page at a time. */
export function* exportedFeaturePages(
  db: SqliteDatabase,
  run: RunRow,
  pageSize = EXPORT_PAGE_SIZE,
): Generator<ExportedFeature[]> {
  const judgements = judgementsOfRun(db, run.id);
  const candidates = candidatesOfRun(db, run.id);
  for (const page of featureResultPages(db, run.id, pageSize))
    yield page.map((row) => exportedFeature(run, row, judgements, candidates));
}

function exportedFeature(
  run: RunRow,
  row: FeatureResultRow,
  judgements: ReturnType<typeof judgementsOfRun>,
  candidates: ReturnType<typeof candidatesOfRun>,
): ExportedFeature {
  return {
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
    scores: Object.fromEntries(
      row.scores.map(({ kind, promptVersion, ...score }) => [
        kind,
        promptVersion === null ? score : { ...score, promptVersion },
      ]),
    ),
    stats: { density: row.density, maxActivation: row.maxActivation, mean: row.mean, variance: row.variance },
    ...(judgements.has(row.featureId)
      ? {
          judgements: Object.fromEntries(
            judgements
              .get(row.featureId)!
              .map(({ scorer, ...set }) => [
                scorer,
                { judge: set.judge, promptVersion: set.promptVersion, examples: set.examples },
              ]),
          ),
        }
      : {}),
    ...(candidates.has(row.featureId) ? { candidates: candidates.get(row.featureId)! } : {}),
  };
}

export function exportJsonl(db: SqliteDatabase, run: RunRow): string {
  return [...exportJsonlChunks(db, run)].join('');
}

/** JSONL, a chunk (a page of lines) at a time. */
export function* exportJsonlChunks(db: SqliteDatabase, run: RunRow, pageSize = EXPORT_PAGE_SIZE): Generator<string> {
  for (const page of exportedFeaturePages(db, run, pageSize))
    yield page.map((feature) => `${JSON.stringify(feature)}\n`).join('');
}

export function exportCsv(db: SqliteDatabase, run: RunRow): string {
  return [...exportCsvChunks(db, run)].join('');
}

/** CSV (`toCsv`'s bytes), a chunk at a time: the header line, then a page of rows per chunk. */
export function* exportCsvChunks(db: SqliteDatabase, run: RunRow, pageSize = EXPORT_PAGE_SIZE): Generator<string> {
  const kinds = scoreKindsOfRun(db, run.id);
  // a `<kind>.prompt_version` column for the kinds a scorer with its own prompt produced
  const prompted = new Set(promptedScoreKindsOfRun(db, run.id));
  const kindColumns = (kind: string) =>
    prompted.has(kind) ? [kind, `${kind}.reason`, `${kind}.prompt_version`] : [kind, `${kind}.reason`];
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
    ...kinds.flatMap(kindColumns),
  ];
  const line = (cells: readonly CsvValue[]) => `${cells.map(csvCell).join(',')}\r\n`;
  yield line(header);
  for (const page of exportedFeaturePages(db, run, pageSize)) yield page.map((f) => line(csvRow(f))).join('');

  function csvRow(f: ExportedFeature): CsvValue[] {
    return [
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
      ...kinds.flatMap((kind) => {
        const score = f.scores[kind];
        return prompted.has(kind) ? [score?.value, score?.reason, score?.promptVersion] : [score?.value, score?.reason];
      }),
    ];
  }
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
  return [...neuronpediaFeaturePages(db, run, options)].flat();
}

/** `neuronpediaFeatures`, a page at a time (each page's activation records read with it). */
export function* neuronpediaFeaturePages(
  db: SqliteDatabase,
  run: RunRow,
  options: { activationRecords?: number; pageSize?: number } = {},
): Generator<NeuronpediaFeature[]> {
  const promptVersion = runPromptVersions(run).explain ?? 'unknown';
  const judgements = judgementsOfRun(db, run.id);
  const configuredJudge = runConfig(run).judge;
  for (const page of featureResultPages(db, run.id, options.pageSize ?? EXPORT_PAGE_SIZE)) {
    const records = scoreRecordsOfRun(db, run.id, {
      perSource: options.activationRecords ?? 5,
      sources: ['top'],
      featureIds: page.map((row) => row.featureId),
    });
    yield page.map((row) => {
      const defined = row.scores.filter((s): s is typeof s & { value: number } => s.value !== null);
      // who scored: the judge of a judged scorer (its judgements row, else the run's --judge), else the simulator
      const scoreModel = (kind: string) => {
        const family = scoreFamily(kind);
        const judged = judgements.get(row.featureId)?.find((set) => set.scorer === family);
        if (judged?.judge) return judged.judge;
        if (row.scores.some((s) => s.kind === kind && s.promptVersion !== null) && typeof configuredJudge === 'string')
          return configuredJudge;
        return row.simulator;
      };
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
                    explanationScoreTypeName: NEURONPEDIA_SCORE_TYPES[s.kind] ?? s.kind,
                    explanationScoreModelName: scoreModel(s.kind),
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
}

export function exportNeuronpedia(
  db: SqliteDatabase,
  run: RunRow,
  options: { activationRecords?: number } = {},
): string {
  return [...exportNeuronpediaChunks(db, run, options)].join('');
}

/**
 * The Neuronpedia JSON array, a chunk at a time: the bytes of `JSON.stringify(features, null, 1)` and a newline, each
 * element's lines indented one more space as the array's members are.
 */
export function* exportNeuronpediaChunks(
  db: SqliteDatabase,
  run: RunRow,
  options: { activationRecords?: number; pageSize?: number } = {},
): Generator<string> {
  let first = true;
  for (const page of neuronpediaFeaturePages(db, run, options)) {
    if (page.length === 0) continue;
    const members = page.map((feature) => ` ${JSON.stringify(feature, null, 1).replaceAll('\n', '\n ')}`);
    yield `${first ? '[\n' : ',\n'}${members.join(',\n')}`;
    first = false;
  }
  yield first ? '[]\n' : '\n]\n';
}

export function exportRun(
  db: SqliteDatabase,
  run: RunRow,
  format: ExportFormat,
  options: { activationRecords?: number } = {},
): string {
  return [...exportChunks(db, run, format, options)].join('');
}

/**
 * The export in `format` as a sequence of chunks (a page of `pageSize` features each, default `EXPORT_PAGE_SIZE`)
 * whose concatenation is `exportRun`'s bytes: write them as they come for bounded memory.
 */
export function exportChunks(
  db: SqliteDatabase,
  run: RunRow,
  format: ExportFormat,
  options: { activationRecords?: number; pageSize?: number } = {},
): Generator<string> {
  switch (format) {
    case 'jsonl':
      return exportJsonlChunks(db, run, options.pageSize);
    case 'csv':
      return exportCsvChunks(db, run, options.pageSize);
    case 'neuronpedia':
      return exportNeuronpediaChunks(db, run, options);
  }
}
