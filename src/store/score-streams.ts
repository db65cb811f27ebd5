/**
 * @module store/score-streams — reads for reports over 10^6 features that hand back numbers, not rows with feature
 * keys: a run's defined scores of one kind as (value, feature id) in ascending order of value straight from the
 * covering index scores_by_run_kind_value (no join), the features of each (model, layer, kind, SAE) group as ids, and
 * the few rows that carry text (null scores' reasons, unfinished units). The leaderboard and compare join them in
 * typed arrays indexed by feature slot (report/feature-slots.ts: the id itself unless ids are sparse).
 */
import type { SqliteDatabase } from './database.ts';

/** The largest feature id (0 when there are none): the size of arrays indexed by feature id where ids are dense. */
export function largestFeatureId(db: SqliteDatabase): number {
  return (db.prepare('SELECT MAX(id) FROM features').pluck().get() as number | null) ?? 0;
}

/** How many features are stored (decides whether arrays indexed by feature id would be mostly empty). */
export function featureIdCount(db: SqliteDatabase): number {
  return db.prepare('SELECT COUNT(*) FROM features').pluck().get() as number;
}

/** Every feature id, ascending (for a database whose ids are too sparse to index arrays by). */
export function featureIdsAscending(db: SqliteDatabase): Float64Array {
  return Float64Array.from(db.prepare('SELECT id FROM features ORDER BY id').pluck().all() as number[]);
}

/** A (model, layer, kind) of the features table: the first three columns of its unique index. */
export interface FeaturePrefix {
  model: string;
  layer: string;
  kind: string;
}

/**
 * Every (model, layer, kind) of the features table, found by seeking the unique index (model, layer, kind, idx, sae)
 * from one to the next (`MIN(…) WHERE … > ?` is one seek) rather than reading every entry.
 */
export function featurePrefixes(db: SqliteDatabase): FeaturePrefix[] {
  const next = {
    model: db.prepare('SELECT MIN(model) FROM features WHERE model > ?').pluck(),
    layer: db.prepare('SELECT MIN(layer) FROM features WHERE model = ? AND layer > ?').pluck(),
    kind: db.prepare('SELECT MIN(kind) FROM features WHERE model = ? AND layer = ? AND kind > ?').pluck(),
  };
  // '' itself, which comes before every text `> ''` finds (no real feature has an empty name, but it is allowed)
  const empty = {
    model: db.prepare("SELECT EXISTS (SELECT 1 FROM features WHERE model = '')").pluck(),
    layer: db.prepare("SELECT EXISTS (SELECT 1 FROM features WHERE model = ? AND layer = '')").pluck(),
    kind: db.prepare("SELECT EXISTS (SELECT 1 FROM features WHERE model = ? AND layer = ? AND kind = '')").pluck(),
  };
  const texts = (column: 'model' | 'layer' | 'kind', ...prefix: string[]): string[] => {
    const found = empty[column].get(...prefix) === 1 ? [''] : [];
    for (let value = next[column].get(...prefix, ''); value !== null; value = next[column].get(...prefix, value))
      found.push(value as string);
    return found;
  };
  const prefixes: FeaturePrefix[] = [];
  for (const model of texts('model'))
    for (const layer of texts('layer', model))
      for (const kind of texts('kind', model, layer)) prefixes.push({ model, layer, kind });
  return prefixes;
}

/**
 * The ids of the features of one (model, layer, kind) by SAE name ('' for neurons and unnamed SAEs), from the
 * covering unique index: numbers only, the names read once each.
 */
export function featureIdsOfPrefix(db: SqliteDatabase, prefix: FeaturePrefix): Map<string, number[]> {
  const where = 'model = ? AND layer = ? AND kind = ?';
  const parameters = [prefix.model, prefix.layer, prefix.kind];
  const saes = db
    .prepare(`SELECT DISTINCT sae FROM features WHERE ${where}`)
    .pluck()
    .all(...parameters) as string[];
  const ids = db.prepare(`SELECT id FROM features WHERE ${where} AND sae = ?`).pluck();
  return new Map(saes.map((sae) => [sae, ids.all(...parameters, sae) as number[]]));
}

