/**
 * Issue 19: the leaderboard and compare stream a run's scores as (value, feature id) from the index instead of
 * holding a row per feature with its key. At 10,000 features in two runs (several models, layers, SAEs, simulation
 * protocols, null scores, failed, skipped and missing features, ties, other scorer kinds, features saved in a shuffled
 * order) they give exactly what the in-memory versions gave, key for key and bit for bit; and the rows they read with
 * any text in them are the few that need it, not one per feature.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { compareRuns } from '../../src/report/compare.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.ts';
import type { RunRow } from '../../src/store/result-store.ts';
import { inMemoryCompareRuns } from './in-memory-compare.ts';
import { inMemoryLeaderboard } from './in-memory-leaderboard.ts';

interface FeatureSpec {
  model: string;
  layer: string;
  kind: 'neuron' | 'sae';
  sae: string;
}

/** Feature groups and how many features each has: one above the 5,000 of the normal approximation. */
const GROUPS: [FeatureSpec, number][] = [
  [{ model: 'gpt2', layer: '0', kind: 'neuron', sae: '' }, 7000],
  [{ model: 'gpt2', layer: '1', kind: 'sae', sae: 'res-a' }, 1000],
  [{ model: 'gpt2', layer: '1', kind: 'sae', sae: 'res-b' }, 500],
  [{ model: 'gpt2', layer: '10', kind: 'neuron', sae: '' }, 900],
  [{ model: 'gpt2', layer: 'blocks.2.hook_resid_post', kind: 'sae', sae: '' }, 350],
  [{ model: 'brown-1l', layer: '0', kind: 'neuron', sae: '' }, 250],
];

/**
 * Two runs over the groups' features, written in SQL in a shuffled feature order. Run 2 differs from run 1 by small
 * moves (ties included), and each run has its own null scores, failures, skips and absent features. Layer 10 mixes
 * simulation protocols; the brown-1l features were scored without simulation (no mode). Both runs also have
 * ablation and detection scores for some features.
 */
function buildRuns(): { db: SqliteDatabase; runs: [RunRow, RunRow] } {
  const db = openDatabase(':memory:');
  const random = mulberry32(19);
  const features = GROUPS.flatMap(([spec, count]) => Array.from({ length: count }, (_, index) => ({ ...spec, index })));
  for (let i = features.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [features[i], features[j]] = [features[j]!, features[i]!];
  }
  const now = '2026-01-01T00:00:00Z';
  const insertRun = db.prepare(
    `INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, finished_at, status)
     VALUES (?, ?, '{}', 'test', '{"explain":"explain.v1","simulate":"simulate.v1"}', 'mock:explainer', 'mock:simulator', 0, 'synthetic', ?, ?, 'finished')`,
  );
  const insertFeature = db.prepare('INSERT INTO features (id, model, layer, kind, idx, sae) VALUES (?, ?, ?, ?, ?, ?)');
  const insertUnit = db.prepare(
    'INSERT INTO run_features (run_id, feature_id, status, stage, reason, finished_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertExplanation = db.prepare(
    `INSERT INTO explanations (run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at)
     VALUES (?, ?, ?, 'mock:explainer', 'explain.v1', 0, ?)`,
  );
  const insertScore = db.prepare(
    `INSERT INTO scores (run_id, feature_id, explanation_id, kind, value, reason, n_tokens, n_missing, simulation_mode, records_per_call)
     VALUES (?, ?, ?, ?, ?, ?, 50, 0, ?, ?)`,
  );
  db.transaction(() => {
    for (const run of [1, 2]) insertRun.run(run, `run ${run}`, now, now);
    features.forEach((feature, i) =>
      insertFeature.run(i + 1, feature.model, feature.layer, feature.kind, feature.index, feature.sae),
    );
    for (const run of [1, 2]) {
      features.forEach((feature, i) => {
        const id = i + 1;
        const draw = random();
        if (draw < 0.01) return; // absent from this run
        if (draw < 0.02) {
          insertUnit.run(run, id, 'failed', 'explain', draw < 0.015 ? 'timeout' : 'no explanation', now);
          return;
        }
        if (draw < 0.025) {
          insertUnit.run(run, id, 'skipped', null, 'feature never activates', now);
          return;
        }
        insertUnit.run(run, id, 'scored', null, null, now);
        if (draw < 0.03) return; // scored, but no score of the kinds compared
        const explanationId = insertExplanation.run(run, id, `tokens like t${feature.index}`, now)
          .lastInsertRowid as number;
        const base = Math.round(((feature.index * 7919 + feature.layer.length * 13) % 1400) - 400) / 1000;
        const moved = run === 1 ? base : Math.round((base + (Math.floor(random() * 11) - 5) / 100) * 1000) / 1000;
        const nullReason = draw < 0.04 ? 'constant true activations' : draw < 0.045 ? 'no simulated values' : null;
        const [mode, recordsPerCall] =
          feature.model === 'brown-1l'
            ? [null, null]
            : feature.layer === '10'
              ? (
                  [
                    ['prompt-logprobs', null],
                    ['prompt-logprobs', 4],
                    ['sampled', null],
                  ] as const
                )[feature.index % 3]!
              : ['prompt-logprobs', null];
        insertScore.run(
          run,
          id,
          explanationId,
          'correlation.all',
          nullReason ? null : moved,
          nullReason,
          mode,
          recordsPerCall,
        );
        if (feature.index % 4 === 0)
          insertScore.run(run, id, explanationId, 'ablation.all', moved - 0.5, null, null, null);
        if (feature.index % 3 !== 0) {
          const detection = feature.index % 7 === 0 ? null : Math.round(random() * 100) / 100;
          insertScore.run(
            run,
            id,
            explanationId,
            'detection.balanced_accuracy',
            detection,
            detection === null ? 'judge gave no answer' : null,
            null,
            null,
          );
        }
      });
    }
  })();
  const runOf = (id: number) => db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow;
  return { db, runs: [runOf(1), runOf(2)] };
}

