/**
 * `--score KIND` with a judged scorer's kind (detection.balanced_accuracy, …) in leaderboard, compare, regress and
 * report, in-process; a kind the run does not have is a usage error (exit 2) that lists the run's kinds.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { type CliResult, cli as runCli } from '../helpers/run-cli.ts';
import { plantScores } from '../report/scorer-rows.ts';
import { featuresWith, syntheticRun } from '../report/synthetic-store.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-judged-cli-'));
const db = join(directory, 'runs.db');

const cli = (args: string[]): Promise<CliResult> => runCli(args, { cwd: directory, env: { AUTOINTERP_DB: db } });

beforeAll(() => {
  const store = new ResultStore(openDatabase(db));
  for (const [name, shift] of [
    ['base', 0],
    ['worse', -0.1],
  ] as const) {
    const runId = syntheticRun(store, { name, features: featuresWith(12, (i) => i / 20, 2) });
    plantScores(
      store.db,
      runId,
      Array.from({ length: 12 }, (_, i) => ({
        index: i,
        kind: 'detection.balanced_accuracy',
        value: 0.6 + ((i * 7) % 5) / 20 + shift,
      })),
    );
  }
  store.db.close();
});

describe('--score with a judged kind', () => {
  it('leaderboard ranks by it; an absent kind is exit 2 naming the kinds the run has', async () => {
    const board = await cli(['leaderboard', '--run', 'base', '--score', 'detection.balanced_accuracy', '--json']);
    expect(board.code, board.stderr).toBe(0);
    const json = JSON.parse(board.stdout) as { scoreKind: string; rows: { scored: number }[] };
    expect(json.scoreKind).toBe('detection.balanced_accuracy');
    expect(json.rows.map((row) => row.scored)).toEqual([6, 6]);
    const absent = await cli(['leaderboard', '--run', 'base', '--score', 'fuzzing.balanced_accuracy']);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('run 1 has no "fuzzing.balanced_accuracy" scores (it has: absdev.all, ');
    expect(absent.stderr).toContain('detection.balanced_accuracy');
  });

  it('compare and regress pair on it; regress flags the planted drop of 0.1', async () => {
    const compare = await cli(['compare', 'base', 'worse', '--score', 'detection.balanced_accuracy', '--json']);
    expect(compare.code, compare.stderr).toBe(0);
    const comparison = JSON.parse(compare.stdout) as { scoreKind: string; paired: number };
    expect(comparison).toMatchObject({ scoreKind: 'detection.balanced_accuracy', paired: 12 });
    const regress = await cli([
      'regress',
      '--baseline',
      'base',
      '--candidate',
      'worse',
      '--score',
      'detection.balanced_accuracy',
      '--max-drop',
      '0.02',
    ]);
    expect(regress.code, regress.stderr).toBe(1);
    expect(regress.stdout.trimEnd().split('\n').at(-1)).toMatch(/^REGRESSION: detection.balanced_accuracy /);
    const absent = await cli(['compare', 'base', 'worse', '--score', 'intervention.score']);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toMatch(/has no "intervention.score" scores \(it has: .*detection.balanced_accuracy/);
  });

  it('report uses it for the leaderboard and histograms; an absent kind is exit 2', async () => {
    const out = join(directory, 'report.html');
    const report = await cli(['report', '--run', 'base', '--score', 'detection.balanced_accuracy', '--out', out]);
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('Leaderboard per layer — detection.balanced_accuracy');
    const absent = await cli(['report', '--run', 'base', '--score', 'detection.auroc', '--out', out]);
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain('has no "detection.auroc" scores');
  });
});
