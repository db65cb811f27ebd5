import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerMergeCommand } from '../../src/cli/merge.ts';
import { demoPlantedPath } from '../../src/pipeline/config.ts';
import { parseShard, shardOfFeature } from '../../src/records/shards.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { buildLeaderboard } from '../../src/report/leaderboard.ts';
import { BatchStore } from '../../src/store/batch-store.ts';
import { decodeFloat32Column } from '../../src/store/float32-column.ts';
import { migrations } from '../../src/store/migrations.ts';
import { openDatabase } from '../../src/store/database.ts';
import { MergeError } from '../../src/store/merge-error.ts';
import { mergeDatabases } from '../../src/store/merge.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { SaeStore } from '../../src/store/sae-store.ts';
import { cli } from '../helpers/run-cli.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-merge-'));
const path = (name: string) => join(directory, name);
/**
 * Every other planted feature of the demo (12 of 24: four in each of its three layers, the one that never fires among
 * them): the runs and shards merged here hold features of every layer and a skipped one, at half the work. Written as
 * planted.jsonl, the demo's run name stays.
 */
const planted = readFileSync(demoPlantedPath, 'utf8')
  .split('\n')
  .filter((line, index) => line.trim() !== '' && index % 2 === 1);
const plantedCount = planted.length;
const source = path('planted.jsonl');
writeFileSync(source, `${planted.join('\n')}\n`);
const base = { source, ablation: false };
const runName = 'planted.jsonl · baseline → baseline';

/** Runs the offline baseline pipeline into a new database file; returns its run id. */
async function runInto(file: string, config: Record<string, unknown>): Promise<number> {
  const db = openDatabase(path(file));
  try {
    const summary = await runPipeline({ ...base, ...config }, { store: new ResultStore(db) });
    expect(summary.status).toBe('finished');
    return summary.runId;
  } finally {
    db.close();
  }
}

const readOnly = (file: string) => new Database(path(file), { readonly: true });

/** featureKey-like text → {kind → value, reason, n_tokens} of one run. */
function scoresByFeature(file: string, runId: number) {
  const db = readOnly(file);
  const rows = db
    .prepare(
      `SELECT f.model || '/' || f.layer || '/' || f.kind || '/' || f.idx AS key, s.kind, s.value, s.reason, s.n_tokens, s.simulation_mode, e.text
       FROM scores s JOIN features f ON f.id = s.feature_id LEFT JOIN explanations e ON e.id = s.explanation_id
       WHERE s.run_id = ? ORDER BY key, s.kind`,
    )
    .all(runId) as { key: string }[];
  db.close();
  return rows;
}

function featureKeysOf(file: string, runId: number): string[] {
  const db = readOnly(file);
  const rows = db
    .prepare(
      `SELECT f.model || '/' || f.layer || '/' || f.kind || '/' || f.idx AS key FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ?`,
    )
    .all(runId) as { key: string }[];
  db.close();
  return rows.map((row) => row.key).sort();
}

function checks(file: string) {
  const db = readOnly(file);
  const result = {
    integrity: db.pragma('integrity_check', { simple: true }),
    foreignKeys: db.pragma('foreign_key_check') as unknown[],
  };
  db.close();
  return result;
}

const shardFiles = ['shard0.db', 'shard1.db', 'shard2.db'];

beforeAll(async () => {
  await runInto('full.db', {});
  for (const [index, file] of shardFiles.entries()) await runInto(file, { shard: { index, count: 3 } });
}, 180_000);

