/**
 * @module store/merge — `autointerp merge`: several result databases into one new file, every id and foreign key
 * remapped. Shard runs (`run --shard i/n`) of the same logical run become ONE run in the output, so leaderboards,
 * compare and reports see the whole run; every other run is copied as it is.
 *
 * Shards of one logical run: runs whose stored config has `shard: {index, count}` and that agree on
 *   - the config apart from `shard.index`, the execution options a resume may change (`operationalConfigKeys`:
 *     concurrency, rate limits, retries, cache, budget, batch, the server's `baseUrl`) and the records path `source` (shards may run on
 *     machines that keep the records at different paths), so `shard.count`, `limit`, models, prompts and splits
 *     must match;
 *   - the source digest (the records themselves; when a run has none, the records path must match instead);
 *   - the code version, the prompt versions, the explainer and the simulator (provider:model ids).
 * The merge is refused when two runs of one logical run hold the same shard index (the same shard given twice, in
 * one file or two), when a feature appears in two shards' results, or when a shard holds a feature that its hash
 * (`shardOfFeature`) puts in another shard. Shards may be missing: the merged run is then `interrupted` (a
 * `run --resume` of it in the merged file does the missing features) and the summary names the missing shards.
 * The merged run's config is that of its lowest shard without `shard`; its name is the shards' name without the
 * ` [shard i/n]` suffix; it started when the first shard started; it is `finished` when every shard is present
 * and finished; its tags are the union of theirs.
 *
 * Other runs are copied with their names; a name that a run from another input file already took in the output
 * gets ` (from FILE)` appended (then ` #2`, ` #3`…). The same run found in two files (same name, start time, config
 * and code version) is refused rather than copied twice.
 *
 * Features are deduplicated by (model, layer, kind, idx, sae) (first non-null stats kept), `llm_cache` by key
 * (first kept), `saes` by name (the row with the newest `updated_at` kept, with its `sae_metrics`), record windows by
 * (feature, digest) (a window that several inputs hold is one row; an input of schema ≤ 11 has its windows in its
 * records). Rows of the other tables keep their order; their ids are shifted past the ids already in the output, and
 * the columns that refer to other tables are remapped as the schema's foreign keys declare them (store/merge-copy.ts).
 *
 * Inputs are opened read-only, each read in one read transaction (a consistent snapshot). The output is written in
 * one transaction to a temporary file beside it, checked (`PRAGMA integrity_check`, `foreign_key_check`) and then
 * renamed into place: a crash leaves no half-merged file. Older input schemas are read with the columns they have.
 *
 * The jobs: opening inputs (merge-input.ts), planning the output runs (merge-plan.ts), writing rows (merge-copy.ts);
 * this module checks the paths, runs them in order and summarizes.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ShardSpec } from '../records/shards.ts';
import { migrate, type SqliteDatabase } from './database.ts';
import { copyInput, createRuns, OutputWriter } from './merge-copy.ts';
import { MergeError } from './merge-error.ts';
import { closeInput, openInput, type InputDatabase } from './merge-input.ts';
import { missingShards, planRuns, type InputRun, type PlannedRun } from './merge-plan.ts';
import type { RunStatus } from './result-store.ts';
import { quoteIdentifier as quote } from './schema-references.ts';

export interface MergeOptions {
  /** Replace `out` when it exists (default: refuse). */
  force?: boolean;
}

/** One run of an input file that went into an output run. */
export interface MergeSource {
  /** The input file as given. */
  input: string;
  runId: number;
  shard?: ShardSpec;
}

export interface MergedRunSummary {
  /** The run's id in the output. */
  runId: number;
  name: string;
  /** `copied`: one run copied; `merged`: the shards of one logical run made into one run. */
  kind: 'copied' | 'merged';
  from: MergeSource[];
  /** For merged runs: the shard count and the shard indices that no input held. */
  shards?: { count: number; missing: number[] };
  status: RunStatus;
  /** Features with a finished unit of work (run_features), by status. */
  scored: number;
  skipped: number;
  failed: number;
  /** Score rows (every kind). */
  scores: number;
}

export interface MergeSummary {
  out: string;
  inputs: string[];
  runs: MergedRunSummary[];
  /** Distinct features in the output. */
  features: number;
  /** Score rows in the output. */
  scores: number;
  llmCacheEntries: number;
  saes: number;
  /** Things worth a look (missing shards, renamed runs), one line each. */
  warnings: string[];
}

