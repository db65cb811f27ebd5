/**
 * The streamed leaderboard and compare on edge cases of the store: feature ids far apart (one at 2^33, which no typed
 * array indexed by id could hold: ids are mapped to dense slots, report/feature-slots.ts) give what the same data with
 * dense ids gives; and ±Infinity values, equal infinities included, rank as the in-memory versions rank them (ties
 * broken by feature, not left to a NaN difference).
 */
import { describe, expect, it } from 'vitest';
import { compareRuns } from '../../src/report/compare.ts';
import { denseSlots, featureSlots, sparseSlots } from '../../src/report/feature-slots.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.ts';
import type { RunRow } from '../../src/store/result-store.ts';
import { inMemoryCompareRuns } from './in-memory-compare.ts';
import { inMemoryLeaderboard } from './in-memory-leaderboard.ts';

/** JSON that keeps Infinity, -Infinity, NaN and -0 apart (JSON.stringify writes null or 0 for them). */
const exact = (value: unknown) =>
  JSON.stringify(value, (_key, x) =>
    typeof x === 'number' && (!Number.isFinite(x) || Object.is(x, -0)) ? `#${Object.is(x, -0) ? '-0' : String(x)}` : x,
  );

const VALUES = [Infinity, -Infinity, 0.5, 0.5, -0.25, 0.9, 1e308, -1e308, 0, 0.8];

/**
 * Three runs over 80 features (ids from `idOf`): run 2 lacks some of run 1's features, modes vary (none, '', sampled),
 * some scores are null, run 1 has a second kind, and run 3 has only null scores. Values cycle through ±Infinity,
 * ±1e308 and ties.
 */
function buildStore(idOf: (position: number) => number): { db: SqliteDatabase; runs: RunRow[] } {
  const db = openDatabase(':memory:');
  const now = '2026-01-01T00:00:00Z';
  const insert = {
    run: db.prepare(`INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, finished_at, status)
       VALUES (?, ?, '{}', 'test', '{"explain":"explain.v1","simulate":"simulate.v1"}', 'mock:e', 'mock:s', 0, 'synthetic', ?, ?, 'finished')`),
    feature: db.prepare('INSERT INTO features (id, model, layer, kind, idx, sae) VALUES (?, ?, ?, ?, ?, ?)'),
    unit: db.prepare(
      'INSERT INTO run_features (run_id, feature_id, status, stage, reason, finished_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    explanation: db.prepare(
      `INSERT INTO explanations (run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (?, ?, ?, 'mock:e', 'explain.v1', 0, ?)`,
    ),
    score: db.prepare(
      `INSERT INTO scores (run_id, feature_id, explanation_id, kind, value, reason, n_tokens, n_missing, simulation_mode, records_per_call) VALUES (?, ?, ?, ?, ?, ?, 50, 0, ?, ?)`,
    ),
  };
  for (const run of [1, 2, 3]) insert.run.run(run, `run ${run}`, now, now);
  const positions = Array.from({ length: 80 }, (_, position) => position);
  for (const position of positions)
    insert.feature.run(idOf(position), 'm', position % 2 ? '1' : '0', 'neuron', position, '');
  for (const position of positions) {
    const id = idOf(position);
    for (const run of [1, 2]) {
      if (run === 2 && position % 9 === 0) continue; // in run 1 only
      insert.unit.run(run, id, 'scored', null, null, now);
      const explanation = insert.explanation.run(run, id, `text ${position}`, now).lastInsertRowid;
      const value = VALUES[(position + run) % VALUES.length]!;
      const mode = position % 5 === 0 ? '' : position % 7 === 0 ? null : 'sampled';
      const isNull = position % 11 === 0;
      insert.score.run(
        run,
        id,
        explanation,
        'correlation.all',
        isNull ? null : value,
        isNull ? 'constant' : null,
        mode,
        null,
      );
      if (run === 1) insert.score.run(run, id, explanation, 'detection.balanced_accuracy', value, null, null, null);
    }
  }
  for (const position of positions.slice(0, 5)) {
    insert.unit.run(3, idOf(position), 'scored', null, null, now);
    insert.score.run(3, idOf(position), null, 'correlation.all', null, 'never', null, null);
  }
  return { db, runs: db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[] };
}

const denseIds = (position: number) => position + 1;
/** Two blocks far apart, the second past 2^33 (beyond any typed array's length). */
const sparseIds = (position: number) => (position < 40 ? position + 1 : 2 ** 33 + position * 7);

/** Every report the two builds must agree on, as exact JSON. */
function reports(db: SqliteDatabase, runs: RunRow[], build: 'streamed' | 'in-memory'): string[] {
  const leaderboard = build === 'streamed' ? buildLeaderboard : inMemoryLeaderboard;
  const compare = build === 'streamed' ? compareRuns : inMemoryCompareRuns;
  const [first, second] = [runs[0]!, runs[1]!];
  const out: string[] = [];
  for (const run of runs)
    for (const kind of ['correlation.all', 'detection.balanced_accuracy'])
      out.push(exact(leaderboard(db, run, kind, { top: 3 })));
  out.push(exact(leaderboard(db, first, 'correlation.all', { filters: { simulationMode: '' } })));
  out.push(exact(compare(db, first, second, { top: 5 })));
  out.push(exact(compare(db, second, first, { top: 5 })));
  return out;
}

describe('leaderboard and compare on sparse feature ids and infinite values', () => {
  it('rank ±Infinity (equal infinities tied, broken by feature) as the in-memory versions do', () => {
    const { db, runs } = buildStore(denseIds);
    expect(reports(db, runs, 'streamed')).toEqual(reports(db, runs, 'in-memory'));
  });

  it('give with ids 1..40 and 2^33.. what they give with ids 1..80, in arrays of 80 slots, not 2^33', () => {
    const dense = buildStore(denseIds);
    const sparse = buildStore(sparseIds);
    expect(featureSlots(sparse.db).size).toBe(80);
    expect(featureSlots(dense.db).size).toBe(81); // dense: indexed by id itself (id 0 unused)
    expect(reports(sparse.db, sparse.runs, 'streamed')).toEqual(reports(dense.db, dense.runs, 'streamed'));
    expect(reports(sparse.db, sparse.runs, 'streamed')).toEqual(reports(sparse.db, sparse.runs, 'in-memory'));
  });
});

describe('feature slots', () => {
  it('sparse: each stored id has its position, in id order; other ids none', () => {
    const slots = sparseSlots(Float64Array.from([3, 17, 2 ** 33, 2 ** 40]));
    expect([3, 17, 2 ** 33, 2 ** 40].map((id) => slots.slotOf(id))).toEqual([0, 1, 2, 3]);
    expect([0, 4, 2 ** 33 + 1, 2 ** 41].map((id) => slots.slotOf(id))).toEqual([-1, -1, -1, -1]);
    expect([0, 1, 2, 3].map((slot) => slots.featureIdOf(slot))).toEqual([3, 17, 2 ** 33, 2 ** 40]);
  });

  it('dense: the slot is the id', () => {
    const slots = denseSlots(10);
    expect([0, 9, 10].map((id) => slots.slotOf(id))).toEqual([0, 9, -1]);
    expect(slots.featureIdOf(7)).toBe(7);
  });
});