describe('run --shard i/n', () => {
  it('parses i/n and refuses anything else', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    for (const bad of ['3/3', '1/0', 'a/b', '1', '-1/2', '1/2/3', ''])
      expect(() => parseShard(bad), bad).toThrow(/--shard expects i\/n/);
  });

  it('the shard of a feature depends on its key alone', () => {
    expect(shardOfFeature('m/0/neuron/5', 7)).toBe(shardOfFeature('m/0/neuron/5', 7));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOfFeature(`m/${i % 3}/neuron/${i}`, 4)]! += 1;
    for (const n of counts) expect(n).toBeGreaterThan(850); // roughly even
  });

  it('shards partition the source: no overlap, union = every feature; run names and configs carry the shard', () => {
    const all = featureKeysOf('full.db', 1);
    expect(all).toHaveLength(plantedCount);
    const seen = new Set<string>();
    for (const [index, file] of shardFiles.entries()) {
      const keys = featureKeysOf(file, 1);
      for (const key of keys) {
        expect(seen.has(key), key).toBe(false);
        seen.add(key);
        expect(shardOfFeature(key, 3)).toBe(index);
      }
      const db = readOnly(file);
      const run = db.prepare('SELECT name, config, source_digest FROM runs WHERE id = 1').get() as {
        name: string;
        config: string;
        source_digest: string;
      };
      db.close();
      expect(run.name).toBe(`${runName} [shard ${index}/3]`);
      expect(JSON.parse(run.config).shard).toEqual({ index, count: 3 });
      expect(run.source_digest).toMatch(/^[0-9a-f]{64}$/);
    }
    expect([...seen].sort()).toEqual(all);
  });

  it('the progress total is the shard size, and --resume keeps the shard', async () => {
    const db = openDatabase(path('resume-shard.db'));
    const store = new ResultStore(db);
    const controller = new AbortController();
    let total = 0;
    const first = await runPipeline(
      { ...base, shard: { index: 1, count: 3 }, concurrency: 1 },
      {
        store,
        stopSignal: controller.signal,
        events: { onStart: (info) => (total = info.total), onFeatureDone: () => controller.abort() },
      },
    );
    expect(first.status).toBe('interrupted');
    expect(total).toBe(featureKeysOf('shard1.db', 1).length);
    const resumed = await runPipeline(undefined, { store, resumeRunId: first.runId });
    expect(resumed).toMatchObject({ status: 'finished', total, remaining: 0 });
    db.close();
    expect(featureKeysOf('resume-shard.db', first.runId)).toEqual(featureKeysOf('shard1.db', 1));
    expect(scoresByFeature('resume-shard.db', first.runId)).toEqual(scoresByFeature('shard1.db', 1));
  }, 60_000);

  it('a bad --shard is a one-line usage error (exit 2)', async () => {
    for (const bad of ['3/3', 'x']) {
      const result = await cli(['run', '--shard', bad, '--db', path('never.db')], { cwd: directory });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([
        `autointerp: --shard expects i/n with 0 ≤ i < n (e.g. 0/4), got "${bad}"`,
      ]);
    }
    expect(existsSync(path('never.db'))).toBe(false);
  }, 60_000);
});