function summarizeRun(
  db: SqliteDatabase,
  planned: PlannedRun,
  runId: number,
  inputs: readonly InputDatabase[],
): MergedRunSummary {
  const counts = { scored: 0, skipped: 0, failed: 0 };
  for (const row of db
    .prepare('SELECT status, COUNT(*) AS n FROM run_features WHERE run_id = ? GROUP BY status')
    .all(runId) as { status: keyof typeof counts; n: number }[]) {
    counts[row.status] = row.n;
  }
  const scores = (db.prepare('SELECT COUNT(*) AS n FROM scores WHERE run_id = ?').get(runId) as { n: number }).n;
  const status = (db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: RunStatus }).status;
  const source = (run: InputRun): MergeSource => ({
    input: inputs[run.input]!.path,
    runId: run.row.id,
    ...(run.shard ? { shard: run.shard } : {}),
  });
  return {
    runId,
    name: planned.name,
    kind: planned.kind,
    from: planned.kind === 'copied' ? [source(planned.run)] : planned.members.map(source),
    ...(planned.kind === 'merged'
      ? { shards: { count: planned.count, missing: missingShards(planned.count, planned.members) } }
      : {}),
    status,
    ...counts,
    scores,
  };
}

const count = (db: SqliteDatabase, table: string) =>
  (db.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;

/**
 * Merges result databases into a new file `out` (see the module comment for the rules). Throws MergeError, leaving
 * no output, when the merge is refused.
 */
export function mergeDatabases(inputPaths: readonly string[], out: string, options: MergeOptions = {}): MergeSummary {
  if (inputPaths.length === 0) throw new MergeError('merge needs at least one input database');
  const realPaths = new Map<string, string>();
  for (const path of inputPaths) {
    if (!existsSync(path)) throw new MergeError(`${path}: no such file`);
    const real = realpathSync(path);
    const earlier = realPaths.get(real);
    if (earlier !== undefined) throw new MergeError(`${path} is given twice (also as ${earlier})`);
    realPaths.set(real, path);
  }
  if (existsSync(out)) {
    if (realPaths.has(realpathSync(out)))
      throw new MergeError(`--out ${out} is one of the inputs; write the merge to a new file`);
    if (!options.force) throw new MergeError(`${out} exists; choose a new --out or pass --force to replace it`);
  }

  const inputs: InputDatabase[] = [];
  const temporary = join(dirname(resolve(out)), `.${basename(out)}.merge-${process.pid}-${Date.now()}.tmp`);
  let output: SqliteDatabase | undefined;
  try {
    for (const path of inputPaths) inputs.push(openInput(path));
    const warnings: string[] = [];
    const plan = planRuns(inputs, warnings);

    mkdirSync(dirname(resolve(out)), { recursive: true });
    output = new Database(temporary);
    output.pragma('journal_mode = DELETE'); // one file to rename; opening it later switches it to WAL
    output.pragma('foreign_keys = ON'); // a dangling reference fails at its row, named with its file and table
    migrate(output);
    const writer = new OutputWriter(output);
    const context = { input: '', table: 'runs' };
    let outputIds: number[] = [];
    try {
      output.transaction(() => {
        const created = createRuns(inputs, writer, plan);
        outputIds = created.outputIds;
        inputs.forEach((input, index) => {
          context.input = input.label;
          copyInput(input, writer, created.runIds[index]!, context);
        });
      })();
    } catch (error) {
      if (error instanceof MergeError) throw error;
      const message = (error as Error).message;
      throw new MergeError(`${context.input ? `${context.input}: ` : ''}${context.table}: ${message}`);
    }
    const integrity = output.pragma('integrity_check', { simple: true });
    const foreignKeys = output.pragma('foreign_key_check') as unknown[];
    if (integrity !== 'ok' || foreignKeys.length > 0) {
      throw new Error(
        `the merged database failed its checks (integrity: ${String(integrity)}, foreign key violations: ${foreignKeys.length})`,
      );
    }
    const summary: MergeSummary = {
      out,
      inputs: [...inputPaths],
      runs: plan.map((planned, i) => summarizeRun(output!, planned, outputIds[i]!, inputs)),
      features: count(output, 'features'),
      scores: count(output, 'scores'),
      llmCacheEntries: count(output, 'llm_cache'),
      saes: count(output, 'saes'),
      warnings,
    };
    output.close();
    output = undefined;
    if (existsSync(out) && !options.force)
      throw new MergeError(`${out} appeared while merging; choose a new --out or pass --force`);
    // A stale -wal beside the target would be replayed into the new file: remove it (and -shm) first.
    for (const suffix of ['-wal', '-shm']) rmSync(`${out}${suffix}`, { force: true });
    renameSync(temporary, out);
    return summary;
  } finally {
    output?.close();
    for (const input of inputs) closeInput(input);
    for (const suffix of ['', '-journal']) rmSync(`${temporary}${suffix}`, { force: true });
  }
}
