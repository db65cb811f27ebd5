/**
 * @module store/viewer-queries — the read queries of the viewer (`autointerp serve`): feature search by explanation
 * text (FTS5, migration 10), layer, kind, SAE and score range, sorted by a score kind or by feature, one page at a
 * time by keyset pagination (the next page starts after the last row's sort key: a seek in an index, never an
 * OFFSET scan); everything stored about one feature; a run's summary (unit counts, LLM cost). Nothing here writes.
 */
import type { SqliteDatabase } from './database.ts';
import { decodeFloat32Column } from './float32-column.ts';
import type { StoredFeatureId } from './queries.ts';
import type { RunRow } from './result-store.ts';

/** Search order: by a score kind (undefined scores left out), or by feature id. */
export type SearchSort = 'score-desc' | 'score-asc' | 'feature';
export const SEARCH_SORTS: readonly SearchSort[] = ['score-desc', 'score-asc', 'feature'];

/** Where the previous page ended: its last row's sort key (the score only when sorting by a score). */
export interface SearchCursor {
  value: number | null;
  featureId: number;
}

export interface FeatureSearch {
  runId: number;
  /** The score kind shown beside each feature, sorted by (score sorts) and limited by minScore / maxScore. */
  scoreKind: string;
  sort: SearchSort;
  /** Words of the explanation (each a prefix; all must occur), as typed: no FTS5 syntax is interpreted. */
  text?: string;
  layer?: string;
  featureKind?: string;
  sae?: string;
  minScore?: number;
  maxScore?: number;
  after?: SearchCursor;
  limit: number;
}

export interface FeatureSearchRow extends StoredFeatureId {
  explanation: string | null;
  /** The `scoreKind` score; null where undefined or absent. */
  value: number | null;
}

export interface FeatureSearchPage {
  rows: FeatureSearchRow[];
  /** The cursor of the next page; null on the last page. */
  next: SearchCursor | null;
}

/**
 * The FTS5 query for words as a user typed them: each word (letters, digits, underscore) quoted, as a prefix, all
 * required; null when the text has no word. Quoting keeps FTS5 operators and stray quotes from being syntax.
 */
export function explanationMatchQuery(text: string): string | null {
  const words = text.match(/[\p{L}\p{N}_]+/gu);
  if (!words) return null;
  return words.map((word) => `"${word.replaceAll('"', '""')}"*`).join(' ');
}

/** Below this many matching explanations a text search starts from the matches rather than from the score order. */
const FEW_MATCHES = 20_000;