describe('mergeDatabases', () => {
  it('merges the shards of a run into one run whose scores equal the unsharded run, feature by feature', () => {
    const summary = mergeDatabases(shardFiles.map(path), path('merged.db'));
    expect(summary.warnings).toEqual([]);
    expect(summary.runs).toHaveLength(1);
    expect(summary.runs[0]).toMatchObject({
      runId: 1,
      name: runName,
      kind: 'merged',
      status: 'finished',
      shards: { count: 3, missing: [] },
    });
    expect(summary.features).toBe(plantedCount);
    expect(checks('merged.db')).toEqual({ integrity: 'ok', foreignKeys: [] });

    const merged = scoresByFeature('merged.db', 1);
    expect(merged.length).toBeGreaterThan(plantedCount);
    expect(merged).toEqual(scoresByFeature('full.db', 1));
    expect(summary.scores).toBe(merged.length);
    expect(featureKeysOf('merged.db', 1)).toEqual(featureKeysOf('full.db', 1));

    // Every table's rows arrive, remapped: records, simulations and LLM calls add up over the shards.
    const count = (file: string, table: string) => {
      const db = readOnly(file);
      const n = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      db.close();
      return n;
    };
    for (const table of ['records', 'explanations', 'simulations', 'scores', 'llm_calls', 'run_features']) {
      expect(count('merged.db', table), table).toBe(shardFiles.reduce((sum, file) => sum + count(file, table), 0));
      expect(count('merged.db', table), table).toBe(count('full.db', table));
    }
    // simulations point at records of their own feature
    const db = readOnly('merged.db');
    const mismatched = db
      .prepare(
        `SELECT COUNT(*) AS n FROM simulations s JOIN explanations e ON e.id = s.explanation_id JOIN records r ON r.id = s.record_id WHERE r.feature_id != e.feature_id OR r.run_id != e.run_id`,
      )
      .get() as { n: number };
    expect(mismatched.n).toBe(0);
    const run = db.prepare('SELECT * FROM runs WHERE id = 1').get() as {
      config: string;
      status: string;
      source_digest: string;
      name: string;
    };
    expect(JSON.parse(run.config).shard).toBeUndefined();
    expect(run.status).toBe('finished');

    // The leaderboard of the merged run counts every feature, as the unsharded run's does.
    const board = buildLeaderboard(db, db.prepare('SELECT * FROM runs WHERE id = 1').get() as never);
    db.close();
    const full = readOnly('full.db');
    const fullBoard = buildLeaderboard(full, full.prepare('SELECT * FROM runs WHERE id = 1').get() as never);
    full.close();
    const total = (rows: { features: number }[]) => rows.reduce((sum, row) => sum + row.features, 0);
    expect(total(board.rows)).toBe(plantedCount);
    expect(board.rows.map((r) => [r.layer, r.features, r.scored, r.median])).toEqual(
      fullBoard.rows.map((r) => [r.layer, r.features, r.scored, r.median]),
    );
    // means agree up to the order of summation (features are stored in another order)
    board.rows.forEach((row, i) => expect(row.mean!).toBeCloseTo(fullBoard.rows[i]!.mean!, 12));
  });

  it('merges shards that ran against different --base-url servers (one machine and server per shard) as one run', () => {
    const withServer = (file: string, copy: string, url: string) => {
      copyFileSync(path(file), path(copy));
      const db = new Database(path(copy));
      db.prepare(`UPDATE runs SET config = json_set(config, '$.baseUrl', ?)`).run(url);
      db.close();
      return path(copy);
    };
    const inputs = [
      withServer('shard0.db', 'url0.db', 'http://10.0.0.1:8000/v1'),
      withServer('shard1.db', 'url1.db', 'http://10.0.0.2:8000/v1'),
      path('shard2.db'),
    ];
    const summary = mergeDatabases(inputs, path('urls.db'));
    expect(summary.runs).toHaveLength(1);
    expect(summary.runs[0]).toMatchObject({ kind: 'merged', status: 'finished', shards: { count: 3, missing: [] } });
    expect(featureKeysOf('urls.db', 1)).toEqual(featureKeysOf('full.db', 1));
  });

  it('refuses the same shard twice, the same file twice, and leaves no output', () => {
    copyFileSync(path('shard0.db'), path('shard0-copy.db'));
    expect(() =>
      mergeDatabases([path('shard0.db'), path('shard0-copy.db'), path('shard1.db')], path('twice.db')),
    ).toThrow(/shard0\.db run 1 \(shard 0\/3\) and shard0-copy\.db run 1 \(shard 0\/3\) are the same shard/);
    expect(() => mergeDatabases([path('shard0.db'), path('shard0.db')], path('twice.db'))).toThrow(/given twice/);
    expect(existsSync(path('twice.db'))).toBe(false);
    expect(readdirSync(directory).filter((name) => name.includes('.tmp'))).toEqual([]);
  });

  it('refuses shards whose results overlap or hold a feature of another shard', () => {
    // shard 0's results relabelled as shard 1: its features are then in two shards' results
    copyFileSync(path('shard0.db'), path('relabelled.db'));
    const db = new Database(path('relabelled.db'));
    db.prepare(`UPDATE runs SET config = json_set(config, '$.shard.index', 1)`).run();
    db.close();
    expect(() => mergeDatabases([path('shard0.db'), path('relabelled.db')], path('overlap.db'))).toThrow(
      /is in the results of two shards/,
    );
    expect(() => mergeDatabases([path('relabelled.db'), path('shard2.db')], path('overlap.db'))).toThrow(
      /relabelled\.db run 1 \(shard 1\/3\) but belongs to shard 0\/3/,
    );
    expect(existsSync(path('overlap.db'))).toBe(false);
  });

  it('merges what shards there are (the run is then interrupted) and a resume of the merged run does the rest', async () => {
    const summary = mergeDatabases([path('shard2.db'), path('shard0.db')], path('partial.db'));
    expect(summary.runs[0]).toMatchObject({
      kind: 'merged',
      status: 'interrupted',
      shards: { count: 3, missing: [1] },
    });
    expect(summary.runs[0]!.from.map((f) => f.shard?.index)).toEqual([0, 2]);
    expect(summary.warnings).toEqual([
      `run "${runName}": shard 1/3 missing; the merged run is incomplete (interrupted)`,
    ]);
    const db = openDatabase(path('partial.db'));
    const resumed = await runPipeline(undefined, { store: new ResultStore(db), resumeRunId: 1 });
    db.close();
    expect(resumed).toMatchObject({
      status: 'finished',
      total: plantedCount,
      processedNow: featureKeysOf('shard1.db', 1).length,
    });
    expect(scoresByFeature('partial.db', 1)).toEqual(scoresByFeature('full.db', 1));
  }, 60_000);

  it('copies other runs with their names (a taken name gets the file name), deduplicating features', async () => {
    await runInto('small.db', { limit: 3 });
    const summary = mergeDatabases([path('full.db'), ...shardFiles.map(path), path('small.db')], path('all.db'));
    expect(summary.runs.map((r) => [r.runId, r.kind, r.name, r.scored + r.skipped + r.failed])).toEqual([
      [1, 'copied', runName, plantedCount],
      [2, 'merged', `${runName} (from shard0.db)`, plantedCount],
      [3, 'copied', `${runName} (from small.db)`, 3],
    ]);
    expect(summary.features).toBe(plantedCount);
    expect(checks('all.db')).toEqual({ integrity: 'ok', foreignKeys: [] });
    expect(scoresByFeature('all.db', 2)).toEqual(scoresByFeature('full.db', 1));
    expect(scoresByFeature('all.db', 1)).toEqual(scoresByFeature('full.db', 1));
    // the same (non-shard) run in two files is refused
    copyFileSync(path('small.db'), path('small-copy.db'));
    expect(() => mergeDatabases([path('small.db'), path('small-copy.db')], path('dup.db'))).toThrow(
      /is in both small\.db run 1 and small-copy\.db run 1/,
    );
  }, 60_000);

  it('keeps one row of a window that several inputs hold, and every record reads the window it had', () => {
    // full.db and the shards ran over the same features: the same windows, once per input.
    mergeDatabases([path('full.db'), ...shardFiles.map(path)], path('windows.db'));
    expect(checks('windows.db')).toEqual({ integrity: 'ok', foreignKeys: [] });
    const count = (file: string, table: string) => {
      const db = readOnly(file);
      const n = (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      db.close();
      return n;
    };
    expect(count('windows.db', 'records')).toBe(2 * count('full.db', 'records'));
    expect(count('windows.db', 'record_windows')).toBe(count('full.db', 'record_windows'));
    const contents = (file: string, runId: number) => {
      const db = readOnly(file);
      const rows = db
        .prepare(
          `SELECT f.model || '/' || f.layer || '/' || f.kind || '/' || f.idx AS key, r.split, r.source, r.position,
                  w.feature_id = r.feature_id AS own, w.tokens, w.activations
           FROM records r JOIN features f ON f.id = r.feature_id JOIN record_windows w ON w.id = r.window_id
           WHERE r.run_id = ? ORDER BY key, r.split, r.source, r.position`,
        )
        .all(runId);
      db.close();
      return rows;
    };
    const full = contents('full.db', 1);
    expect(full.length).toBe(count('full.db', 'records'));
    expect(contents('windows.db', 1)).toEqual(full); // full.db's run, copied
    expect(contents('windows.db', 2)).toEqual(full); // the shards' run, merged: the same windows
  });

  it('remaps batches and their requests, deduplicates the response cache by key and SAEs by name (newest kept)', () => {
    const files = ['extra0.db', 'extra1.db'];
    copyFileSync(path('shard0.db'), path(files[0]!));
    copyFileSync(path('shard1.db'), path(files[1]!));
    files.forEach((file, i) => {
      const db = openDatabase(path(file));
      const batches = new BatchStore(db);
      const batch = batches.recordBatch(
        {
          runId: 1,
          provider: 'openai:m',
          api: 'openai',
          batchId: `batch_${i}`,
          phase: 'explain',
          endpoint: '/v1/chat/completions',
          status: 'validating',
        },
        [{ customId: `key-${i}`, features: [`f${i}`] }],
      );
      expect(batch).toBe(1);
      const insertCache = db.prepare(
        `INSERT INTO llm_cache (key, provider, response, created_at) VALUES (?, 'openai:m', ?, '2025-01-01')`,
      );
      insertCache.run('shared', `answer ${i}`);
      insertCache.run(`own-${i}`, `answer ${i}`);
      const saes = new SaeStore(db);
      const id = saes.recordSae({
        name: 'sae-a',
        model: 'm',
        hook: 'h',
        architecture: 'topk',
        dIn: 4,
        dSae: 8 + i,
        k: 2,
      });
      saes.recordMetrics(id, 'heldout', 100, { l0: i });
      db.prepare('UPDATE saes SET updated_at = ? WHERE id = ?').run(
        i === 0 ? '2025-06-01T00:00:00Z' : '2025-01-01T00:00:00Z',
        id,
      );
      saes.recordMetrics(
        saes.recordSae({ name: `sae-${i}`, model: 'm', hook: 'h', architecture: 'standard', dIn: 4, dSae: 8 }),
        'heldout',
        10,
        { mse: 0.5 },
      );
      db.close();
    });
    const summary = mergeDatabases(files.map(path), path('extras.db'));
    expect(summary.llmCacheEntries).toBe(3);
    expect(summary.saes).toBe(3);
    expect(checks('extras.db')).toEqual({ integrity: 'ok', foreignKeys: [] });
    const db = readOnly('extras.db');
    expect(db.prepare('SELECT id, run_id, batch_id FROM llm_batches ORDER BY id').all()).toEqual([
      { id: 1, run_id: 1, batch_id: 'batch_0' },
      { id: 2, run_id: 1, batch_id: 'batch_1' },
    ]);
    expect(db.prepare('SELECT batch, custom_id FROM llm_batch_requests ORDER BY batch').all()).toEqual([
      { batch: 1, custom_id: 'key-0' },
      { batch: 2, custom_id: 'key-1' },
    ]);
    expect(db.prepare(`SELECT response FROM llm_cache WHERE key = 'shared'`).get()).toEqual({ response: 'answer 0' });
    // sae-a: extra0's row is newer, so its d_sae and its metrics are kept
    const saeA = db.prepare(`SELECT id, d_sae FROM saes WHERE name = 'sae-a'`).get() as { id: number; d_sae: number };
    expect(saeA.d_sae).toBe(8);
    expect(db.prepare('SELECT metric, value FROM sae_metrics WHERE sae_id = ?').all(saeA.id)).toEqual([
      { metric: 'l0', value: 0 },
    ]);
    expect((db.prepare('SELECT COUNT(*) AS n FROM sae_metrics').get() as { n: number }).n).toBe(3);
    db.close();
  });

  it('reads an input of an older schema with the columns it has', () => {
    const old = new Database(path('old.db'));
    old.exec(migrations[0] as string);
    old.pragma('user_version = 1');
    old
      .prepare(
        `INSERT INTO runs (id, name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status)
       VALUES (7, 'old run', '{}', 'autointerp@0.0.1', '{}', 'baseline', 'baseline', 1, 'x', '2024-01-01', 'finished')`,
      )
      .run();
    old.prepare(`INSERT INTO features (id, model, layer, kind, idx) VALUES (5, 'm', '0', 'neuron', 1)`).run();
    old.prepare(`INSERT INTO run_features VALUES (7, 5, 'scored', NULL, NULL, '2024-01-01')`).run();
    old
      .prepare(
        `INSERT INTO scores (run_id, feature_id, kind, value, n_tokens, n_missing) VALUES (7, 5, 'correlation.all', 0.5, 10, 0)`,
      )
      .run();
    old
      .prepare(
        `INSERT INTO llm_calls (run_id, feature_id, provider, purpose, prompt_tokens, completion_tokens, latency_ms, cached, status, created_at) VALUES (7, 5, 'p', 'explain', 1, 1, 1, 0, 'ok', '2024')`,
      )
      .run();
    // Schema ≤ 5 stored numeric series as JSON text.
    old
      .prepare(
        `INSERT INTO records (id, run_id, feature_id, split, source, position, tokens, activations) VALUES (3, 7, 5, 'score', 'top', 0, '["a","b"]', '[0.5,2]')`,
      )
      .run();
    old
      .prepare(
        `INSERT INTO explanations (id, run_id, feature_id, text, explainer, prompt_version, is_baseline, created_at) VALUES (4, 7, 5, 'x', 'baseline', 'v1', 1, '2024')`,
      )
      .run();
    old
      .prepare(
        `INSERT INTO simulations (explanation_id, record_id, simulator, mode, prompt_version, expected) VALUES (4, 3, 'baseline', 'prompt-logprobs', 'v1', '[1.25,null]')`,
      )
      .run();
    old.close();
    const summary = mergeDatabases([path('old.db'), path('shard1.db')], path('with-old.db'));
    expect(summary.runs.map((r) => [r.name, r.scores])).toEqual([
      ['old run', 1],
      [runName, expect.any(Number)],
    ]);
    const db = readOnly('with-old.db');
    expect(db.prepare('SELECT tags, source_digest FROM runs WHERE id = 1').get()).toEqual({
      tags: '[]',
      source_digest: null,
    });
    expect(db.prepare('SELECT batch_id FROM llm_calls WHERE run_id = 1').get()).toEqual({ batch_id: null });
    // The old JSON series arrive in the current format.
    const record = db
      .prepare(
        `SELECT w.activations, s.expected FROM records r JOIN record_windows w ON w.id = r.window_id JOIN simulations s ON s.record_id = r.id JOIN explanations e ON e.id = s.explanation_id WHERE r.run_id = 1`,
      )
      .get() as { activations: Buffer; expected: Buffer };
    expect(Buffer.isBuffer(record.activations) && Buffer.isBuffer(record.expected)).toBe(true);
    expect([decodeFloat32Column(record.activations), decodeFloat32Column(record.expected)]).toEqual([
      [0.5, 2],
      [1.25, null],
    ]);
    db.close();
  });

  it('refuses a database that is not an autointerp one', () => {
    const other = new Database(path('other.db'));
    other.exec('CREATE TABLE t (x)');
    other.close();
    expect(() => mergeDatabases([path('other.db')], path('nope.db'))).toThrow(MergeError);
    expect(() => mergeDatabases([path('missing.db')], path('nope.db'))).toThrow(/no such file/);
  });
});

describe('autointerp merge (command)', () => {
  let written = '';
  afterEach(() => vi.restoreAllMocks());

  async function merge(...args: string[]) {
    written = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((written += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const program = new Command().exitOverride();
    registerMergeCommand(program);
    await program.parseAsync(['merge', ...args], { from: 'user' });
    vi.restoreAllMocks();
    return written;
  }

  it('prints a summary, refuses an existing --out without --force, and replaces it with --force', async () => {
    const out = path('cli.db');
    const text = await merge(...shardFiles.map(path), '--out', out);
    expect(text).toMatch(
      /^merged 3 databases into .*cli\.db: 1 run \(1 from shards, 0 copied\), 12 features, \d+ scores/,
    );
    expect(text).toMatch(/run 1 ".*" finished: 12 features \(11 scored, 1 skipped, 0 failed\)/);
    await expect(merge(path('shard0.db'), '--out', out)).rejects.toThrow(
      /merge refused: .*cli\.db exists; choose a new --out or pass --force/,
    );
    const json = JSON.parse(await merge(path('shard0.db'), '--out', out, '--force', '--json')) as {
      runs: { status: string; shards: { missing: number[] } }[];
    };
    expect(json.runs[0]).toMatchObject({ status: 'interrupted', shards: { missing: [1, 2] } });
    expect(checks('cli.db')).toEqual({ integrity: 'ok', foreignKeys: [] });
  });
});
