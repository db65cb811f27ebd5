/**
 * @module store/queries — read-only queries the reports need (leaderboards, compare / regress, the HTML report,
 * exports): runs by id, name or tag, per-feature scores of a run, feature statuses, score records with their
 * simulations, the judges' answers of judged scorers. Nothing here writes.
 */
import type { SqliteDatabase } from './database.ts';
import { decodeFloat32Column } from './float32-column.ts';
import type { RunRow } from './result-store.ts';

/** The identity of a feature as stored (`features` row), used to pair features across runs. */
export interface StoredFeatureId {
  featureId: number;
  model: string;
  layer: string;
  kind: string;
  index: number;
  /** '' for neurons and for SAE features with no SAE name. */
  sae: string;
}

/** `model/layer/kind/index[@sae]`, as `featureKey` of records/feature-key writes it. */
export const storedFeatureKey = (feature: Omit<StoredFeatureId, 'featureId'>): string =>
  `${feature.model}/${feature.layer}/${feature.kind}/${feature.index}${feature.sae ? `@${feature.sae}` : ''}`;

/** Natural order for layers: numbers numerically, then hook names alphabetically (numbers inside them numerically). */
export const compareLayers = (a: string, b: string): number =>
  /^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b, 'en', { numeric: true });

/** Tags of a run (the JSON array in `runs.tags`). */
export function runTags(run: RunRow): string[] {
  try {
    const tags = JSON.parse(run.tags ?? '[]') as unknown;
    return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** Prompt versions of a run (`runs.prompt_versions`). */
export function runPromptVersions(run: RunRow): { explain?: string; simulate?: string } {
  try {
    return JSON.parse(run.prompt_versions) as { explain?: string; simulate?: string };
  } catch {
    return {};
  }
}

/** What reports say about a run: who explained and simulated, with which prompts, and how it ended. */
export interface RunIdentity {
  id: number;
  name: string;
  status: string;
  explainer: string;
  simulator: string;
  baseline: boolean;
  promptVersions: { explain?: string; simulate?: string };
}

export function runIdentity(run: RunRow): RunIdentity {
  return {
    id: run.id,
    name: run.name,
    status: run.status,
    explainer: run.explainer,
    simulator: run.simulator,
    baseline: run.is_baseline === 1,
    promptVersions: runPromptVersions(run),
  };
}

/** The stored config of a run, as a plain object ({} when unreadable). */
export function runConfig(run: RunRow): Record<string, unknown> {
  try {
    const config = JSON.parse(run.config) as unknown;
    return config && typeof config === 'object' ? (config as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function listRuns(db: SqliteDatabase): RunRow[] {
  return db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[];
}

/**
 * A run from a reference: a numeric id, `tag:NAME` (the newest run with that tag), a run name (the newest with
 * that name) or `latest` (the newest run, unless a run is named "latest").
 */
export function resolveRun(db: SqliteDatabase, reference: string): RunRow | undefined {
  if (/^\d+$/.test(reference))
    return db.prepare('SELECT * FROM runs WHERE id = ?').get(Number(reference)) as RunRow | undefined;
  if (reference.startsWith('tag:')) {
    const tag = reference.slice(4);
    return db
      .prepare(
        'SELECT r.* FROM runs r WHERE EXISTS (SELECT 1 FROM json_each(r.tags) t WHERE t.value = ?) ORDER BY r.id DESC LIMIT 1',
      )
      .get(tag) as RunRow | undefined;
  }
  const named = db.prepare('SELECT * FROM runs WHERE name = ? ORDER BY id DESC LIMIT 1').get(reference) as
    | RunRow
    | undefined;
  if (named || reference !== 'latest') return named;
  return db.prepare('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get() as RunRow | undefined;
}

/**
 * Score kinds stored for a run, sorted: one seek in the index scores_by_run_kind_value per kind (from one kind to the
 * next), not a read of every score of the run.
 */
export function scoreKindsOfRun(db: SqliteDatabase, runId: number): string[] {
  const first = db.prepare('SELECT MIN(kind) FROM scores WHERE run_id = ?').pluck();
  const next = db.prepare('SELECT MIN(kind) FROM scores WHERE run_id = ? AND kind > ?').pluck();
  const kinds: string[] = [];
  for (let kind = first.get(runId) as string | null; kind !== null; kind = next.get(runId, kind) as string | null)
    kinds.push(kind);
  return kinds;
}

/** How simulations were made, as leaderboards show it: the mode, and the records per call unless all (null). */
export const simulationProtocolLabel = (mode: string, recordsPerCall: number | null | undefined): string =>
  recordsPerCall === null || recordsPerCall === undefined ? mode : `${mode} · ${recordsPerCall}/call`;

/**
 * Distinct simulation modes of a run's scores, with their protocol where it is not all records in one call
 * (simulationProtocolLabel; features that were not simulated are left out).
 */
export function simulationModesOfRun(db: SqliteDatabase, runId: number): string[] {
  return (
    db
      .prepare(
        // through the unique index (run_id, feature_id, kind): the rows in the order written, not the value index's
        // random order (store/score-streams.ts)
        `SELECT DISTINCT simulation_mode AS mode, records_per_call AS recordsPerCall
         FROM scores INDEXED BY sqlite_autoindex_scores_1
         WHERE run_id = ? AND simulation_mode IS NOT NULL ORDER BY mode, records_per_call`,
      )
      .all(runId) as { mode: string; recordsPerCall: number | null }[]
  ).map((r) => simulationProtocolLabel(r.mode, r.recordsPerCall));
}

/** Distinct simulators named in a run's simulations (normally only the run's simulator). */
export function simulatorsOfRun(db: SqliteDatabase, runId: number): string[] {
  return (
    db
      .prepare(
        'SELECT DISTINCT s.simulator FROM simulations s JOIN explanations e ON e.id = s.explanation_id WHERE e.run_id = ? ORDER BY s.simulator',
      )
      .all(runId) as { simulator: string }[]
  ).map((r) => r.simulator);
}

/** One feature's score of one kind in a run, with what produced it. */
export interface FeatureScoreRow extends StoredFeatureId {
  value: number | null;
  reason: string | null;
  simulationMode: string | null;
  /** The simulation protocol: records per call (null: all of a feature's records in one call, or not simulated). */
  recordsPerCall: number | null;
  nTokens: number;
  explanation: string | null;
}

/**
 * Every score of `scoreKind` that a run stored, one row per feature, in feature id order. `explanations: false`
 * leaves `explanation` null and skips reading the text (a leaderboard over 10^6 features needs only its top few:
 * `scoreExplanationsOfFeatures`).
 */
export function featureScoresOfRun(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
  options: { explanations?: boolean } = {},
): FeatureScoreRow[] {
  const explanations = options.explanations ?? true;
  // in feature id order through the (run_id, feature_id, kind) index: the rows are read in the order they were
  // stored, 4× faster at 10^6 features than in value order through scores_by_run_kind_value; read as arrays and made
  // objects here, half the time better-sqlite3 takes to make them
  const rows = db
    .prepare(
      `SELECT f.id, f.model, f.layer, f.kind, f.idx, f.sae, s.value, s.reason, s.simulation_mode, s.records_per_call,
              s.n_tokens, ${explanations ? 'e.text' : 'NULL'}
       FROM scores s JOIN features f ON f.id = s.feature_id
       ${explanations ? 'LEFT JOIN explanations e ON e.id = s.explanation_id' : ''}
       WHERE s.run_id = ? AND s.kind = ?
       ORDER BY s.feature_id`,
    )
    .raw(true)
    .all(runId, scoreKind) as [
    number,
    string,
    string,
    string,
    number,
    string,
    number | null,
    string | null,
    string | null,
    number | null,
    number,
    string | null,
  ][];
  return rows.map(
    ([
      featureId,
      model,
      layer,
      kind,
      index,
      sae,
      value,
      reason,
      simulationMode,
      recordsPerCall,
      nTokens,
      explanation,
    ]) => ({
      featureId,
      model,
      layer,
      kind,
      index,
      sae,
      value,
      reason,
      simulationMode,
      recordsPerCall,
      nTokens,
      explanation,
    }),
  );
}

/** The explanation each of `featureIds`' `scoreKind` score was made from, by feature id (none: not in the map). */
export function scoreExplanationsOfFeatures(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
  featureIds: readonly number[],
): Map<number, string> {
  const rows = db
    .prepare(
      `SELECT s.feature_id AS featureId, e.text FROM scores s JOIN explanations e ON e.id = s.explanation_id
       WHERE s.run_id = ? AND s.kind = ? AND s.feature_id IN (SELECT value FROM json_each(?))`,
    )
    .all(runId, scoreKind, JSON.stringify(featureIds)) as { featureId: number; text: string }[];
  return new Map(rows.map((row) => [row.featureId, row.text]));
}

/** The defined values of `scoreKind` a run stored, by feature id (read from the covering index alone). */
export function scoreValuesOfRun(db: SqliteDatabase, runId: number, scoreKind: string): Map<number, number> {
  const rows = db
    .prepare('SELECT feature_id, value FROM scores WHERE run_id = ? AND kind = ? AND value IS NOT NULL')
    .raw(true)
    .all(runId, scoreKind) as [number, number][];
  return new Map(rows);
}

/** One stored feature by id (`features` row), or undefined. */
export function storedFeature(db: SqliteDatabase, featureId: number): StoredFeatureId | undefined {
  return db
    .prepare('SELECT id AS featureId, model, layer, kind, idx AS "index", sae FROM features WHERE id = ?')
    .get(featureId) as StoredFeatureId | undefined;
}

/** Failed features of a run, counted per (model, layer, kind, SAE). */
export interface FailedFeatureCount {
  model: string;
  layer: string;
  kind: string;
  sae: string;
  n: number;
}

export function failedFeatureCountsOfRun(db: SqliteDatabase, runId: number): FailedFeatureCount[] {
  return db
    .prepare(
      `SELECT f.model, f.layer, f.kind, f.sae, COUNT(*) AS n FROM run_features r JOIN features f ON f.id = r.feature_id
         WHERE r.run_id = ? AND r.status = 'failed' GROUP BY f.model, f.layer, f.kind, f.sae`,
    )
    .all(runId) as FailedFeatureCount[];
}

/** A run's finished unit of work for one feature (`run_features`). */
export interface FeatureStatusRow extends StoredFeatureId {
  status: 'scored' | 'skipped' | 'failed';
  stage: string | null;
  reason: string | null;
}

export function featureStatusesOfRun(db: SqliteDatabase, runId: number): FeatureStatusRow[] {
  return db
    .prepare(
      `SELECT f.id AS featureId, f.model, f.layer, f.kind, f.idx AS "index", f.sae, r.status, r.stage, r.reason
       FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ? ORDER BY f.id`,
    )
    .all(runId) as FeatureStatusRow[];
}

/** Everything stored about one feature in one run except its records: what exports and the report show. */
export interface FeatureResultRow extends StoredFeatureId {
  status: 'scored' | 'skipped' | 'failed';
  stage: string | null;
  reason: string | null;
  maxActivation: number | null;
  density: number | null;
  mean: number | null;
  variance: number | null;
  explanation: string | null;
  explainer: string | null;
  explainPromptVersion: string | null;
  isBaseline: boolean | null;
  simulator: string | null;
  simulationMode: string | null;
  simulatePromptVersion: string | null;
  scores: {
    kind: string;
    value: number | null;
    reason: string | null;
    nTokens: number;
    nMissing: number;
    /** The version of the scorer's own prompt (detection.v1); null for scores read from the simulation. */
    promptVersion: string | null;
  }[];
}

/** One row per feature the run finished (scored, skipped or failed), ordered by model, layer, kind, index. */
/**
 * The ids of the run's features (scored, skipped or failed) in the order `featureResultsOfRun` returns them (model,
 * layer, kind, SAE, index): what an export pages through, about 100 bytes a feature.
 */
export function featureIdsOfRunInOrder(db: SqliteDatabase, runId: number): number[] {
  const keys = db
    .prepare(
      `SELECT f.id AS featureId, f.model, f.layer, f.kind, f.idx AS "index", f.sae
       FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ?`,
    )
    .all(runId) as { featureId: number; model: string; layer: string; kind: string; index: number; sae: string }[];
  return keys.sort(compareFeatureResults).map((key) => key.featureId);
}

const compareFeatureResults = (
  a: { model: string; layer: string; kind: string; sae: string; index: number },
  b: { model: string; layer: string; kind: string; sae: string; index: number },
) =>
  a.model.localeCompare(b.model) ||
  compareLayers(a.layer, b.layer) ||
  a.kind.localeCompare(b.kind) ||
  a.sae.localeCompare(b.sae) ||
  a.index - b.index;

/** The run's finished features with explanation, simulation and scores; only those of `featureIds` when given. */
export function featureResultsOfRun(
  db: SqliteDatabase,
  runId: number,
  featureIds?: readonly number[],
): FeatureResultRow[] {
  // one page of features: `featureIds` as a JSON array, read through json_each
  const onlyPage = (column: string) =>
    featureIds === undefined ? '' : ` AND ${column} IN (SELECT value FROM json_each(@page))`;
  const parameters = { runId, ...(featureIds === undefined ? {} : { page: JSON.stringify(featureIds) }) };
  const rows = db
    .prepare(
      `SELECT f.id AS featureId, f.model, f.layer, f.kind, f.idx AS "index", f.sae, r.status, r.stage, r.reason,
              f.max_activation AS maxActivation, f.density, f.mean, f.variance,
              e.id AS explanationId, e.text AS explanation, e.explainer, e.prompt_version AS explainPromptVersion, e.is_baseline AS isBaseline
       FROM run_features r JOIN features f ON f.id = r.feature_id
       LEFT JOIN explanations e ON e.run_id = r.run_id AND e.feature_id = r.feature_id
       WHERE r.run_id = @runId${onlyPage('r.feature_id')}`,
    )
    .all(parameters) as (Omit<
    FeatureResultRow,
    'isBaseline' | 'scores' | 'simulator' | 'simulationMode' | 'simulatePromptVersion'
  > & {
    explanationId: number | null;
    isBaseline: number | null;
  })[];
  const simulations = new Map(
    (
      db
        .prepare(
          `SELECT s.explanation_id AS explanationId, MIN(s.simulator) AS simulator, MIN(s.mode) AS mode, MIN(s.prompt_version) AS promptVersion
           FROM simulations s JOIN explanations e ON e.id = s.explanation_id WHERE e.run_id = @runId${onlyPage('e.feature_id')} GROUP BY s.explanation_id`,
        )
        .all(parameters) as { explanationId: number; simulator: string; mode: string; promptVersion: string }[]
    ).map((s) => [s.explanationId, s]),
  );
  // each feature's scores in kind order; by feature first, so a page is read through the (run_id, feature_id, kind)
  // index, not by scanning the run's scores
  const scores = new Map<number, FeatureResultRow['scores']>();
  for (const score of db
    .prepare(
      `SELECT feature_id AS featureId, kind, value, reason, n_tokens AS nTokens, n_missing AS nMissing, prompt_version AS promptVersion
       FROM scores WHERE run_id = @runId${onlyPage('feature_id')} ORDER BY feature_id, kind`,
    )
    .all(parameters) as ({ featureId: number } & FeatureResultRow['scores'][number])[]) {
    const { featureId, ...rest } = score;
    let list = scores.get(featureId);
    if (!list) scores.set(featureId, (list = []));
    list.push(rest);
  }
  const results = rows.map(({ explanationId, isBaseline, ...row }): FeatureResultRow => {
    const simulation = explanationId === null ? undefined : simulations.get(explanationId);
    return {
      ...row,
      isBaseline: isBaseline === null ? null : isBaseline === 1,
      simulator: simulation?.simulator ?? null,
      simulationMode: simulation?.mode ?? null,
      simulatePromptVersion: simulation?.promptVersion ?? null,
      scores: scores.get(row.featureId) ?? [],
    };
  });
  return results.sort(compareFeatureResults);
}

/** Score kinds of the run stored with a scorer's own prompt version (detection.v1, …): CSV gives them a column. */
export function promptedScoreKindsOfRun(db: SqliteDatabase, runId: number): string[] {
  return (
    db
      .prepare(
        `SELECT DISTINCT s.kind FROM scores s JOIN run_features r ON r.run_id = s.run_id AND r.feature_id = s.feature_id
         WHERE s.run_id = ? AND s.prompt_version IS NOT NULL ORDER BY s.kind`,
      )
      .all(runId) as { kind: string }[]
  ).map((row) => row.kind);
}

/** A score record of a feature with the simulator's expected values (null where nothing was simulated). */
export interface ScoreRecordRow {
  featureId: number;
  source: string;
  position: number;
  tokens: string[];
  activations: number[];
  /** Expected values on the normalized 0–10 scale; null entries are missing predictions. */
  expected: (number | null)[] | null;
}

/**
 * The first `perSource` held-out score records of each feature of a run from each of the `sources` (default top
 * and random), with their simulations, grouped by feature id. Simulated records come first (records an earlier,
 * failed attempt may have left behind have no simulation), then by position.
 */
export function scoreRecordsOfRun(
  db: SqliteDatabase,
  runId: number,
  options: { perSource: number; sources?: readonly string[]; featureIds?: readonly number[] },
): Map<number, ScoreRecordRow[]> {
  const sources = options.sources ?? ['top', 'random'];
  // one page of features (an export streaming): `featureIds` as a JSON array, read through json_each
  const page =
    options.featureIds === undefined ? '' : ' AND r.feature_id IN (SELECT value FROM json_each(@featureIds))';
  const rows = db
    .prepare(
      `SELECT featureId, source, position, tokens, activations, expected FROM (
         SELECT r.feature_id AS featureId, r.source, r.position, w.tokens, w.activations, s.expected,
                ROW_NUMBER() OVER (PARTITION BY r.feature_id, r.source ORDER BY s.id IS NULL, r.position, r.id DESC) AS rank
         FROM records r
         JOIN record_windows w ON w.id = r.window_id
         LEFT JOIN explanations e ON e.run_id = r.run_id AND e.feature_id = r.feature_id
         LEFT JOIN simulations s ON s.explanation_id = e.id AND s.record_id = r.id
         WHERE r.run_id = @runId AND r.split = 'score' AND r.source IN (SELECT value FROM json_each(@sources))${page}
       ) WHERE rank <= @perSource ORDER BY featureId, source DESC, position`,
    )
    .all({
      runId,
      sources: JSON.stringify(sources),
      perSource: options.perSource,
      ...(options.featureIds === undefined ? {} : { featureIds: JSON.stringify(options.featureIds) }),
    }) as {
    featureId: number;
    source: string;
    position: number;
    tokens: string;
    activations: Buffer | string;
    expected: Buffer | string | null;
  }[];
  const byFeature = new Map<number, ScoreRecordRow[]>();
  for (const row of rows) {
    let list = byFeature.get(row.featureId);
    if (!list) byFeature.set(row.featureId, (list = []));
    list.push({
      featureId: row.featureId,
      source: row.source,
      position: row.position,
      tokens: JSON.parse(row.tokens) as string[],
      activations: decodeFloat32Column(row.activations) as number[], // never missing: records are validated finite
      expected: row.expected === null ? null : decodeFloat32Column(row.expected),
    });
  }
  return byFeature;
}

/** Distinct prompt versions of a run's scores of one kind (null ones left out): which scorer prompt measured it. */
export function scorePromptVersionsOfRun(db: SqliteDatabase, runId: number, scoreKind: string): string[] {
  return (
    db
      .prepare(
        `SELECT DISTINCT prompt_version AS version FROM scores INDEXED BY sqlite_autoindex_scores_1
         WHERE run_id = ? AND kind = ? AND prompt_version IS NOT NULL ORDER BY version`,
      )
      .all(runId, scoreKind) as { version: string }[]
  ).map((r) => r.version);
}

/** Distinct judges (`provider:model`) of one scorer's judgements in a run. */
export function judgesOfRun(db: SqliteDatabase, runId: number, scorer: string): string[] {
  return (
    db
      .prepare('SELECT DISTINCT judge FROM judgements WHERE run_id = ? AND scorer = ? ORDER BY judge')
      .all(runId, scorer) as { judge: string }[]
  ).map((r) => r.judge);
}

/**
 * One example a judge saw, as stored in `judgements.examples` (the shape of score/scorer.ts `Judgement`, which the
 * store does not import): tokens, highlighted positions, where the window came from, the truth and the answer.
 */
export interface StoredJudgement {
  tokens: string[];
  highlighted?: number[];
  source: string;
  truth: boolean;
  predicted: boolean | null;
  probability: number | null;
}

/** What one scorer's judge answered for one feature in one run (`judgements` row). */
export interface StoredJudgementSet {
  scorer: string;
  judge: string;
  promptVersion: string;
  examples: StoredJudgement[];
}

/** An example read from the JSON column, or null when it is not one (such entries are left out). */
function storedJudgement(value: unknown): StoredJudgement | null {
  if (value === null || typeof value !== 'object') return null;
  const entry = value as Record<string, unknown>;
  if (!Array.isArray(entry.tokens) || !entry.tokens.every((t) => typeof t === 'string')) return null;
  if (typeof entry.truth !== 'boolean') return null;
  const highlighted = Array.isArray(entry.highlighted)
    ? entry.highlighted.filter((i): i is number => Number.isInteger(i))
    : undefined;
  return {
    tokens: entry.tokens as string[],
    ...(highlighted ? { highlighted } : {}),
    source: typeof entry.source === 'string' ? entry.source : 'unknown',
    truth: entry.truth,
    predicted: typeof entry.predicted === 'boolean' ? entry.predicted : null,
    probability: typeof entry.probability === 'number' && Number.isFinite(entry.probability) ? entry.probability : null,
  };
}

/** Every judgement set of a run, grouped by feature id, each feature's sets in scorer order. */
export function judgementsOfRun(db: SqliteDatabase, runId: number): Map<number, StoredJudgementSet[]> {
  const rows = db
    .prepare(
      `SELECT feature_id AS featureId, scorer, judge, prompt_version AS promptVersion, examples
       FROM judgements WHERE run_id = ? ORDER BY feature_id, scorer`,
    )
    .all(runId) as { featureId: number; scorer: string; judge: string; promptVersion: string; examples: string }[];
  const byFeature = new Map<number, StoredJudgementSet[]>();
  for (const row of rows) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(row.examples);
    } catch {
      parsed = [];
    }
    const examples = (Array.isArray(parsed) ? parsed : [])
      .map(storedJudgement)
      .filter((e): e is StoredJudgement => e !== null);
    let list = byFeature.get(row.featureId);
    if (!list) byFeature.set(row.featureId, (list = []));
    list.push({ scorer: row.scorer, judge: row.judge, promptVersion: row.promptVersion, examples });
  }
  return byFeature;
}