/** One page of features of a run matching `search`, in its order, and the cursor of the page after it. */
export function searchFeatures(
  db: SqliteDatabase,
  search: FeatureSearch,
  tuning: { fewMatches: number } = { fewMatches: FEW_MATCHES },
): FeatureSearchPage {
  const byScore = search.sort !== 'feature';
  const conditions: string[] = [];
  const parameters: unknown[] = [];
  let fewMatches = false;
  if (search.text !== undefined && search.text.trim() !== '') {
    const match = explanationMatchQuery(search.text);
    if (match === null) return { rows: [], next: null };
    conditions.push('e.id IN (SELECT rowid FROM explanations_fts WHERE explanations_fts MATCH ?)');
    parameters.push(match);
    fewMatches = countMatchesUpTo(db, match, tuning.fewMatches) < tuning.fewMatches;
  }
  for (const [column, value] of [
    ['f.layer', search.layer],
    ['f.kind', search.featureKind],
    ['f.sae', search.sae],
  ] as const) {
    if (value === undefined) continue;
    conditions.push(`${column} = ?`);
    parameters.push(value);
  }
  if (search.minScore !== undefined) {
    conditions.push('s.value >= ?');
    parameters.push(search.minScore);
  }
  if (search.maxScore !== undefined) {
    conditions.push('s.value <= ?');
    parameters.push(search.maxScore);
  }
  const columns = `f.id AS featureId, f.model, f.layer, f.kind, f.idx AS "index", f.sae, e.text AS explanation, s.value`;
  let sql: string;
  const head: unknown[] = [];
  if (byScore) {
    // Walks scores_by_run_kind_value (run, kind, value, feature) from the cursor on: a seek, then one step a row.
    const descending = search.sort === 'score-desc';
    const keyset =
      search.after && search.after.value !== null
        ? [`(s.value, s.feature_id) ${descending ? '<' : '>'} (?, ?)`]
        : ['s.value IS NOT NULL'];
    if (search.after && search.after.value !== null) head.push(search.after.value, search.after.featureId);
    const direction = descending ? 'DESC' : 'ASC';
    const where = `WHERE s.run_id = ? AND s.kind = ? AND ${[...keyset, ...conditions.slice(fewMatches ? 1 : 0)].join(' AND ')}`;
    const order = `ORDER BY s.value ${direction}, s.feature_id ${direction} LIMIT ?`;
    if (fewMatches) {
      // Few explanations match: start from them (CROSS JOIN fixes the order of the joins), keep the page's rows by
      // score, and only then read those rows' features and texts.
      const featureFilter = [search.layer, search.featureKind, search.sae].some((value) => value !== undefined);
      sql = `SELECT f.id AS featureId, f.model, f.layer, f.kind, f.idx AS "index", f.sae, e.text AS explanation, page.value
             FROM (SELECT e.id AS explanationId, s.feature_id AS featureId, s.value AS value
                   FROM explanations_fts CROSS JOIN explanations e ON e.id = explanations_fts.rowid
                   CROSS JOIN scores s ON s.run_id = e.run_id AND s.feature_id = e.feature_id
                   ${featureFilter ? 'JOIN features f ON f.id = s.feature_id' : ''}
                   ${where} AND explanations_fts MATCH ? ${order}) AS page
             JOIN features f ON f.id = page.featureId JOIN explanations e ON e.id = page.explanationId
             ORDER BY page.value ${direction}, page.featureId ${direction}`;
      const [match, ...rest] = parameters;
      return page(db, sql, [search.runId, search.scoreKind, ...head, ...rest, match, search.limit + 1], search, true);
    }
    // Else walk the score index in order, keeping the rows that match, until the page is full.
    sql = `SELECT ${columns} FROM scores s
           JOIN features f ON f.id = s.feature_id
           LEFT JOIN explanations e ON e.run_id = s.run_id AND e.feature_id = s.feature_id
           ${where} ${order}`;
    return page(db, sql, [search.runId, search.scoreKind, ...head, ...parameters, search.limit + 1], search, true);
  }
  // By feature id: the run's units of work (primary key run, feature) from the cursor on.
  if (search.after) head.push(search.after.featureId);
  const from = fewMatches
    ? `explanations_fts CROSS JOIN explanations e ON e.id = explanations_fts.rowid CROSS JOIN run_features r ON r.run_id = e.run_id AND r.feature_id = e.feature_id
         JOIN features f ON f.id = r.feature_id`
    : `run_features r
         JOIN features f ON f.id = r.feature_id
         LEFT JOIN explanations e ON e.run_id = r.run_id AND e.feature_id = r.feature_id`;
  if (fewMatches) conditions[0] = 'explanations_fts MATCH ?';
  sql = `SELECT ${columns} FROM ${from}
         LEFT JOIN scores s ON s.run_id = r.run_id AND s.feature_id = r.feature_id AND s.kind = ?
         WHERE r.run_id = ?${search.after ? ' AND r.feature_id > ?' : ''}${conditions.map((c) => ` AND ${c}`).join('')}
         ORDER BY r.feature_id LIMIT ?`;
  return page(db, sql, [search.scoreKind, search.runId, ...head, ...parameters, search.limit + 1], search, false);
}

