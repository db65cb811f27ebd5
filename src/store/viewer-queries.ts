/**
 * @module store/viewer-queries — the read queries of the viewer (`autointerp serve`): feature search by explanation
 * text (FTS5, migration 10), layer, kind, SAE and score range, sorted by a score kind or by feature, one page at a
 * time by keyset pagination (the next page starts after the last row's sort key, the previous page ends before the
 * first row's: a seek in an index, never an OFFSET scan); what a feature holds, each list a page by keyset (runs,
 * candidate explanations, records); a run's summary (unit counts, LLM cost) and its smallest score (the histograms'
 * range: serve/score-histograms counts them). Nothing here writes.
 */
import type { SqliteDatabase } from './database.ts';
import { explanationMatchQuery, explanationWordTest } from './explanation-words.ts';
import { decodeFloat32Column } from './float32-column.ts';
import type { StoredFeatureId } from './queries.ts';
import type { RunRow } from './result-store.ts';

/** Search order: by a score kind (undefined scores left out), or by feature id. */
export type SearchSort = 'score-desc' | 'score-asc' | 'feature';
export const SEARCH_SORTS: readonly SearchSort[] = ['score-desc', 'score-asc', 'feature'];

/** A row's sort key: where a page ends or starts (the score only when sorting by a score). */
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
  /** The page of rows after this key (the "next page"). */
  after?: SearchCursor;
  /** The page of rows before this key (the "previous page"); not with `after`. */
  before?: SearchCursor;
  limit: number;
}

export interface FeatureSearchRow extends StoredFeatureId {
  explanation: string | null;
  /** The `scoreKind` score; null where undefined or absent. */
  value: number | null;
}

export interface FeatureSearchPage {
  rows: FeatureSearchRow[];
  /** The cursor of the next page (`after`); null on the last page. */
  next: SearchCursor | null;
  /** The cursor of the previous page (`before`); null on the first page. */
  previous: SearchCursor | null;
}

/** How a text search chooses where to start: from the sort order, or from the matching explanations. */
export interface SearchTuning {
  /** Rows of the sort order a text search walks before it asks how many explanations match at all. */
  walkBudget: number;
  /** Below this many matching explanations (counted up to it) the search starts from the matches. */
  fewMatches: number;
}

/**
 * Walking costs a few random page reads a row (the explanation's text), starting from the matches one or two a match
 * (covering indexes, migration 13). With a page of 50 over a run of 10^6 features, a word in M explanations costs the
 * walk about 50·10^6/M rows and the matches M lookups: even near M = 7,000. So: a short walk first (a word in more
 * than 1 in 4 explanations fills the page within it), then the matches where there are under 10,000 of them, else
 * the walk on (bench/serve.ts measures both kinds of word).
 */
export const DEFAULT_SEARCH_TUNING: SearchTuning = { walkBudget: 200, fewMatches: 10_000 };

/** The SQL of a walk of the sort order and its parameters. */
interface SearchQuery {
  sql: string;
  parameters: unknown[];
}

/**
 * One page of features of a run matching `search`, in its order, and the cursors of the pages around it. A page is
 * read by keyset, never OFFSET: the next page seeks to the rows after the last row's key, the previous page reads the
 * rows before the first row's key in the reverse order (then reverses them). A text search walks the sort order and
 * keeps the rows whose explanation has the words (explanation-words.ts) while that fills the page within
 * `walkBudget` rows; when it does not and few explanations match (FTS5, counted up to `fewMatches`), it starts from
 * those explanations instead and sorts them; else it walks on. Words beyond ASCII always start from the FTS5 matches
 * (only FTS5 folds them), so either path gives the same rows.
 */