/** Counts the rows any statement hands back that carry text (a row with a string in it, or a plucked string). */
function countTextRows(db: SqliteDatabase): { rows: number; restore: () => void } {
  const counter = { rows: 0, restore: () => Reflect.deleteProperty(db, 'prepare') };
  const hasText = (row: unknown) =>
    typeof row === 'string' ||
    (row !== null && typeof row === 'object' && Object.values(row).some((value) => typeof value === 'string'));
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const statement = prepare(source);
    const all = statement.all.bind(statement);
    const get = statement.get.bind(statement);
    const iterate = statement.iterate.bind(statement);
    statement.all = ((...parameters: unknown[]) => {
      const rows = all(...parameters);
      counter.rows += rows.filter(hasText).length;
      return rows;
    }) as typeof statement.all;
    statement.get = ((...parameters: unknown[]) => {
      const row = get(...parameters);
      if (hasText(row)) counter.rows++;
      return row;
    }) as typeof statement.get;
    statement.iterate = function* (...parameters: unknown[]) {
      for (const row of iterate(...parameters)) {
        if (hasText(row)) counter.rows++;
        yield row;
      }
    } as typeof statement.iterate;
    return statement;
  }) as typeof db.prepare;
  return counter;
}

const json = (value: unknown) => JSON.stringify(value);

describe('streamed leaderboard and compare (issue 19)', () => {
  const { db, runs } = buildRuns();

  it.each([
    ['correlation.all', {}],
    ['correlation.all', { top: 0, seed: 7 }],
    ['correlation.all', { top: 10, filters: { model: 'gpt2', featureKind: 'sae' } }],
    ['correlation.all', { filters: { layer: '10', simulationMode: 'prompt-logprobs' } }],
    ['detection.balanced_accuracy', {}],
    ['ablation.all', { top: 2 }],
  ] as const)('the leaderboard by %s %j is the in-memory one, key for key and bit for bit', (kind, options) => {
    for (const run of runs) {
      const streamed = buildLeaderboard(db, run, kind, options);
      expect(json(streamed)).toBe(json(inMemoryLeaderboard(db, run, kind, options)));
      expect(streamed.rows.length).toBeGreaterThan(0);
    }
  });

  it('the leaderboard covers both interval methods, mixed protocols and unsimulated rows', () => {
    const rows = buildLeaderboard(db, runs[0], 'correlation.all').rows;
    expect(new Set(rows.map((row) => row.ci?.method))).toEqual(new Set(['normal', 'bootstrap']));
    expect(rows.filter((row) => row.layer === '10').map((row) => [row.simulationMode, row.recordsPerCall])).toEqual([
      ['prompt-logprobs', null],
      ['prompt-logprobs', 4],
      ['sampled', null],
    ]);
    expect(rows.find((row) => row.model === 'brown-1l')?.simulationMode).toBeNull();
    expect(rows.some((row) => row.failed > 0 && row.undefinedScores > 0)).toBe(true);
  });

  it.each([
    ['correlation.all', {}],
    ['correlation.all', { top: 0, seed: 3, resamples: 500 }],
    ['detection.balanced_accuracy', { top: 25, resamples: 1000 }],
    ['ablation.all', { top: 3, resamples: 1000 }],
  ] as const)('compare by %s %j is the in-memory one, both ways round', (kind, options) => {
    const options_ = { scoreKind: kind, ...options };
    for (const [baseline, candidate] of [runs, [runs[1], runs[0]]] as const) {
      const streamed = compareRuns(db, baseline, candidate, options_);
      expect(json(streamed)).toBe(json(inMemoryCompareRuns(db, baseline, candidate, options_)));
    }
  });

  it('compare covers both interval methods, every kind of unpaired feature and ties among the most moved', () => {
    const comparison = compareRuns(db, runs[0], runs[1]);
    expect(comparison.overall.ci?.method).toBe('normal');
    expect(comparison.layers.some((layer) => layer.ci?.method === 'bootstrap')).toBe(true);
    const causes = new Set(comparison.unpaired.flatMap((entry) => [entry.baseline, entry.candidate]));
    expect(causes).toEqual(new Set(['scored', 'null', 'failed', 'skipped', 'absent']));
    const worst = comparison.mostWorsened.map((feature) => feature.difference);
    expect(worst.length).toBe(10);
    expect(new Set(worst).size).toBeLessThan(worst.length); // ties, ordered by feature key
  });

  it('reads text only where it is needed, not a row per feature', () => {
    const unpairable = db
      .prepare(
        `SELECT (SELECT COUNT(*) FROM scores WHERE kind = 'correlation.all' AND value IS NULL) + (SELECT COUNT(*)
           FROM run_features r WHERE NOT EXISTS (SELECT 1 FROM scores s WHERE s.run_id = r.run_id
             AND s.feature_id = r.feature_id AND s.kind = 'correlation.all'))`,
      )
      .pluck()
      .get() as number;
    const counter = countTextRows(db);
    try {
      buildLeaderboard(db, runs[0]);
      // null scores' reasons, groups, the listed features' explanations, the failed features counted per group
      expect(counter.rows).toBeLessThan(unpairable + 100);
      counter.rows = 0;
      compareRuns(db, runs[0], runs[1]);
      // null scores' reasons, units without a score (failed, skipped, scored without this kind), examples, the listed
      // features, the runs' settings
      expect(counter.rows).toBeLessThan(unpairable + 200);
      expect(unpairable).toBeLessThan(2000); // against the 10,000 features a row per feature would read
    } finally {
      counter.restore();
    }
  });
});
