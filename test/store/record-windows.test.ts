import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReportData } from '../../src/report/report-data.ts';
import { exportRun } from '../../src/report/export.ts';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.ts';
import { encodeFloat32Column } from '../../src/store/float32-column.ts';
import { migrations } from '../../src/store/migrations.ts';
import { scoreRecordsOfRun } from '../../src/store/queries.ts';
import { RecordWindowWriter, windowDigest } from '../../src/store/record-windows.ts';
import { ResultStore, type StoredRecord } from '../../src/store/result-store.ts';
import { quoteIdentifier as quote, tableNames } from '../../src/store/schema-references.ts';
import { featureRecordsInRun } from '../../src/store/viewer-queries.ts';
import { syntheticRun } from '../report/synthetic-store.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-windows-'));

/** A feature's records as a run stores them: explain, calibration and score splits, one window used twice. */
const recordsOf = (index: number): StoredRecord[] => {
  const window = (n: number) => ({
    tokens: [' the', ` t${index}`, ` w${n}`],
    activations: [0, 1 + index / 8, n / 4],
  });
  return [
    { split: 'explain', source: 'top', ...window(0) },
    { split: 'explain', source: 'top', ...window(1) },
    { split: 'calibration', source: 'random', ...window(2) },
    { split: 'score', source: 'top', ...window(3), expected: [0, 9, null] },
    { split: 'score', source: 'top', ...window(4), expected: [1, 8, 0.5] },
    { split: 'score', source: 'random', ...window(0), expected: [0, 7, 0] }, // the explain window again
  ];
};

/** Two runs over the same features (scored, failed and skipped ones; an SAE's), in a new database at `name`. */
function twoRuns(name: string): { store: ResultStore; runIds: number[] } {
  const store = new ResultStore(openDatabase(join(directory, name)));
  const features = [
    { layer: 0, index: 3, value: 0.5 },
    { layer: 2, index: 1, value: -0.25 },
    { layer: 'blocks.1.hook_resid_post', index: 7, kind: 'sae' as const, sae: 'res-16k', value: 0.75 },
    { layer: 0, index: 4, value: null, status: 'failed' as const },
    { layer: 0, index: 5, value: null, status: 'skipped' as const },
  ].map((feature) => ({ ...feature, records: recordsOf(feature.index) }));
  const runIds = ['first', 'second'].map((run) => syntheticRun(store, { name: run, features }));
  return { store, runIds };
}