export function searchFeatures(
  db: SqliteDatabase,
  search: FeatureSearch,
  tuning: SearchTuning = DEFAULT_SEARCH_TUNING,
): FeatureSearchPage {
  if (search.after && search.before) throw new Error('searchFeatures: give `after` or `before`, not both');
  const backward = search.before !== undefined;
  const byScore = search.sort !== 'feature';
  const cursor =
    byScore && (search.before ?? search.after)?.value === null ? undefined : (search.before ?? search.after);
  // The order the query reads in: the page's own, or its reverse for the page before a cursor.
  const descending = (search.sort === 'score-desc') !== backward;
  const direction = descending ? 'DESC' : 'ASC';
  const comparison = descending ? '<' : '>';
  const conditions: string[] = [];
  const conditionParameters: unknown[] = [];
  for (const [column, value] of [
    ['f.layer', search.layer],
    ['f.kind', search.featureKind],
    ['f.sae', search.sae],
  ] as const) {
    if (value === undefined) continue;
    conditions.push(`${column} = ?`);
    conditionParameters.push(value);
  }
  if (search.minScore !== undefined) {
    conditions.push('s.value >= ?');
    conditionParameters.push(search.minScore);
  }
  if (search.maxScore !== undefined) {
    conditions.push('s.value <= ?');
    conditionParameters.push(search.maxScore);
  }
  const and = conditions.map((condition) => ` AND ${condition}`).join('');
  const keysetOf = (from: SearchCursor | undefined) =>
    from
      ? byScore
        ? ` AND (s.value, s.feature_id) ${comparison} (?, ?)`
        : ` AND r.feature_id ${comparison} ?`
      : byScore
        ? ' AND s.value IS NOT NULL'
        : '';
  const keysetParametersOf = (from: SearchCursor | undefined) =>
    from ? (byScore ? [from.value, from.featureId] : [from.featureId]) : [];
  const columns = `f.id AS featureId, f.model, f.layer, f.kind, f.idx AS "index", f.sae, e.text AS explanation, s.value`;
  const featureFilter = /\bf\./.test(and);
  // The sort order itself from a key on: scores_by_run_kind_value (run, kind, value, feature), or the run's units
  // (primary key run, feature): a seek, then a step a row. `keys` reads only the sort key and the explanation (a text
  // search reads the features of the rows it keeps afterwards, and joins them here only to filter).
  const walk = (from: SearchCursor | undefined, keys = false): SearchQuery => {
    const unit = byScore ? 's' : 'r';
    const selected = keys ? `${unit}.feature_id AS featureId, e.text AS explanation, s.value` : columns;
    const features = !keys || featureFilter ? `JOIN features f ON f.id = ${unit}.feature_id` : '';
    return byScore
      ? {
          sql: `SELECT ${selected} FROM scores s ${features}
                LEFT JOIN explanations e ON e.run_id = s.run_id AND e.feature_id = s.feature_id
                WHERE s.run_id = ? AND s.kind = ?${keysetOf(from)}${and}
                ORDER BY s.value ${direction}, s.feature_id ${direction}`,
          parameters: [search.runId, search.scoreKind, ...keysetParametersOf(from), ...conditionParameters],
        }
      : {
          sql: `SELECT ${selected} FROM run_features r ${features}
                LEFT JOIN explanations e ON e.run_id = r.run_id AND e.feature_id = r.feature_id
                LEFT JOIN scores s ON s.run_id = r.run_id AND s.feature_id = r.feature_id AND s.kind = ?
                WHERE r.run_id = ?${keysetOf(from)}${and}
                ORDER BY r.feature_id ${direction}`,
          parameters: [search.scoreKind, search.runId, ...keysetParametersOf(from), ...conditionParameters],
        };
  };
  const finish = (rows: FeatureSearchRow[]) =>
    pageOf(rows, search, byScore, () => searchFeatures(db, { ...search, before: undefined }, tuning));
  const wanted = search.limit + 1;
  const text = search.text?.trim() ?? '';
  if (text === '') {
    const { sql, parameters } = walk(cursor);
    return finish(db.prepare(`${sql} LIMIT ?`).all(...parameters, wanted) as FeatureSearchRow[]);
  }
  const match = explanationMatchQuery(text);
  if (match === null) return { rows: [], next: null, previous: null };
  const matchesFirstPage = () => {
    const parameters = [search.scoreKind, match, search.runId, ...keysetParametersOf(cursor), ...conditionParameters];
    return finish(
      db
        .prepare(matchesFirst(byScore, keysetOf(cursor), and, direction))
        .all(...parameters, wanted) as FeatureSearchRow[],
    );
  };
  // Words beyond ASCII have no JavaScript test that agrees with FTS5 (explanation-words.ts): FTS5 alone answers them.
  const hasWords = explanationWordTest(text);
  if (hasWords === null) return matchesFirstPage();

  const rows: FeatureSearchRow[] = [];
  /**
   * Walks on from `from`, keeping matching rows, for at most `budget` rows; where the budget ran out before the page
   * filled, the key to walk on from.
   */
  const walkOn = (from: SearchCursor | undefined, budget: number): { resumeFrom: SearchCursor | undefined } | null => {
    if (budget <= 0) return { resumeFrom: from };
    const { sql, parameters } = walk(from, true);
    let walked = 0;
    for (const row of db.prepare(sql).iterate(...parameters) as Iterable<FeatureSearchRow>) {
      if (row.explanation !== null && hasWords(row.explanation)) rows.push(row);
      if (rows.length === wanted) return null;
      if (++walked === budget) return { resumeFrom: { value: row.value, featureId: row.featureId } };
    }
    return null;
  };
  const withFeatures = (kept: FeatureSearchRow[]) => {
    const feature = db.prepare('SELECT model, layer, kind, idx AS "index", sae FROM features WHERE id = ?');
    return kept.map((row) => ({ ...row, ...(feature.get(row.featureId) as StoredFeatureId) }));
  };
  const stopped = walkOn(cursor, tuning.walkBudget);
  if (stopped === null) return finish(withFeatures(rows));
  if (countMatchesUpTo(db, match, tuning.fewMatches) < tuning.fewMatches) return matchesFirstPage();
  // Many explanations match, only not in this part of the order: walk on from the last row walked.
  walkOn(stopped.resumeFrom, Number.POSITIVE_INFINITY);
  return finish(withFeatures(rows));
}

