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
 * (first kept), `saes` by name (the row with the newest `updated_at` kept, with its `sae_metrics`). Rows of the
 * other tables keep their order; their ids are shifted past the ids already in the output.
 *
 * Inputs are opened read-only, each read in one read transaction (a consistent snapshot). The output is written in
 * one transaction to a temporary file beside it, checked (`PRAGMA integrity_check`, `foreign_key_check`) and then
 * renamed into place: a crash leaves no half-merged file. Older input schemas are read with the columns they have.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { operationalConfigKeys, shardNameSuffix, shardOfFeature, formatShard, type ShardSpec } from '../pipeline/config.ts';
import { featureKey, type FeatureKind } from '../records/types.ts';
import { migrate, type SqliteDatabase } from './database.ts';
import { migrations } from './migrations.ts';
import { toFloat32Column } from './float32-column.ts';
import type { RunRow, RunStatus } from './result-store.ts';

/** A merge refused for a reason the user can act on (one line). */
export class MergeError extends Error {
  override readonly name = 'MergeError';
}

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

type Row = Record<string, unknown>;

interface InputDatabase {
  /** As given. */
  path: string;
  /** Its file name, for messages. */
  label: string;
  db: SqliteDatabase;
  /** Columns of each table it has. */
  columns: Map<string, string[]>;
}

interface InputRun {
  input: number;
  row: RunRow;
  config: Record<string, unknown> | undefined;
  shard: ShardSpec | undefined;
}

/** A run of the output: one run copied, or the shards of one logical run. */
type PlannedRun = { kind: 'copied'; run: InputRun; name: string } | { kind: 'merged'; count: number; members: InputRun[]; name: string };

const quote = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Row)[key])]),
    );
  }
  return value;
}
const canonicalJson = (value: unknown): string => JSON.stringify(sortKeys(value));

function parseConfig(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function shardOf(config: Record<string, unknown> | undefined): ShardSpec | undefined {
  const shard = config?.shard as { index?: unknown; count?: unknown } | undefined;
  if (!shard || typeof shard !== 'object') return undefined;
  const { index, count } = shard;
  if (!Number.isInteger(index) || !Number.isInteger(count)) return undefined;
  if ((index as number) < 0 || (count as number) < 1 || (index as number) >= (count as number)) return undefined;
  return { index: index as number, count: count as number };
}

/** The key that shards of one logical run share (see the module comment). */
function logicalRunKey(run: InputRun): string {
  const config: Row = { ...run.config };
  delete config.shard;
  for (const key of operationalConfigKeys) delete config[key];
  if (run.row.source_digest) delete config.source;
  return canonicalJson({
    config,
    shardCount: run.shard!.count,
    sourceDigest: run.row.source_digest ?? null,
    codeVersion: run.row.code_version,
    promptVersions: parseConfig(run.row.prompt_versions) ?? run.row.prompt_versions,
    explainer: run.row.explainer,
    simulator: run.row.simulator,
  });
}

const describeRun = (inputs: readonly InputDatabase[], run: InputRun) =>
  `${inputs[run.input]!.label} run ${run.row.id}${run.shard ? ` (shard ${formatShard(run.shard)})` : ''}`;

function openInput(path: string): InputDatabase {
  if (!existsSync(path)) throw new MergeError(`${path}: no such file`);
  let db: SqliteDatabase;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new MergeError(`${path}: cannot open (${(error as Error).message})`);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map((t) => t.name);
    if (version === 0 || !tables.includes('runs')) throw new MergeError(`${path}: not an autointerp database`);
    if (version > migrations.length) {
      throw new MergeError(`${path}: schema version ${version} is newer than this autointerp (${migrations.length}); upgrade autointerp`);
    }
    const columns = new Map<string, string[]>();
    for (const table of tables) {
      columns.set(table, (db.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => c.name));
    }
    db.exec('BEGIN'); // one snapshot for every read of this input (held until the merge ends)
    return { path, label: basename(path), db, columns };
  } catch (error) {
    db.close();
    if (error instanceof MergeError) throw error;
    throw new MergeError(`${path}: cannot read (${(error as Error).message})`);
  }
}

function closeInput(input: InputDatabase): void {
  if (input.db.inTransaction) input.db.exec('COMMIT');
  input.db.close();
}

