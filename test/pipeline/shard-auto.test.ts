/**
 * `run --shard auto`: the shard read from a Slurm array job's or a Kubernetes Indexed Job's variables (unit cases of
 * `shardFromEnvironment`), and a sharded run through the in-process CLI with those variables set, merged with
 * `autointerp merge` into the same features and scores as a one-shard run.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoPlantedPath } from '../../src/pipeline/config.ts';
import { shardFromEnvironment } from '../../src/pipeline/shard-from-environment.ts';
import { cli } from '../helpers/run-cli.ts';

/** Every variable `--shard auto` reads, unset: a call's `env` then sets only what its case needs. */
const noJobSystem = {
  SLURM_ARRAY_TASK_ID: undefined,
  SLURM_ARRAY_TASK_COUNT: undefined,
  SLURM_ARRAY_TASK_MIN: undefined,
  SLURM_ARRAY_TASK_MAX: undefined,
  SLURM_ARRAY_TASK_STEP: undefined,
  JOB_COMPLETION_INDEX: undefined,
};

describe('shardFromEnvironment', () => {
  it('reads a Slurm array task: index relative to the first task, count from SLURM_ARRAY_TASK_COUNT', () => {
    const zeroBased = { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0' };
    expect(shardFromEnvironment(zeroBased)).toMatchObject({ index: 2, count: 4 });
    // --array=1-4: tasks 1…4 are shards 0…3
    const oneBased = { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '1' };
    expect(shardFromEnvironment({ ...oneBased, SLURM_ARRAY_TASK_MAX: '4' })).toMatchObject({ index: 0, count: 4 });
    expect(shardFromEnvironment({ ...oneBased, SLURM_ARRAY_TASK_ID: '4' })).toMatchObject({ index: 3, count: 4 });
    // --array=0-6:2: tasks 0, 2, 4, 6 are shards 0…3
    const stepped = { SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '6', SLURM_ARRAY_TASK_STEP: '2' };
    expect(shardFromEnvironment({ ...stepped, SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' })).toMatchObject({
      index: 2,
      count: 4,
    });
    // without COUNT (older Slurm), the count comes from MIN, MAX and STEP
    expect(shardFromEnvironment({ ...stepped, SLURM_ARRAY_TASK_ID: '6' })).toMatchObject({ index: 3, count: 4 });
    // --shards that agrees is accepted
    expect(shardFromEnvironment(zeroBased, 4)).toMatchObject({ index: 2, count: 4 });
  });

  it('reads a Kubernetes Indexed Job: index from JOB_COMPLETION_INDEX, count from --shards', () => {
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '0' }, 3)).toMatchObject({ index: 0, count: 3 });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' }, 3)).toMatchObject({ index: 2, count: 3 });
  });

  it('refuses missing, invalid or inconsistent variables with a message that names them', () => {
    const cases: [Record<string, string>, number | undefined, RegExp][] = [
      [{}, undefined, /neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX/],
      [{ SLURM_ARRAY_TASK_ID: 'x', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, /SLURM_ARRAY_TASK_ID must be .*"x"/],
      [{ SLURM_ARRAY_TASK_ID: '-1', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, /SLURM_ARRAY_TASK_ID must be/],
      [{ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '2.5' }, undefined, /SLURM_ARRAY_TASK_COUNT must be/],
      [{ SLURM_ARRAY_TASK_ID: '1' }, undefined, /without SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX/],
      [{ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, /SLURM_ARRAY_TASK_ID=4 is not a task/],
      // --array=1,2,7: three tasks, not an evenly spaced range
      [
        { SLURM_ARRAY_TASK_ID: '7', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '7' },
        undefined,
        /not an evenly spaced range/,
      ],
      [{ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4' }, 8, /--shards 8 disagrees .* 4 tasks/],
      [{ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4', JOB_COMPLETION_INDEX: '1' }, 4, /both/],
      [{ JOB_COMPLETION_INDEX: '1' }, undefined, /JOB_COMPLETION_INDEX=1\) .* add --shards N/],
      [{ JOB_COMPLETION_INDEX: '3' }, 3, /JOB_COMPLETION_INDEX=3 is not below --shards 3/],
    ];
    for (const [environment, shards, message] of cases) {
      expect(() => shardFromEnvironment(environment, shards), JSON.stringify(environment)).toThrow(message);
    }
  });
});

describe('run --shard auto (in-process CLI)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'autointerp-shard-auto-'));
  const path = (name: string) => join(directory, name);
  /**
   * The demo's first 8 planted features (of 24): enough for every shard of 3 to hold some and for the merge to be
   * compared feature by feature; the whole run and the five shard runs process 24 features instead of 72.
   */
  const records = path('planted-8.jsonl');
  writeFileSync(records, `${readFileSync(demoPlantedPath, 'utf8').split('\n').slice(0, 8).join('\n')}\n`);
  const runArguments = (database: string) => [
    'run',
    '--records',
    records,
    '--explainer',
    'baseline',
    '--simulator',
    'baseline',
    '--no-ablation',
    '--no-progress',
    '--json',
    '--db',
    path(database),
  ];

  /** Per feature of the file's only run (or of `runId`): its scores, explanation text and simulation mode. */
  function scoresByFeature(file: string, runId = 1) {
    const db = new Database(path(file), { readonly: true });
    try {
      return db
        .prepare(
          `SELECT f.model || '/' || f.layer || '/' || f.kind || '/' || f.idx AS key, s.kind, s.value, s.n_tokens,
             s.simulation_mode, e.text
           FROM scores s JOIN features f ON f.id = s.feature_id LEFT JOIN explanations e ON e.id = s.explanation_id
           WHERE s.run_id = ? ORDER BY key, s.kind`,
        )
        .all(runId);
    } finally {
      db.close();
    }
  }

  function runFeatureKeys(file: string, runId = 1): string[] {
    const db = new Database(path(file), { readonly: true });
    try {
      const rows = db
        .prepare(
          `SELECT f.model || '/' || f.layer || '/' || f.kind || '/' || f.idx AS key
           FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ? ORDER BY key`,
        )
        .all(runId) as { key: string }[];
      return rows.map((row) => row.key);
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    const whole = await cli(runArguments('whole.db'), { env: noJobSystem });
    expect(whole.code, whole.stderr).toBe(0);
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it('Slurm array tasks 1-3 run shards 0/3 … 2/3, and their merge equals the one-shard run', async () => {
    const files = ['slurm-1.db', 'slurm-2.db', 'slurm-3.db'];
    for (const [position, file] of files.entries()) {
      const task = String(position + 1);
      const result = await cli([...runArguments(file), '--shard', 'auto'], {
        env: {
          ...noJobSystem,
          SLURM_ARRAY_TASK_ID: task,
          SLURM_ARRAY_TASK_COUNT: '3',
          SLURM_ARRAY_TASK_MIN: '1',
          SLURM_ARRAY_TASK_MAX: '3',
          SLURM_ARRAY_TASK_STEP: '1',
        },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`--shard auto: shard ${position}/3 from the Slurm array task ${task}`);
      expect(result.stderr).toContain(`(shard ${position}/3)`);
    }
    const shardKeys = files.map((file) => runFeatureKeys(file));
    for (const keys of shardKeys) expect(keys.length).toBeGreaterThan(0);
    const merged = await cli(['merge', ...files.map(path), '--out', path('slurm-merged.db')], { env: noJobSystem });
    expect(merged.code, merged.stderr).toBe(0);
    expect(runFeatureKeys('slurm-merged.db')).toEqual(runFeatureKeys('whole.db'));
    expect(shardKeys.flat().sort()).toEqual(runFeatureKeys('whole.db'));
    const wholeScores = scoresByFeature('whole.db');
    expect(wholeScores.length).toBeGreaterThan(20);
    expect(scoresByFeature('slurm-merged.db')).toEqual(wholeScores);
  });

  it('a Kubernetes Indexed Job (JOB_COMPLETION_INDEX with --shards 2) merges into the one-shard run too', async () => {
    const files = ['indexed-0.db', 'indexed-1.db'];
    for (const [index, file] of files.entries()) {
      const result = await cli([...runArguments(file), '--shard', 'auto', '--shards', '2'], {
        env: { ...noJobSystem, JOB_COMPLETION_INDEX: String(index) },
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toContain(`--shard auto: shard ${index}/2 from the Kubernetes JOB_COMPLETION_INDEX`);
    }
    const merged = await cli(['merge', ...files.map(path), '--out', path('indexed-merged.db')], { env: noJobSystem });
    expect(merged.code, merged.stderr).toBe(0);
    expect(scoresByFeature('indexed-merged.db')).toEqual(scoresByFeature('whole.db'));
  });

  it('usage errors exit 2 and name what is wrong: no job system, --shards without auto, a count mismatch', async () => {
    const cases: [string[], Record<string, string | undefined>, string][] = [
      [['--shard', 'auto'], noJobSystem, 'neither SLURM_ARRAY_TASK_ID'],
      [['--shard', '0/2', '--shards', '2'], noJobSystem, '--shards goes with --shard auto'],
      [['--shards', '2'], noJobSystem, '--shards goes with --shard auto'],
      [['--shard', 'auto'], { ...noJobSystem, JOB_COMPLETION_INDEX: '0' }, 'add --shards N'],
      [
        ['--shard', 'auto', '--shards', '4'],
        { ...noJobSystem, SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '3' },
        '--shards 4 disagrees',
      ],
    ];
    for (const [flags, env, message] of cases) {
      const result = await cli([...runArguments('never.db'), ...flags], { env });
      expect(result.code, flags.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
  });
});