/**
 * The query that starts from the explanations matching the words (FTS5; CROSS JOIN fixes the order of the joins):
 * from each match's id to its run and feature and on to its score through narrow covering indexes (migration 13:
 * explanations_keys, scores_by_run_kind_feature), keeps the page's keys in order, and only then reads those rows'
 * features and texts.
 */
function matchesFirst(byScore: boolean, keyset: string, and: string, direction: string): string {
  const featureFilter = /\bf\./.test(and) ? 'JOIN features f ON f.id = e.feature_id' : '';
  const page = byScore
    ? `SELECT e.id AS explanationId, s.feature_id AS featureId, s.value AS value
       FROM explanations_fts CROSS JOIN explanations e INDEXED BY explanations_keys ON e.id = explanations_fts.rowid
       CROSS JOIN scores s INDEXED BY scores_by_run_kind_feature
         ON s.run_id = e.run_id AND s.kind = ? AND s.feature_id = e.feature_id
       ${featureFilter}
       WHERE explanations_fts MATCH ? AND e.run_id = ?${keyset}${and}
       ORDER BY s.value ${direction}, s.feature_id ${direction} LIMIT ?`
    : `SELECT e.id AS explanationId, r.feature_id AS featureId, s.value AS value
       FROM explanations_fts CROSS JOIN explanations e INDEXED BY explanations_keys ON e.id = explanations_fts.rowid
       CROSS JOIN run_features r ON r.run_id = e.run_id AND r.feature_id = e.feature_id
       LEFT JOIN scores s INDEXED BY scores_by_run_kind_feature
         ON s.run_id = e.run_id AND s.kind = ? AND s.feature_id = e.feature_id
       ${featureFilter}
       WHERE explanations_fts MATCH ? AND e.run_id = ?${keyset}${and}
       ORDER BY r.feature_id ${direction} LIMIT ?`;
  return `SELECT f.id AS featureId, f.model, f.layer, f.kind, f.idx AS "index", f.sae, e.text AS explanation, page.value
          FROM (${page}) AS page
          JOIN features f ON f.id = page.featureId JOIN explanations e ON e.id = page.explanationId
          ORDER BY ${byScore ? `page.value ${direction}, ` : ''}page.featureId ${direction}`;
}

/** How many explanations (of any run) match, counting no further than `limit`. */
function countMatchesUpTo(db: SqliteDatabase, match: string, limit: number): number {
  return (
    db
      .prepare('SELECT COUNT(*) AS n FROM (SELECT 1 FROM explanations_fts WHERE explanations_fts MATCH ? LIMIT ?)')
      .get(match, limit) as { n: number }
  ).n;
}

/**
 * The page from rows read in the query's order, one more than the page where there are more: trimmed, put in the
 * page's order, with its cursors. A page before a cursor that reaches the start is short: the first page instead.
 */