/** Groups the inputs' runs into output runs, after every check that can refuse the merge. */
function planRuns(inputs: readonly InputDatabase[], warnings: string[]): PlannedRun[] {
  const runs: InputRun[] = [];
  inputs.forEach((input, index) => {
    for (const row of input.db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[]) {
      const config = parseConfig(row.config);
      runs.push({ input: index, row, config, shard: shardOf(config) });
    }
  });

  // The same (non-shard) run in two files.
  const seen = new Map<string, InputRun>();
  for (const run of runs) {
    if (run.shard) continue;
    const identity = canonicalJson([run.row.name, run.row.started_at, run.row.config, run.row.code_version]);
    const earlier = seen.get(identity);
    if (earlier && earlier.input !== run.input) {
      throw new MergeError(
        `run "${run.row.name}" (started ${run.row.started_at}) is in both ${describeRun(inputs, earlier)} and ${describeRun(inputs, run)}: give each run once`,
      );
    }
    seen.set(identity, run);
  }

  const groups = new Map<string, InputRun[]>();
  const order: ({ kind: 'copied'; run: InputRun } | { kind: 'merged'; key: string })[] = [];
  for (const run of runs) {
    if (!run.shard) {
      order.push({ kind: 'copied', run });
      continue;
    }
    const key = logicalRunKey(run);
    let members = groups.get(key);
    if (!members) {
      groups.set(key, (members = []));
      order.push({ kind: 'merged', key });
    }
    const twin = members.find((member) => member.shard!.index === run.shard!.index);
    if (twin) {
      throw new MergeError(
        `${describeRun(inputs, twin)} and ${describeRun(inputs, run)} are the same shard of run "${run.row.name}": give each shard once`,
      );
    }
    members.push(run);
  }
  for (const members of groups.values()) {
    members.sort((a, b) => a.shard!.index - b.shard!.index);
    checkPartition(inputs, members);
  }

  // Names: kept, unless a run from another input already took one.
  const taken = new Map<string, Set<number>>();
  const nameFor = (wanted: string, fromInputs: ReadonlySet<number>, fileLabel: string): string => {
    const clashes = (name: string) => [...(taken.get(name) ?? [])].some((input) => !fromInputs.has(input));
    let name = wanted;
    if (clashes(name)) {
      const base = `${wanted} (from ${fileLabel})`;
      name = base;
      for (let k = 2; clashes(name); k++) name = `${base} #${k}`;
      warnings.push(`run "${wanted}" of ${fileLabel} is named "${name}" in the output (the name was taken)`);
    }
    let owners = taken.get(name);
    if (!owners) taken.set(name, (owners = new Set()));
    for (const input of fromInputs) owners.add(input);
    return name;
  };

  return order.map((entry): PlannedRun => {
    if (entry.kind === 'copied') {
      return { kind: 'copied', run: entry.run, name: nameFor(entry.run.row.name, new Set([entry.run.input]), inputs[entry.run.input]!.label) };
    }
    const members = groups.get(entry.key)!;
    const first = members[0]!;
    const count = first.shard!.count;
    const suffix = shardNameSuffix(first.shard!);
    const baseName = first.row.name.endsWith(suffix) ? first.row.name.slice(0, -suffix.length) : first.row.name;
    const missing = missingShards(count, members);
    if (missing.length > 0) {
      warnings.push(
        `run "${baseName}": shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing; the merged run is incomplete (interrupted)`,
      );
    }
    return { kind: 'merged', count, members, name: nameFor(baseName, new Set(members.map((m) => m.input)), inputs[first.input]!.label) };
  });
}

const missingShards = (count: number, members: readonly InputRun[]): number[] =>
  Array.from({ length: count }, (_, index) => index).filter((index) => !members.some((m) => m.shard!.index === index));

