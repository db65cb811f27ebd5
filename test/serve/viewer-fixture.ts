/**
 * Test helper: a results database for the viewer's tests, written as the pipeline writes (test/report's synthetic
 * store): two runs of the same 30 features over three layers, scores with many ties (five distinct values) and one
 * undefined, feature 0 with hostile text (a `<script>` token, control characters, markup in its explanation) and
 * records of every source, a judge's answers, and a second run where three features moved (two regressions).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticRun, type SyntheticFeature } from '../report/synthetic-store.ts';

export const SCRIPT_TOKEN = '<script>alert(1)</script>';
export const CONTROL_TOKEN = '\u0007bell\u001b[31m';
export const HOSTILE_EXPLANATION = `tokens like ${SCRIPT_TOKEN} and <img src=x onerror=alert(2)> & "quotes"`;
export const FEATURE_COUNT = 30;
const VALUES = [0.9, 0.5, 0.5, 0.2, -0.1];

/** correlation.all of feature i in the first run (null for feature 3). */
export const baselineValue = (i: number): number | null => (i === 3 ? null : VALUES[i % VALUES.length]!);
/** In the second run feature 5 drops by 0.6, feature 6 by 0.3, feature 7 rises by 0.05. */
export const candidateValue = (i: number): number | null => {
  const value = baselineValue(i);
  if (value === null) return null;
  return value + (i === 5 ? -0.6 : i === 6 ? -0.3 : i === 7 ? 0.05 : 0);
};

function features(value: (i: number) => number | null): SyntheticFeature[] {
  return Array.from({ length: FEATURE_COUNT }, (_, i) => ({
    layer: i % 3,
    index: i,
    value: value(i),
    explanation: i === 0 ? HOSTILE_EXPLANATION : i === 1 ? 'plural nouns such as dogs' : `tokens like t${i}`,
    ...(i === 0
      ? {
          records: [
            {
              split: 'score' as const,
              source: 'top' as const,
              tokens: [SCRIPT_TOKEN, CONTROL_TOKEN, 'a\nb', ''],
              activations: [3, 1.5, 0, 0],
              expected: [9, null, 0, 0],
            },
            {
              split: 'score' as const,
              source: 'quantile-1' as const,
              tokens: ['q', 'r'],
              activations: [0.5, 0],
              expected: [2, 0],
            },
            {
              split: 'score' as const,
              source: 'random' as const,
              tokens: ['x', 'y'],
              activations: [0, 0],
              expected: [0, 1],
            },
            { split: 'explain' as const, source: 'top' as const, tokens: ['e', 'f'], activations: [2, 0] },
          ],
        }
      : {}),
  }));
}

export interface ViewerFixture {
  path: string;
  baselineRun: number;
  candidateRun: number;
  /** features.id of feature index i. */
  featureId(index: number): number;
}

/** Writes the database and closes it (WAL checkpointed into the file). */
export function buildViewerFixture(directory = mkdtempSync(join(tmpdir(), 'autointerp-serve-'))): ViewerFixture {
  const path = join(directory, 'viewer.db');
  const db = openDatabase(path);
  const store = new ResultStore(db);
  const baselineRun = syntheticRun(store, { name: 'baseline <b>run</b>', features: features(baselineValue) });
  const candidateRun = syntheticRun(store, { name: 'candidate', features: features(candidateValue) });
  db.prepare(
    'INSERT INTO judgements (run_id, feature_id, scorer, judge, prompt_version, examples) VALUES (?, (SELECT id FROM features WHERE idx = 0), ?, ?, ?, ?)',
  ).run(
    baselineRun,
    'detection',
    'baseline:rule-based-v1',
    'detection.v1',
    JSON.stringify([
      { tokens: ['<b>bold</b>', ' y'], source: 'top', truth: true, predicted: false, probability: 0.25 },
      { tokens: ['z'], source: 'random-negative', truth: false, predicted: false, probability: null },
    ]),
  );
  const candidate = db.prepare(
    `INSERT INTO explanation_candidates (run_id, feature_id, candidate, parent, kind, text, prompt_version, calibration_score, held_out_score, selected)
     VALUES (?, (SELECT id FROM features WHERE idx = 1), ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  candidate.run(baselineRun, 0, null, 'sample', 'nouns <i>maybe</i>', 'explain.v1', 0.4, null, 0);
  candidate.run(baselineRun, 1, 0, 'revision', 'plural nouns such as dogs', 'revise.v1', 0.7, 0.5, 1);
  const ids = new Map(
    (db.prepare('SELECT id, idx FROM features').all() as { id: number; idx: number }[]).map((row) => [row.idx, row.id]),
  );
  db.close();
  return { path, baselineRun, candidateRun, featureId: (index) => ids.get(index)! };
}