/** How many explanations (of any run) match, counting no further than `limit`. */
function countMatchesUpTo(db: SqliteDatabase, match: string, limit: number): number {
  return (
    db
      .prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM explanations_fts WHERE explanations_fts MATCH ? LIMIT ?)')
      .get(match, limit) as { n: number }
  ).n;
}

/** Runs the page query (which asks for one row more than the page, to know whether a next page exists). */
function page(
  db: SqliteDatabase,
  sql: string,
  parameters: unknown[],
  search: FeatureSearch,
  byScore: boolean,
): FeatureSearchPage {
  const rows = db.prepare(sql).all(...parameters) as FeatureSearchRow[];
  if (rows.length <= search.limit) return { rows, next: null };
  rows.length = search.limit;
  const last = rows.at(-1)!;
  return { rows, next: { value: byScore ? last.value : null, featureId: last.featureId } };
}

/** The layers, feature kinds and SAEs of a run's features, for the search form's choices. */
export interface RunFacets {
  layers: string[];
  featureKinds: string[];
  saes: string[];
}

/** Distinct layers, kinds and SAEs of the features of any run (the `features` table: small next to scores). */
export function featureFacets(db: SqliteDatabase): RunFacets {
  const distinct = (column: string) =>
    (db.prepare(`SELECT DISTINCT ${column} AS value FROM features ORDER BY 1`).all() as { value: string }[]).map(
      (row) => row.value,
    );
  return { layers: distinct('layer'), featureKinds: distinct('kind'), saes: distinct('sae').filter(Boolean) };
}

/** A feature's row in `features`, with its activation statistics. */
export interface ViewerFeature extends StoredFeatureId {
  maxActivation: number | null;
  density: number | null;
  mean: number | null;
  variance: number | null;
}

export function viewerFeature(db: SqliteDatabase, featureId: number): ViewerFeature | undefined {
  return db
    .prepare(
      `SELECT id AS featureId, model, layer, kind, idx AS "index", sae, max_activation AS maxActivation, density, mean, variance
       FROM features WHERE id = ?`,
    )
    .get(featureId) as ViewerFeature | undefined;
}

export interface ViewerScore {
  kind: string;
  value: number | null;
  reason: string | null;
  nTokens: number;
  nMissing: number;
  simulationMode: string | null;
  recordsPerCall: number | null;
  promptVersion: string | null;
}

export interface ViewerJudgement {
  scorer: string;
  judge: string;
  promptVersion: string;
  /** score/scorer.ts `Judgement` objects as stored (JSON); [] when unreadable. */
  examples: unknown[];
}

/** A best-of-n candidate explanation (`explanation_candidates`): sampled, or a revision of another candidate. */
export interface ViewerCandidate {
  candidate: number;
  parent: number | null;
  kind: string;
  text: string;
  promptVersion: string;
  calibrationScore: number | null;
  heldOutScore: number | null;
  selected: boolean;
}

/** What one run holds about one feature. */
export interface FeatureInRun {
  run: RunRow;
  status: string | null;
  stage: string | null;
  reason: string | null;
  explanation: {
    text: string;
    explainer: string;
    promptVersion: string;
    isBaseline: boolean;
    createdAt: string;
  } | null;
  scores: ViewerScore[];
  judgements: ViewerJudgement[];
  /** Every candidate explanation of a best-of-n run, in the order made ([] for a run with one explanation). */
  candidates: ViewerCandidate[];
}

/**
 * Every run's results for a feature (runs that hold nothing about it left out), newest run first. Each lookup is by
 * (run, feature), a primary or unique key, so the cost grows with the number of runs, not of features.
 */
