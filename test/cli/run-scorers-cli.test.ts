/**
 * `autointerp run --scorers … --judge …` as a user sees it (in-process): unknown or empty scorer lists are usage
 * errors (exit 2) naming the flag and the known scorers, before any database is created; a selection and a judge
 * are announced, stored with the run, and only those scorers' rows are written.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.ts';
import { scorers } from '../../src/score/registry.ts';
import { cli } from '../helpers/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-run-scorers-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('run --scorers / --judge', () => {
  it('an unknown scorer is a usage error listing the known ones; nothing is created', async () => {
    const db = join(directory, 'unknown.db');
    const result = await cli(['run', '--demo', '--limit', '1', '--no-progress', '--scorers', 'correlation,detektion'], {
      cwd: directory,
      env: { AUTOINTERP_DB: db },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `--scorers: unknown scorer "detektion"; known: ${scorers.map((scorer) => scorer.name).join(', ')} (or all)`,
    );
    expect(existsSync(db)).toBe(false);
    const empty = await cli(['run', '--demo', '--scorers', ' , '], { cwd: directory, env: { AUTOINTERP_DB: db } });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--scorers expects scorer names separated by commas');
  });

  it('runs only the selected scorers with the judge given, and stores both with the run', async () => {
    const db = join(directory, 'selected.db');
    const result = await cli(
      ['run', '--demo', '--limit', '2', '--no-progress', '--scorers', 'correlation', '--judge', 'baseline'],
      { cwd: directory, env: { AUTOINTERP_DB: db } },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/ · scorers correlation /);
    const database = openDatabase(db);
    const run = database.prepare('SELECT config FROM runs').get() as { config: string };
    expect(JSON.parse(run.config)).toMatchObject({ scorers: ['correlation'], judge: 'baseline' });
    const families = database
      .prepare(`SELECT DISTINCT substr(kind, 1, instr(kind, '.') - 1) AS family FROM scores`)
      .all();
    expect(families.map((row) => (row as { family: string }).family).sort()).toEqual([
      'absdev',
      'correlation',
      'rsquared',
    ]);
    database.close();
  });
});
