/**
 * The whole demo, `autointerp run --demo --db <file>` (what `npm start` runs, ablation included), run once in-process
 * for every check of it, which were three files that each ran the demo (it took minutes on 2 busy cores):
 * - issue 14's "no behaviour changes": `autointerp leaderboard --json` then prints the leaderboard of
 *   test/fixtures/demo-leaderboard.json, recorded before the restructuring, number for number (the scorer columns of
 *   issue 16, `scorerMeans`, were added to it when those scorers joined the demo; no earlier number changed). Only
 *   volatile fields (the run's id, timestamps) are left out of the comparison;
 * - the run end to end, offline: progress, the leaderboard, a finished run, a score for every active feature;
 * - its last line says how to open the viewer on the database it wrote.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cli } from '../helpers/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-demo-run-'));
const db = join(directory, 'demo.db');
let run: CliResult;
beforeAll(async () => {
  // Progress left on (non-TTY lines, checked below); the database named by --db, which the closing hint repeats.
  run = await cli(['run', '--demo', '--db', db], { cwd: directory });
}, 1_800_000); // a hang guard only: the whole demo took 492 s at load 15–20 on 2 cores
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const fixture = new URL('../fixtures/demo-leaderboard.json', import.meta.url);

/** Field names whose values differ from run to run by design. */
const volatileField = /^(id|runId|createdAt|startedAt|finishedAt|updatedAt|durationMs|timestamp)$/;

/**
 * The leaderboard JSON without its volatile fields, at any depth, numbers to 12 significant digits: features are saved
 * in the order they finish, which the scorers running side by side may change, and a mean summed in another order
 * differs in its last bits (every stored score is the same).
 */
function withoutVolatileFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutVolatileFields);
  if (typeof value === 'number') return Number(value.toPrecision(12));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !volatileField.test(key))
      .map(([key, inner]) => [key, withoutVolatileFields(inner)]),
  );
}

describe('the demo leaderboard', () => {
  it('is the one recorded before the restructuring (issue 14), number for number', async () => {
    // The whole demo, ablation included: the leaderboard's ablationMedian column comes from it.
    expect(run.code, run.stderr).toBe(0);
    const board = await cli(['leaderboard', '--json', '--db', db], { cwd: directory });
    expect(board.code, board.stderr).toBe(0);
    const expected = JSON.parse(readFileSync(fixture, 'utf8')) as { run: { id: number } };
    const actual = JSON.parse(board.stdout) as { run: { id: number } };
    expect(actual.run.id).toEqual(expect.any(Number));
    expect(withoutVolatileFields(actual)).toEqual(withoutVolatileFields(expected));
  });
});

describe('the demo run', () => {
  it('runs offline end to end: progress, leaderboard, a finished run, a score for every active feature', async () => {
    expect(run.stderr).toMatch(/BASELINE/);
    expect(run.stderr).toMatch(/autointerp \[.*\] \d+\/\d+ features/); // progress bar (non-TTY lines)
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Leaderboard — run 1/);
    expect(run.stdout).toMatch(/BASELINE: offline rule-based/);
    const database = new Database(db, { readonly: true });
    const runRow = database.prepare('SELECT status, explainer, simulator, is_baseline FROM runs').get();
    expect(runRow).toEqual({
      status: 'finished',
      explainer: 'baseline:rule-based-v1',
      simulator: 'baseline:rule-based-v1',
      is_baseline: 1,
    });
    const perFeature = database
      .prepare(
        `SELECT f.max_activation AS max, s.value, s.reason FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.kind = 'correlation.all'`,
      )
      .all() as { max: number; value: number | null; reason: string | null }[];
    const features = (database.prepare('SELECT COUNT(*) AS n FROM features').get() as { n: number }).n;
    expect(perFeature).toHaveLength(features);
    // Every active feature is scored; the baseline's explanation of one may name no token of the score records, whose
    // simulation is then constant: a null score with that reason (at most a couple of the 88 features).
    let constant = 0;
    for (const row of perFeature) {
      if (row.max > 0 && row.value === null) {
        expect(row.reason, `feature with max ${row.max}`).toBe('constant simulated activations');
        constant += 1;
      } else if (row.max <= 0) expect(row.reason).toMatch(/never activates/);
    }
    expect(constant).toBeLessThanOrEqual(2);
    const explanations = database
      .prepare('SELECT DISTINCT explainer, is_baseline, prompt_version FROM explanations')
      .all();
    expect(explanations).toEqual([
      { explainer: 'baseline:rule-based-v1', is_baseline: 1, prompt_version: 'explain.v1' },
    ]);
    database.close();

    const board = await cli(['leaderboard', '--json', '--db', db]);
    expect(board.code).toBe(0);
    const json = JSON.parse(board.stdout) as { baseline: boolean; rows: { layer: string }[] };
    expect(json.baseline).toBe(true);
    expect(new Set(json.rows.map((r) => r.layer)).size).toBeGreaterThanOrEqual(3);
  });

  it('ends with the command that opens the viewer on its database', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(
      `browse these results: autointerp serve --db ${JSON.stringify(db)}, then open http://127.0.0.1:8321/`,
    );
  });
});