function pageOf(
  rows: FeatureSearchRow[],
  search: FeatureSearch,
  byScore: boolean,
  firstPage: () => FeatureSearchPage,
): FeatureSearchPage {
  const key = (row: FeatureSearchRow): SearchCursor => ({
    value: byScore ? row.value : null,
    featureId: row.featureId,
  });
  const more = rows.length > search.limit;
  if (more) rows.length = search.limit;
  if (search.before === undefined)
    return {
      rows,
      next: more ? key(rows.at(-1)!) : null,
      previous: search.after !== undefined && rows.length > 0 ? key(rows[0]!) : null,
    };
  if (!more) return firstPage();
  rows.reverse();
  return { rows, next: key(rows.at(-1)!), previous: key(rows[0]!) };
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
  /** A page of the candidate explanations of a best-of-n run, in the order made ([] for a run with one explanation). */
  candidates: ViewerCandidate[];
  /** The candidate the page starts after (null: from the first). */
  candidatesAfter: number | null;
  /** Whether candidates follow this page. */
  moreCandidates: boolean;
}

/** Which part of a feature's runs, and of each run's candidate explanations, to read: each list a page by keyset. */
export interface FeatureRunsPage {
  /** Only runs older than this one (the page after a run); default: from the newest. */
  beforeRun?: number;
  /** At most this many runs holding the feature. */
  runs: number;
  /** At most this many candidate explanations of each run. */
  candidates: number;
  /** In this run, the candidates after this one (the page after a candidate). */
  candidatesAfter?: { runId: number; candidate: number };
}

/** A page of the runs that hold a feature; `olderRuns` is where the next page starts (null: none older). */
export interface FeatureRuns {
  results: FeatureInRun[];
  olderRuns: number | null;
}

/**
 * The runs holding a feature (runs that hold nothing about it left out), newest first, a page at a time. Each lookup
 * is by (run, feature), a primary or unique key, so the cost grows with the number of runs, not of features; each
 * run's candidate explanations are a page too (a seek in their primary key, run, feature, candidate).
 */
export function featureAcrossRuns(
  db: SqliteDatabase,
  featureId: number,
  page: FeatureRunsPage = { runs: Number.POSITIVE_INFINITY, candidates: Number.POSITIVE_INFINITY },
): FeatureRuns {
  const runs = db
    .prepare(`SELECT * FROM runs${page.beforeRun === undefined ? '' : ' WHERE id < ?'} ORDER BY id DESC`)
    .all(...(page.beforeRun === undefined ? [] : [page.beforeRun])) as RunRow[];
  const results: FeatureInRun[] = [];
  for (const run of runs) {
    const after = page.candidatesAfter?.runId === run.id ? page.candidatesAfter.candidate : undefined;
    const result = featureInRun(db, run, featureId, { candidates: page.candidates, candidatesAfter: after });
    if (!result) continue;
    if (results.length === page.runs) return { results, olderRuns: results.at(-1)!.run.id };
    results.push(result);
  }
  return { results, olderRuns: null };
}