/** Refuses shards whose results overlap, or that hold a feature belonging to another shard. */
function checkPartition(inputs: readonly InputDatabase[], members: readonly InputRun[]): void {
  const owner = new Map<string, InputRun>();
  for (const member of members) {
    const rows = inputs[member.input]!.db
      .prepare(`SELECT f.model, f.layer, f.kind, f.idx, f.sae FROM run_features r JOIN features f ON f.id = r.feature_id WHERE r.run_id = ?`)
      .all(member.row.id) as { model: string; layer: string; kind: FeatureKind; idx: number; sae: string }[];
    for (const row of rows) {
      const key = featureKey({ model: row.model, layer: row.layer, kind: row.kind, index: row.idx, ...(row.sae ? { sae: row.sae } : {}) });
      const other = owner.get(key);
      if (other) {
        throw new MergeError(`feature ${key} is in the results of two shards: ${describeRun(inputs, other)} and ${describeRun(inputs, member)}`);
      }
      owner.set(key, member);
      const { index, count } = member.shard!;
      const belongs = shardOfFeature(key, count);
      if (belongs !== index) {
        throw new MergeError(`feature ${key} is in the results of ${describeRun(inputs, member)} but belongs to shard ${belongs}/${count}`);
      }
    }
  }
}

/** The row of a merged run. */
function mergedRunRow(planned: Extract<PlannedRun, { kind: 'merged' }>): Row {
  const { members, count } = planned;
  const first = members[0]!;
  const config: Row = { ...first.config };
  delete config.shard;
  const complete = members.length === count;
  const finished = complete && members.every((m) => m.row.status === 'finished');
  const ends = members.map((m) => m.row.finished_at).filter((t): t is string => t !== null);
  const tags = new Set<string>();
  for (const member of members) {
    try {
      for (const tag of JSON.parse(member.row.tags ?? '[]') as unknown[]) if (typeof tag === 'string') tags.add(tag);
    } catch {
      // unreadable tags are dropped
    }
  }
  return {
    name: planned.name,
    config: JSON.stringify(config),
    code_version: first.row.code_version,
    prompt_versions: first.row.prompt_versions,
    explainer: first.row.explainer,
    simulator: first.row.simulator,
    is_baseline: first.row.is_baseline,
    source: first.row.source,
    source_digest: first.row.source_digest ?? null,
    started_at: members.map((m) => m.row.started_at).sort()[0]!,
    finished_at: ends.length > 0 ? ends.sort().at(-1)! : null,
    status: finished ? 'finished' : 'interrupted',
    tags: JSON.stringify([...tags].sort()),
  };
}

/** Writes rows into the output, each row's columns as given (the statement for a column list is prepared once). */
class OutputWriter {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly columnsOf = new Map<string, string[]>();

  constructor(readonly db: SqliteDatabase) {}

  columns(table: string): string[] {
    let columns = this.columnsOf.get(table);
    if (!columns) this.columnsOf.set(table, (columns = (this.db.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => c.name)));
    return columns;
  }

  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  insert(table: string, row: Row): Database.RunResult {
    const columns = Object.keys(row);
    const sql = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    return this.statement(sql).run(...Object.values(row));
  }

  maxId(table: string): number {
    return (this.statement(`SELECT COALESCE(MAX(id), 0) AS n FROM ${quote(table)}`).get() as { n: number }).n;
  }
}

/** The columns of `table` that both the input and the output have (an older input lacks some). */
function sharedColumns(input: InputDatabase, output: OutputWriter, table: string): string[] {
  const present = new Set(output.columns(table));
  return (input.columns.get(table) ?? []).filter((column) => present.has(column));
}