export function featureAcrossRuns(db: SqliteDatabase, featureId: number): FeatureInRun[] {
  const runs = db.prepare('SELECT * FROM runs ORDER BY id DESC').all() as RunRow[];
  const unit = db.prepare('SELECT status, stage, reason FROM run_features WHERE run_id = ? AND feature_id = ?');
  const explanation = db.prepare(
    `SELECT text, explainer, prompt_version AS promptVersion, is_baseline AS isBaseline, created_at AS createdAt
     FROM explanations WHERE run_id = ? AND feature_id = ?`,
  );
  const scores = db.prepare(
    `SELECT kind, value, reason, n_tokens AS nTokens, n_missing AS nMissing, simulation_mode AS simulationMode,
            records_per_call AS recordsPerCall, prompt_version AS promptVersion
     FROM scores WHERE run_id = ? AND feature_id = ? ORDER BY kind`,
  );
  const judgements = db.prepare(
    `SELECT scorer, judge, prompt_version AS promptVersion, examples FROM judgements
     WHERE run_id = ? AND feature_id = ? ORDER BY scorer`,
  );
  const candidates = db.prepare(
    `SELECT candidate, parent, kind, text, prompt_version AS promptVersion, calibration_score AS calibrationScore,
            held_out_score AS heldOutScore, selected
     FROM explanation_candidates WHERE run_id = ? AND feature_id = ? ORDER BY candidate`,
  );
  const results: FeatureInRun[] = [];
  for (const run of runs) {
    const status = unit.get(run.id, featureId) as { status: string; stage: string | null; reason: string | null };
    const text = explanation.get(run.id, featureId) as
      | (Omit<NonNullable<FeatureInRun['explanation']>, 'isBaseline'> & { isBaseline: number })
      | undefined;
    const runScores = scores.all(run.id, featureId) as ViewerScore[];
    if (!status && !text && runScores.length === 0) continue;
    results.push({
      run,
      status: status?.status ?? null,
      stage: status?.stage ?? null,
      reason: status?.reason ?? null,
      explanation: text ? { ...text, isBaseline: text.isBaseline === 1 } : null,
      scores: runScores,
      judgements: (
        judgements.all(run.id, featureId) as (Omit<ViewerJudgement, 'examples'> & { examples: string })[]
      ).map((row) => ({ ...row, examples: parseJsonArray(row.examples) })),
      candidates: (
        candidates.all(run.id, featureId) as (Omit<ViewerCandidate, 'selected'> & { selected: number })[]
      ).map((row) => ({ ...row, selected: row.selected === 1 })),
    });
  }
  return results;
}

function parseJsonArray(text: string): unknown[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? value : [];
  } catch {
    return [];
  }
}

/** A stored record of a feature in a run, with the simulator's expected values where it was simulated. */
export interface ViewerRecord {
  split: string;
  /** top | random | quantile-<i> */
  source: string;
  position: number;
  tokens: string[];
  activations: number[];
  /** Normalized 0–10 expected values (null entries: missing predictions); null when not simulated. */
  expected: (number | null)[] | null;
}

/** Every record a run stored for a feature (explain, calibration and score splits), by source and position. */
export function featureRecordsInRun(db: SqliteDatabase, runId: number, featureId: number): ViewerRecord[] {
  const rows = db
    .prepare(
      `SELECT r.split, r.source, r.position, r.tokens, r.activations, s.expected
       FROM records r
       LEFT JOIN explanations e ON e.run_id = r.run_id AND e.feature_id = r.feature_id
       LEFT JOIN simulations s ON s.explanation_id = e.id AND s.record_id = r.id
       WHERE r.run_id = ? AND r.feature_id = ?
       ORDER BY r.source, r.split, r.position, r.id`,
    )
    .all(runId, featureId) as {
    split: string;
    source: string;
    position: number;
    tokens: string;
    activations: Buffer | string;
    expected: Buffer | string | null;
  }[];
  return rows.map((row) => ({
    split: row.split,
    source: row.source,
    position: row.position,
    tokens: parseJsonArray(row.tokens).map(String),
    activations: decodeFloat32Column(row.activations).map((value) => value ?? 0),
    expected: row.expected === null ? null : decodeFloat32Column(row.expected),
  }));
}

