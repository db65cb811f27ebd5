/**
 * Issue 14's "no behaviour changes": `autointerp run --demo` then `autointerp leaderboard --json` (in-process) print
 * the leaderboard of test/fixtures/demo-leaderboard.json, recorded before the restructuring, number for number (the scorer columns of issue 16, `scorerMeans`, were added to it when those scorers joined the demo; no earlier number changed). Only
 * volatile fields (the run's id, timestamps) are left out of the comparison.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-demo-leaderboard-'));
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
    const env = { AUTOINTERP_DB: join(directory, 'demo.db') };
    // The whole demo, ablation included: the leaderboard's ablationMedian column comes from it.
    const run = await cli(['run', '--demo', '--no-progress'], { cwd: directory, env });
    expect(run.code, run.stderr).toBe(0);
    const board = await cli(['leaderboard', '--json'], { cwd: directory, env });
    expect(board.code, board.stderr).toBe(0);
    const expected = JSON.parse(readFileSync(fixture, 'utf8')) as { run: { id: number } };
    const actual = JSON.parse(board.stdout) as { run: { id: number } };
    expect(actual.run.id).toEqual(expect.any(Number));
    expect(withoutVolatileFields(actual)).toEqual(withoutVolatileFields(expected));
  }, 900_000); // a hang guard only: the whole demo takes minutes on 2 busy cores
});