/** Copies every row of `table` from an input, `adjust` remapping ids in place; returns how many. */
function copyTable(input: InputDatabase, output: OutputWriter, table: string, adjust: (row: Row) => void, tail = ''): number {
  if (!input.columns.has(table)) return 0;
  const columns = sharedColumns(input, output, table);
  const insert = output.statement(`INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${tail}`);
  let copied = 0;
  for (const row of input.db.prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} ORDER BY rowid`).iterate() as IterableIterator<Row>) {
    adjust(row); // assigns existing keys only: the values stay in column order
    insert.run(...Object.values(row));
    copied += 1;
  }
  return copied;
}

const featureStatColumns = ['max_activation', 'density', 'mean', 'variance'];

/**
 * Maps an input's ids of one table (`what`: run, feature) to the output's; a row that refers to an id missing from
 * that table is refused. `mapOptional` lets null through.
 */
function idMapper(ids: ReadonlyMap<number, number>, input: InputDatabase, what: string) {
  const map = (id: unknown): number => {
    const mapped = ids.get(id as number);
    if (mapped === undefined) throw new MergeError(`${input.label}: a row refers to ${what} ${String(id)}, which is not in its ${what}s table`);
    return mapped;
  };
  return { map, mapOptional: (id: unknown) => (id === null || id === undefined ? null : map(id)) };
}

/** Copies one input's rows (runs already created: `runIds` maps its run ids to the output's). */
function copyInput(input: InputDatabase, output: OutputWriter, runIds: ReadonlyMap<number, number>, context: { table: string }): void {
  const { map: mapRun, mapOptional: mapOptionalRun } = idMapper(runIds, input, 'run');

  // Features: one row per (model, layer, kind, idx, sae); the first non-null stats are kept.
  context.table = 'features';
  const featureIds = new Map<number, number>();
  if (input.columns.has('features')) {
    const columns = sharedColumns(input, output, 'features').filter((c) => c !== 'id');
    const stats = columns.filter((c) => featureStatColumns.includes(c));
    const upsert = output.statement(
      `INSERT INTO features (${columns.map(quote).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (model, layer, kind, idx, sae) DO UPDATE SET ${
         stats.length > 0 ? stats.map((c) => `${quote(c)} = COALESCE(features.${quote(c)}, excluded.${quote(c)})`).join(', ') : 'idx = features.idx'
       }
       RETURNING id`,
    );
    for (const row of input.db.prepare(`SELECT id, ${columns.map(quote).join(', ')} FROM features ORDER BY id`).iterate() as IterableIterator<Row>) {
      const { id, ...values } = row;
      featureIds.set(id as number, (upsert.get(values) as { id: number }).id);
    }
  }
  const { map: mapFeature, mapOptional: mapOptionalFeature } = idMapper(featureIds, input, 'feature');

  // SAEs: one row per name, the newest updated_at with its metrics.
  context.table = 'saes';
  if (input.columns.has('saes')) {
    const columns = sharedColumns(input, output, 'saes').filter((c) => c !== 'id');
    const metrics = input.columns.has('sae_metrics') ? input.db.prepare('SELECT * FROM sae_metrics WHERE sae_id = ? ORDER BY rowid') : undefined;
    for (const sae of input.db.prepare(`SELECT id, ${columns.map(quote).join(', ')} FROM saes ORDER BY id`).all() as Row[]) {
      const { id, ...values } = sae;
      const existing = output.statement('SELECT id, updated_at FROM saes WHERE name = ?').get(values.name) as { id: number; updated_at: string } | undefined;
      let saeId: number;
      if (!existing) saeId = Number(output.insert('saes', values).lastInsertRowid);
      else if (String(values.updated_at) > existing.updated_at) {
        saeId = existing.id;
        output.statement(`UPDATE saes SET ${columns.map((c) => `${quote(c)} = @${c}`).join(', ')} WHERE id = @id`).run({ ...values, id: saeId });
        output.statement('DELETE FROM sae_metrics WHERE sae_id = ?').run(saeId);
      } else continue; // the output's row is as new or newer
      context.table = 'sae_metrics';
      const metricColumns = new Set(sharedColumns(input, output, 'sae_metrics'));
      for (const metric of (metrics?.all(id) ?? []) as Row[]) {
        output.insert('sae_metrics', Object.fromEntries(Object.entries(metric).filter(([c]) => metricColumns.has(c)).map(([c, v]) => [c, c === 'sae_id' ? saeId : v])));
      }
      context.table = 'saes';
    }
  }

  context.table = 'llm_cache';
  copyTable(input, output, 'llm_cache', () => {}, 'ON CONFLICT (key) DO NOTHING');

  // Tables with their own ids: shifted past the ids already in the output (rows keep their order).
  const offset = Object.fromEntries(
    ['records', 'explanations', 'simulations', 'scores', 'llm_calls', 'llm_batches'].map((table) => [table, output.maxId(table)]),
  ) as Record<'records' | 'explanations' | 'simulations' | 'scores' | 'llm_calls' | 'llm_batches', number>;
  const shift = (row: Row, column: string, by: number) => {
    if (row[column] !== null && row[column] !== undefined) row[column] = (row[column] as number) + by;
  };

  context.table = 'run_features';
  copyTable(input, output, 'run_features', (row) => {
    row.run_id = mapRun(row.run_id);
    row.feature_id = mapFeature(row.feature_id);
  });
  context.table = 'records';
  copyTable(input, output, 'records', (row) => {
    shift(row, 'id', offset.records);
    row.activations = toFloat32Column(row.activations); // JSON text in inputs of schema ≤ 5
    row.run_id = mapRun(row.run_id);
    row.feature_id = mapFeature(row.feature_id);
  });
  context.table = 'explanations';
  copyTable(input, output, 'explanations', (row) => {
    shift(row, 'id', offset.explanations);
    row.run_id = mapRun(row.run_id);
    row.feature_id = mapFeature(row.feature_id);
  });
  context.table = 'simulations';
  copyTable(input, output, 'simulations', (row) => {
    shift(row, 'id', offset.simulations);
    shift(row, 'explanation_id', offset.explanations);
    shift(row, 'record_id', offset.records);
    row.expected = toFloat32Column(row.expected);
  });
  context.table = 'scores';
  copyTable(input, output, 'scores', (row) => {
    shift(row, 'id', offset.scores);
    row.run_id = mapRun(row.run_id);
    row.feature_id = mapFeature(row.feature_id);
    shift(row, 'explanation_id', offset.explanations);
  });
  context.table = 'llm_batches';
  copyTable(input, output, 'llm_batches', (row) => {
    shift(row, 'id', offset.llm_batches);
    row.run_id = mapRun(row.run_id);
  });
  context.table = 'llm_batch_requests';
  copyTable(input, output, 'llm_batch_requests', (row) => shift(row, 'batch', offset.llm_batches));
  context.table = 'llm_calls';
  copyTable(input, output, 'llm_calls', (row) => {
    shift(row, 'id', offset.llm_calls);
    row.run_id = mapOptionalRun(row.run_id);
    row.feature_id = mapOptionalFeature(row.feature_id);
  });
}

/** Creates the output's runs; returns, per input, its run ids → the output's. */
function createRuns(inputs: readonly InputDatabase[], output: OutputWriter, plan: readonly PlannedRun[]): { runIds: Map<number, number>[]; outputIds: number[] } {
  const runIds = inputs.map(() => new Map<number, number>());
  const outputIds = plan.map((planned) => {
    if (planned.kind === 'copied') {
      const { run } = planned;
      const columns = sharedColumns(inputs[run.input]!, output, 'runs').filter((c) => c !== 'id');
      const row: Row = Object.fromEntries(columns.map((c) => [c, c === 'name' ? planned.name : (run.row as unknown as Row)[c]]));
      const id = Number(output.insert('runs', row).lastInsertRowid);
      runIds[run.input]!.set(run.row.id, id);
      return id;
    }
    const id = Number(output.insert('runs', mergedRunRow(planned)).lastInsertRowid);
    for (const member of planned.members) runIds[member.input]!.set(member.row.id, id);
    return id;
  });
  return { runIds, outputIds };
}

function summarizeRun(db: SqliteDatabase, planned: PlannedRun, runId: number, inputs: readonly InputDatabase[]): MergedRunSummary {
  const counts = { scored: 0, skipped: 0, failed: 0 };
  for (const row of db.prepare('SELECT status, COUNT(*) AS n FROM run_features WHERE run_id = ? GROUP BY status').all(runId) as { status: keyof typeof counts; n: number }[]) {
    counts[row.status] = row.n;
  }
  const scores = (db.prepare('SELECT COUNT(*) AS n FROM scores WHERE run_id = ?').get(runId) as { n: number }).n;
  const status = (db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: RunStatus }).status;
  const source = (run: InputRun): MergeSource => ({ input: inputs[run.input]!.path, runId: run.row.id, ...(run.shard ? { shard: run.shard } : {}) });
  return {
    runId,
    name: planned.name,
    kind: planned.kind,
    from: planned.kind === 'copied' ? [source(planned.run)] : planned.members.map(source),
    ...(planned.kind === 'merged' ? { shards: { count: planned.count, missing: missingShards(planned.count, planned.members) } } : {}),
    status,
    ...counts,
    scores,
  };
}

const count = (db: SqliteDatabase, table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;

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
    if (realPaths.has(realpathSync(out))) throw new MergeError(`--out ${out} is one of the inputs; write the merge to a new file`);
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
      throw new Error(`the merged database failed its checks (integrity: ${String(integrity)}, foreign key violations: ${foreignKeys.length})`);
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
    if (existsSync(out) && !options.force) throw new MergeError(`${out} appeared while merging; choose a new --out or pass --force`);
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