/** A run's size and cost, for the runs page. */
export interface RunSummary {
  runId: number;
  units: { scored: number; skipped: number; failed: number };
  llmCalls: number;
  promptTokens: number;
  completionTokens: number;
  /** Summed over calls with a known price; null when none had one. */
  costUsd: number | null;
}

/** Unit counts and LLM cost of every run (two grouped scans: the viewer caches the answer). */
export function runSummaries(db: SqliteDatabase): Map<number, RunSummary> {
  const summaries = new Map<number, RunSummary>();
  const of = (runId: number) => {
    let summary = summaries.get(runId);
    if (!summary) {
      summary = {
        runId,
        units: { scored: 0, skipped: 0, failed: 0 },
        llmCalls: 0,
        promptTokens: 0,
        completionTokens: 0,
        costUsd: null,
      };
      summaries.set(runId, summary);
    }
    return summary;
  };
  for (const row of db
    .prepare('SELECT run_id AS runId, status, COUNT(*) AS n FROM run_features GROUP BY run_id, status')
    .all() as { runId: number; status: keyof RunSummary['units']; n: number }[])
    of(row.runId).units[row.status] = row.n;
  for (const row of db
    .prepare(
      `SELECT run_id AS runId, COUNT(*) AS calls, SUM(prompt_tokens) AS promptTokens,
              SUM(completion_tokens) AS completionTokens, SUM(cost_usd) AS cost
       FROM llm_calls WHERE run_id IS NOT NULL GROUP BY run_id`,
    )
    .all() as { runId: number; calls: number; promptTokens: number; completionTokens: number; cost: number | null }[]) {
    const summary = of(row.runId);
    summary.llmCalls = row.calls;
    summary.promptTokens = row.promptTokens;
    summary.completionTokens = row.completionTokens;
    summary.costUsd = row.cost;
  }
  return summaries;
}

/** A run's defined scores of one kind with the feature's layer, kind and SAE (for per-layer histograms). */
export function scoreValuesByGroup(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
): Map<string, { model: string; layer: string; kind: string; sae: string; values: number[] }> {
  const groups = new Map<string, { model: string; layer: string; kind: string; sae: string; values: number[] }>();
  const statement = db
    .prepare(
      `SELECT f.model, f.layer, f.kind, f.sae, s.value FROM scores s JOIN features f ON f.id = s.feature_id
       WHERE s.run_id = ? AND s.kind = ? AND s.value IS NOT NULL`,
    )
    .raw(true);
  for (const [model, layer, kind, sae, value] of statement.iterate(runId, scoreKind) as Iterable<
    [string, string, string, string, number]
  >) {
    const key = JSON.stringify([model, layer, kind, sae]);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { model, layer, kind, sae, values: [] }));
    group.values.push(value);
  }
  return groups;
}

/** The SAE folder recorded for an SAE name (`saes.path`), if any. */
export function saePath(db: SqliteDatabase, name: string): string | null {
  const row = db.prepare('SELECT path FROM saes WHERE name = ?').get(name) as { path: string | null } | undefined;
  return row?.path ?? null;
}

/** Every run's id and name, newest first (the viewer's run pickers). */
export function runChoices(db: SqliteDatabase): { id: number; name: string }[] {
  return db.prepare('SELECT id, name FROM runs ORDER BY id DESC').all() as { id: number; name: string }[];
}

/** The `features.id` of a feature identity, if stored. */
export function featureIdOf(
  db: SqliteDatabase,
  feature: { model: string; layer: string; kind: string; index: number; sae: string },
): number | undefined {
  const row = db
    .prepare('SELECT id FROM features WHERE model = ? AND layer = ? AND kind = ? AND idx = ? AND sae = ?')
    .get(feature.model, feature.layer, feature.kind, feature.index, feature.sae) as { id: number } | undefined;
  return row?.id;
}