/** Feature index (`features.idx`) by feature id, for a few ids. */
export function featureIndexesOf(db: SqliteDatabase, featureIds: readonly number[]): Map<number, number> {
  const rows = db
    .prepare('SELECT id, idx FROM features WHERE id IN (SELECT value FROM json_each(?))')
    .raw(true)
    .all(JSON.stringify(featureIds)) as [number, number][];
  return new Map(rows);
}

/**
 * A run's defined scores of one kind as [value, feature id], in ascending order of value (ties by feature id), one at
 * a time from the covering index: the order is the values' own, never the order they were saved in.
 */
export function definedScoresInValueOrder(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
): IterableIterator<[number, number]> {
  return db
    .prepare(
      `SELECT value, feature_id FROM scores WHERE run_id = ? AND kind = ? AND value IS NOT NULL
       ORDER BY value, feature_id`,
    )
    .raw(true)
    .iterate(runId, scoreKind) as IterableIterator<[number, number]>;
}

/** A run's null scores of one kind as [feature id, reason]. */
export function nullScoresOfRun(db: SqliteDatabase, runId: number, scoreKind: string): [number, string | null][] {
  return db
    .prepare('SELECT feature_id, reason FROM scores WHERE run_id = ? AND kind = ? AND value IS NULL')
    .raw(true)
    .all(runId, scoreKind) as [number, string | null][];
}

/**
 * Reads of columns that no index holds (the simulation protocol) go through the unique index (run_id, feature_id,
 * kind) of migration 1's UNIQUE constraint: the table rows in the order they were written, not in the random order of
 * the value index (at 10^6 scores a scan in value order is a random read per row).
 */
const IN_FEATURE_ORDER = 'INDEXED BY sqlite_autoindex_scores_1';

/** How a run's scores of one kind were simulated: each distinct (simulation mode, records per call), nulls included. */
export interface ScoreProtocol {
  mode: string | null;
  recordsPerCall: number | null;
}

export function scoreProtocolsOfRun(db: SqliteDatabase, runId: number, scoreKind: string): ScoreProtocol[] {
  return db
    .prepare(
      `SELECT DISTINCT simulation_mode AS mode, records_per_call AS recordsPerCall FROM scores ${IN_FEATURE_ORDER}
       WHERE run_id = ? AND kind = ? ORDER BY mode, recordsPerCall`,
    )
    .all(runId, scoreKind) as ScoreProtocol[];
}

/** The features whose score of one kind was made with one protocol (read only when a run mixes protocols). */
export function featureIdsOfProtocol(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
  protocol: ScoreProtocol,
): number[] {
  return db
    .prepare(
      `SELECT feature_id FROM scores ${IN_FEATURE_ORDER}
       WHERE run_id = ? AND kind = ? AND simulation_mode IS ? AND records_per_call IS ?`,
    )
    .pluck()
    .all(runId, scoreKind, protocol.mode, protocol.recordsPerCall) as number[];
}

/**
 * A run's units of work (`run_features`) for features with no score of `scoreKind`, as [feature id, status,
 * reason]: failed and skipped features, and features scored without a score of this kind.
 */
export function unitsWithoutScoreOfKind(
  db: SqliteDatabase,
  runId: number,
  scoreKind: string,
): [number, 'scored' | 'skipped' | 'failed', string | null][] {
  return db
    .prepare(
      `SELECT r.feature_id, r.status, r.reason FROM run_features r
       WHERE r.run_id = ? AND NOT EXISTS
         (SELECT 1 FROM scores s WHERE s.run_id = r.run_id AND s.feature_id = r.feature_id AND s.kind = ?)`,
    )
    .raw(true)
    .all(runId, scoreKind) as [number, 'scored' | 'skipped' | 'failed', string | null][];
}

/** A lookup of one feature's index (`features.idx`) by id, its statement prepared once. */
export function featureIndexLookup(db: SqliteDatabase): (featureId: number) => number | undefined {
  const statement = db.prepare('SELECT idx FROM features WHERE id = ?').pluck();
  return (featureId) => statement.get(featureId) as number | undefined;
}