const count = (db: SqliteDatabase, table: string) =>
  (db.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;

/**
 * A database at schema 11 holding what `source` holds, as the previous autointerp stored it: every table copied as
 * it is, and each record with its window's tokens and activations in its own row.
 */
function schema11Copy(source: string, path: string): void {
  const old = new Database(path);
  for (const migration of migrations.slice(0, 11)) {
    if (typeof migration === 'string') old.exec(migration);
    else migration(old);
  }
  old.pragma('user_version = 11');
  old.exec(`ATTACH DATABASE '${source.replaceAll("'", "''")}' AS current`);
  old.transaction(() => {
    for (const table of tableNames(old)) {
      if (table === 'records') {
        old.exec(
          `INSERT INTO records (id, run_id, feature_id, split, source, position, tokens, activations)
           SELECT r.id, r.run_id, r.feature_id, r.split, r.source, r.position, w.tokens, w.activations
           FROM current.records r JOIN current.record_windows w ON w.id = r.window_id ORDER BY r.id`,
        );
      } else {
        const columns = (old.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => quote(c.name));
        old.exec(
          `INSERT INTO ${quote(table)} (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM current.${quote(table)}`,
        );
      }
    }
  })();
  old.exec('DETACH DATABASE current');
  old.close();
}

/** Every read of records, as the report, the export and the viewer make them. */
function everyRead(db: SqliteDatabase, runIds: readonly number[]) {
  const store = new ResultStore(db);
  const featureIds = (db.prepare('SELECT id FROM features ORDER BY id').all() as { id: number }[]).map((f) => f.id);
  return runIds.map((runId) => {
    const run = store.getRun(runId)!;
    return {
      scoreRecords: [...scoreRecordsOfRun(db, runId, { perSource: 3 })],
      scoreRecordsPage: [
        ...scoreRecordsOfRun(db, runId, { perSource: 5, sources: ['top'], featureIds: featureIds.slice(1, 3) }),
      ],
      viewer: featureIds.map((featureId) => featureRecordsInRun(db, runId, featureId)),
      report: buildReportData(db, run, { generatedAt: '2026-01-01T00:00:00.000Z' }),
      exports: (['jsonl', 'csv', 'neuronpedia'] as const).map((format) => exportRun(db, run, format)),
    };
  });
}

describe('record windows (migration 12)', () => {
  it('digests a window as sha256 of its tokens JSON, a NUL byte and its float32 bytes', () => {
    const sha256 = (...parts: (string | Uint8Array)[]) => {
      const digest = createHash('sha256');
      for (const part of parts) digest.update(part);
      return digest.digest();
    };
    const long = 'ß€😀'.repeat(3000); // multi-byte UTF-8, longer than the first scratch buffer
    for (const tokens of [['a', ' b'], [' é', '😀', '\u0000'], [long]]) {
      const tokensJson = JSON.stringify(tokens);
      const activations = encodeFloat32Column(tokens.map((_, i) => i / 2));
      expect(windowDigest(tokensJson, activations)).toEqual(sha256(tokensJson, Buffer.from([0]), activations));
    }
  });

  it('finds a window by feature and content: equal windows of a feature are one row, of two features two', () => {
    const db = openDatabase(':memory:');
    db.exec(
      `INSERT INTO features (id, model, layer, kind, idx) VALUES (1, 'm', '0', 'neuron', 0), (2, 'm', '0', 'neuron', 1)`,
    );
    const windows = new RecordWindowWriter(db);
    const a = { tokens: ['a', 'b'], activations: [0, 1.5] };
    const b = { tokens: ['a', 'b'], activations: [0, 2.5] }; // same tokens, other activations
    const c = { tokens: ['a', 'b\u0000'], activations: [0, 1.5] };
    const first = windows.idsOf(1, [a, b, a, c]);
    expect(first[0]).toBe(first[2]);
    expect(new Set(first).size).toBe(3);
    expect(windows.idsOf(1, [c, a])).toEqual([first[3], first[0]]); // a second run adds nothing
    expect(windows.idOf(1, b.tokens, b.activations)).toBe(first[1]);
    const other = windows.idsOf(2, [a]);
    expect(first).not.toContain(other[0]);
    expect(count(db, 'record_windows')).toBe(4);
    db.close();
  });

  it('stores a window once per feature, however many runs use it', () => {
    const { store, runIds } = twoRuns('two-runs.db');
    const db = store.db;
    const perRun = runIds.map(
      (runId) => (db.prepare('SELECT COUNT(*) AS n FROM records WHERE run_id = ?').get(runId) as { n: number }).n,
    );
    expect(perRun[0]).toBeGreaterThan(0);
    expect(perRun[1]).toBe(perRun[0]);
    // Both runs dealt the same windows: each is one row, pointed at by a record of each run.
    const distinct = db
      .prepare(
        `SELECT COUNT(*) AS n FROM (SELECT DISTINCT r.feature_id, w.tokens, w.activations
           FROM records r JOIN record_windows w ON w.id = r.window_id WHERE r.run_id = ?)`,
      )
      .get(runIds[0]) as { n: number };
    expect(count(db, 'record_windows')).toBe(distinct.n);
    expect(db.prepare('SELECT COUNT(*) AS n FROM records WHERE window_id IS NULL').get() as { n: number }).toEqual({
      n: 0,
    });
    // Each window's digest is the digest of what it holds.
    for (const window of db.prepare('SELECT digest, tokens, activations FROM record_windows').all() as {
      digest: Buffer;
      tokens: string;
      activations: Buffer;
    }[]) {
      expect(window.digest.equals(windowDigest(window.tokens, window.activations))).toBe(true);
    }
    // The second run reads the same records as the first.
    const [first, second] = runIds.map((runId) => [...scoreRecordsOfRun(db, runId, { perSource: 5 })]);
    expect(second).toEqual(first);
    db.close();
  });

  it('migrates a schema-11 database: windows deduplicated, old columns gone, every read the same', () => {
    const { store, runIds } = twoRuns('current.db');
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    const oldPath = join(directory, 'schema-11.db');
    schema11Copy(join(directory, 'current.db'), oldPath);

    const old = new Database(oldPath);
    const recordsBefore = old
      .prepare('SELECT id, run_id, feature_id, split, source, position, tokens, activations FROM records ORDER BY id')
      .all();
    old.close();

    const migrated = openDatabase(oldPath);
    expect(migrated.pragma('user_version', { simple: true })).toBe(migrations.length);
    const columns = (migrated.pragma('table_info(records)') as { name: string }[]).map((c) => c.name);
    expect(columns).not.toContain('tokens');
    expect(columns).not.toContain('activations');
    expect(
      migrated
        .prepare(
          `SELECT r.id, r.run_id, r.feature_id, r.split, r.source, r.position, w.tokens, w.activations
           FROM records r JOIN record_windows w ON w.id = r.window_id ORDER BY r.id`,
        )
        .all(),
    ).toEqual(recordsBefore);
    expect(count(migrated, 'record_windows')).toBe(count(store.db, 'record_windows'));
    expect(migrated.pragma('foreign_key_check')).toEqual([]);
    expect(everyRead(migrated, runIds)).toEqual(everyRead(store.db, runIds));
    migrated.close();
    store.db.close();
  });
});