/** What one run holds about a feature (null: nothing), with a page of its candidate explanations. */
export function featureInRun(
  db: SqliteDatabase,
  run: RunRow,
  featureId: number,
  page: { candidates: number; candidatesAfter?: number | undefined } = { candidates: Number.POSITIVE_INFINITY },
): FeatureInRun | null {
  const status = db
    .prepare('SELECT status, stage, reason FROM run_features WHERE run_id = ? AND feature_id = ?')
    .get(run.id, featureId) as { status: string; stage: string | null; reason: string | null } | undefined;
  const text = db
    .prepare(
      `SELECT text, explainer, prompt_version AS promptVersion, is_baseline AS isBaseline, created_at AS createdAt
       FROM explanations WHERE run_id = ? AND feature_id = ?`,
    )
    .get(run.id, featureId) as
    | (Omit<NonNullable<FeatureInRun['explanation']>, 'isBaseline'> & { isBaseline: number })
    | undefined;
  const scores = db
    .prepare(
      `SELECT kind, value, reason, n_tokens AS nTokens, n_missing AS nMissing, simulation_mode AS simulationMode,
              records_per_call AS recordsPerCall, prompt_version AS promptVersion
       FROM scores WHERE run_id = ? AND feature_id = ? ORDER BY kind`,
    )
    .all(run.id, featureId) as ViewerScore[];
  if (!status && !text && scores.length === 0) return null;
  const judgements = db
    .prepare(
      `SELECT scorer, judge, prompt_version AS promptVersion, examples FROM judgements
       WHERE run_id = ? AND feature_id = ? ORDER BY scorer`,
    )
    .all(run.id, featureId) as (Omit<ViewerJudgement, 'examples'> & { examples: string })[];
  const limit = Number.isFinite(page.candidates) ? page.candidates + 1 : -1;
  const candidates = db
    .prepare(
      `SELECT candidate, parent, kind, text, prompt_version AS promptVersion, calibration_score AS calibrationScore,
              held_out_score AS heldOutScore, selected
       FROM explanation_candidates WHERE run_id = ? AND feature_id = ? AND candidate > ? ORDER BY candidate LIMIT ?`,
    )
    .all(run.id, featureId, page.candidatesAfter ?? -1, limit) as (Omit<ViewerCandidate, 'selected'> & {
    selected: number;
  })[];
  const moreCandidates = limit !== -1 && candidates.length === limit;
  if (moreCandidates) candidates.length = page.candidates;
  return {
    run,
    status: status?.status ?? null,
    stage: status?.stage ?? null,
    reason: status?.reason ?? null,
    explanation: text ? { ...text, isBaseline: text.isBaseline === 1 } : null,
    scores,
    judgements: judgements.map((row) => ({ ...row, examples: parseJsonArray(row.examples) })),
    candidates: candidates.map((row) => ({ ...row, selected: row.selected === 1 })),
    candidatesAfter: page.candidatesAfter ?? null,
    moreCandidates,
  };
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
  /** `records.id`: where the next page of records starts. */
  id: number;
  split: string;
  /** top | random | quantile-<i> */
  source: string;
  position: number;
  tokens: string[];
  activations: number[];
  /** Normalized 0–10 expected values (null entries: missing predictions); null when not simulated. */
  expected: (number | null)[] | null;
}

/**
 * A page of the records a run stored for a feature (explain, calibration and score splits), by source, split and
 * position: `limit` of them after the record `afterRecord` (keyset on that order; the page's ids are found in the
 * index records_by_feature before any window is read). Default: every record.
 */
export function featureRecordsInRun(
  db: SqliteDatabase,
  runId: number,
  featureId: number,
  page: { afterRecord?: number; limit: number } = { limit: -1 },
): ViewerRecord[] {
  const after =
    page.afterRecord === undefined
      ? ''
      : ' AND (source, split, position, id) > (SELECT source, split, position, id FROM records WHERE id = ?)';
  const rows = db
    .prepare(
      `SELECT r.id, r.split, r.source, r.position, w.tokens, w.activations, s.expected
       FROM (SELECT id FROM records WHERE run_id = ? AND feature_id = ?${after}
             ORDER BY source, split, position, id LIMIT ?) AS page
       JOIN records r ON r.id = page.id
       JOIN record_windows w ON w.id = r.window_id
       LEFT JOIN explanations e ON e.run_id = r.run_id AND e.feature_id = r.feature_id
       LEFT JOIN simulations s ON s.explanation_id = e.id AND s.record_id = r.id
       ORDER BY r.source, r.split, r.position, r.id`,
    )
    .all(runId, featureId, ...(page.afterRecord === undefined ? [] : [page.afterRecord]), page.limit) as {
    id: number;
    split: string;
    source: string;
    position: number;
    tokens: string;
    activations: Buffer | string;
    expected: Buffer | string | null;
  }[];
  return rows.map((row) => ({
    id: row.id,
    split: row.split,
    source: row.source,
    position: row.position,
    tokens: parseJsonArray(row.tokens).map(String),
    activations: decodeFloat32Column(row.activations).map((value) => value ?? 0),
    expected: row.expected === null ? null : decodeFloat32Column(row.expected),
  }));
}

/** How many records a run stored for a feature (counted in the index records_by_feature). */
export function countFeatureRecordsInRun(db: SqliteDatabase, runId: number, featureId: number): number {
  return (
    db.prepare('SELECT COUNT(*) AS n FROM records WHERE run_id = ? AND feature_id = ?').get(runId, featureId) as {
      n: number;
    }
  ).n;
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

/** The smallest defined score of a kind in a run (a seek in scores_by_run_kind_value); null when none. */
export function minimumScore(db: SqliteDatabase, runId: number, scoreKind: string): number | null {
  return (
    db
      .prepare('SELECT MIN(value) AS low FROM scores WHERE run_id = ? AND kind = ? AND value IS NOT NULL')
      .get(runId, scoreKind) as { low: number | null }
  ).low;
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
