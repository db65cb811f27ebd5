/**
 * @module store/merge-copy — writes a merge's output: the planned runs, then each input's rows. Features are
 * deduplicated by (model, layer, kind, idx, sae), `saes` by name (newest kept, with its metrics), `llm_cache` by key,
 * record windows by (feature, digest) (store/record-windows: a window both inputs hold is one row); every other table
 * is copied row by row, its `id` shifted past the output's ids and each column that refers to another table remapped
 * as the schema's foreign keys say (`PRAGMA foreign_key_list`): run and feature ids through the maps built while
 * copying, a record's window by finding or adding it in the output, other ids by that table's shift.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';
import { toFloat32Column } from './float32-column.ts';
import { MergeError } from './merge-error.ts';
import type { InputDatabase, Row } from './merge-input.ts';
import { mergedRunRow, type PlannedRun } from './merge-plan.ts';
import { RecordWindowWriter } from './record-windows.ts';
import {
  inReferenceOrder,
  quoteIdentifier as quote,
  readTableShape,
  tableNames,
  type TableShape,
} from './schema-references.ts';

/** Writes rows into the output, each row's columns as given (the statement for a column list is prepared once). */
export class OutputWriter {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly columnsOf = new Map<string, string[]>();

  constructor(readonly db: SqliteDatabase) {}

  columns(table: string): string[] {
    let columns = this.columnsOf.get(table);
    if (!columns)
      this.columnsOf.set(
        table,
        (columns = (this.db.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => c.name)),
      );
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
function copyTable(
  input: InputDatabase,
  output: OutputWriter,
  table: string,
  adjust: (row: Row) => void,
  tail = '',
): number {
  if (!input.columns.has(table)) return 0;
  const columns = sharedColumns(input, output, table);
  const insert = output.statement(
    `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${tail}`,
  );
  let copied = 0;
  for (const row of input.db
    .prepare(`SELECT ${columns.map(quote).join(', ')} FROM ${quote(table)} ORDER BY rowid`)
    .iterate() as IterableIterator<Row>) {
    adjust(row); // assigns existing keys only: the values stay in column order
    insert.run(...Object.values(row));
    copied += 1;
  }
  return copied;
}

const featureStatColumns = ['max_activation', 'density', 'mean', 'variance'];

/**
 * Tables merged by a rule of their own rather than copied row by row: runs (planned), features, saes with
 * sae_metrics, llm_cache and record_windows (deduplicated), run_leases (a process's hold on a run, not a result: not
 * copied).
 */
const tablesWithOwnRule = new Set([
  'runs',
  'features',
  'saes',
  'sae_metrics',
  'llm_cache',
  'record_windows',
  'run_leases',
]);

/** Tables whose ids other tables' rows are remapped to by a rule of their own, not by a shift. */
const remappedByOwnRule = new Set(['runs', 'features', 'record_windows']);

/** Columns stored in another form by older schemas: converted to the output's form as they are copied. */
const columnConversions: Record<string, Record<string, (value: unknown) => unknown>> = {
  simulations: { expected: toFloat32Column }, // JSON text in inputs of schema ≤ 5
};

/** The tables copied row by row (every table of the output's schema without a rule of its own), referenced ones first. */
export function copiedTables(output: SqliteDatabase): TableShape[] {
  const shapes = inReferenceOrder(
    tableNames(output)
      .filter((table) => !tablesWithOwnRule.has(table))
      .map((table) => readTableShape(output, table)),
  );
  const shifted = new Set(shapes.filter((shape) => shape.hasIdKey).map((shape) => shape.name));
  for (const shape of shapes) {
    for (const key of shape.foreignKeys) {
      const known = remappedByOwnRule.has(key.table) || shifted.has(key.table);
      if (!known || key.referencedColumn !== 'id') {
        throw new Error(
          `merge cannot remap ${shape.name}.${key.column}: it refers to ${key.table}.${key.referencedColumn}`,
        );
      }
    }
  }
  return shapes;
}

/**
 * Maps an input's ids of one table (`what`: run, feature) to the output's; a row that refers to an id missing from
 * that table is refused. `mapOptional` lets null through.
 */
function idMapper(ids: ReadonlyMap<number, number>, input: InputDatabase, what: string) {
  const map = (id: unknown): number => {
    const mapped = ids.get(id as number);
    if (mapped === undefined)
      throw new MergeError(`${input.label}: a row refers to ${what} ${String(id)}, which is not in its ${what}s table`);
    return mapped;
  };
  return { map, mapOptional: (id: unknown) => (id === null || id === undefined ? null : map(id)) };
}

/** SAEs: one row per name, the newest `updated_at` kept with its metrics. */
function copySaes(input: InputDatabase, output: OutputWriter, context: { table: string }): void {
  if (input.columns.has('saes')) {
    const columns = sharedColumns(input, output, 'saes').filter((c) => c !== 'id');
    const metrics = input.columns.has('sae_metrics')
      ? input.db.prepare('SELECT * FROM sae_metrics WHERE sae_id = ? ORDER BY rowid')
      : undefined;
    for (const sae of input.db
      .prepare(`SELECT id, ${columns.map(quote).join(', ')} FROM saes ORDER BY id`)
      .all() as Row[]) {
      const { id, ...values } = sae;
      const existing = output.statement('SELECT id, updated_at FROM saes WHERE name = ?').get(values.name) as
        | { id: number; updated_at: string }
        | undefined;
      let saeId: number;
      if (!existing) saeId = Number(output.insert('saes', values).lastInsertRowid);
      else if (String(values.updated_at) > existing.updated_at) {
        saeId = existing.id;
        output
          .statement(`UPDATE saes SET ${columns.map((c) => `${quote(c)} = @${c}`).join(', ')} WHERE id = @id`)
          .run({ ...values, id: saeId });
        output.statement('DELETE FROM sae_metrics WHERE sae_id = ?').run(saeId);
      } else continue; // the output's row is as new or newer
      context.table = 'sae_metrics';
      const metricColumns = new Set(sharedColumns(input, output, 'sae_metrics'));
      for (const metric of (metrics?.all(id) ?? []) as Row[]) {
        output.insert(
          'sae_metrics',
          Object.fromEntries(
            Object.entries(metric)
              .filter(([c]) => metricColumns.has(c))
              .map(([c, v]) => [c, c === 'sae_id' ? saeId : v]),
          ),
        );
      }
      context.table = 'saes';
    }
  }
}

/** Features: one row per (model, layer, kind, idx, sae), the first non-null stats kept; returns the input's ids → the output's. */
function copyFeatures(input: InputDatabase, output: OutputWriter): Map<number, number> {
  const featureIds = new Map<number, number>();
  if (input.columns.has('features')) {
    const columns = sharedColumns(input, output, 'features').filter((c) => c !== 'id');
    const stats = columns.filter((c) => featureStatColumns.includes(c));
    const upsert = output.statement(
      `INSERT INTO features (${columns.map(quote).join(', ')}) VALUES (${columns.map((c) => `@${c}`).join(', ')})
       ON CONFLICT (model, layer, kind, idx, sae) DO UPDATE SET ${
         stats.length > 0
           ? stats.map((c) => `${quote(c)} = COALESCE(features.${quote(c)}, excluded.${quote(c)})`).join(', ')
           : 'idx = features.idx'
       }
       RETURNING id`,
    );
    for (const row of input.db
      .prepare(`SELECT id, ${columns.map(quote).join(', ')} FROM features ORDER BY id`)
      .iterate() as IterableIterator<Row>) {
      const { id, ...values } = row;
      featureIds.set(id as number, (upsert.get(values) as { id: number }).id);
    }
  }
  return featureIds;
}

/**
 * Records with their windows (`adjust` remapping each record's own ids): each record's window, read from the input's
 * `record_windows` or, in an input of schema ≤ 11, from the record's own tokens and activations columns (JSON text
 * activations of schema ≤ 5 converted), is found or added among the output's windows of its feature, and the record
 * points at it. Windows no record of the input uses are not copied.
 */
function copyRecords(
  input: InputDatabase,
  output: OutputWriter,
  adjust: (row: Row) => void,
  windows: RecordWindowWriter,
): number {
  const inputColumns = input.columns.get('records');
  if (!inputColumns) return 0;
  const columns = sharedColumns(input, output, 'records').filter((column) => column !== 'window_id');
  const selected = columns.map((column) => `r.${quote(column)}`).join(', ');
  const select = inputColumns.includes('window_id')
    ? `SELECT ${selected}, w.tokens AS window_tokens, w.activations AS window_activations
       FROM records r LEFT JOIN record_windows w ON w.id = r.window_id ORDER BY r.rowid`
    : `SELECT ${selected}, r.tokens AS window_tokens, r.activations AS window_activations FROM records r ORDER BY r.rowid`;
  const insert = output.statement(
    `INSERT INTO records (${[...columns, 'window_id'].map(quote).join(', ')}) VALUES (${[...columns, 'window_id'].map(() => '?').join(', ')})`,
  );
  let copied = 0;
  for (const row of input.db.prepare(select).iterate() as IterableIterator<Row>) {
    const { window_tokens: tokens, window_activations: activations, ...record } = row;
    if (tokens === null || activations === null)
      throw new MergeError(`${input.label}: record ${String(record.id)} has no window in its record_windows table`);
    adjust(record); // assigns existing keys only: the values stay in column order
    const windowId = windows.idOfStored(record.feature_id as number, String(tokens), toFloat32Column(activations));
    insert.run(...Object.values(record), windowId);
    copied += 1;
  }
  return copied;
}

/** Copies one input's rows (runs already created: `runIds` maps its run ids to the output's). */
export function copyInput(
  input: InputDatabase,
  output: OutputWriter,
  runIds: ReadonlyMap<number, number>,
  context: { table: string },
): void {
  const runs = idMapper(runIds, input, 'run');

  context.table = 'features';
  const featureIds = copyFeatures(input, output);
  const features = idMapper(featureIds, input, 'feature');

  context.table = 'saes';
  copySaes(input, output, context);

  context.table = 'llm_cache';
  copyTable(input, output, 'llm_cache', () => {}, 'ON CONFLICT (key) DO NOTHING');

  // Tables with their own ids: shifted past the ids already in the output (rows keep their order).
  const tables = copiedTables(output.db);
  const offset = new Map(
    tables.filter((shape) => shape.hasIdKey).map((shape) => [shape.name, output.maxId(shape.name)]),
  );
  const shift = (row: Row, column: string, by: number) => {
    if (row[column] !== null && row[column] !== undefined) row[column] = (row[column] as number) + by;
  };
  const windows = new RecordWindowWriter(output.db);
  for (const shape of tables) {
    context.table = shape.name;
    const conversions = Object.entries(columnConversions[shape.name] ?? {});
    const ownOffset = offset.get(shape.name);
    const adjust = (row: Row) => {
      if (ownOffset !== undefined) shift(row, 'id', ownOffset);
      for (const [column, convert] of conversions) if (column in row) row[column] = convert(row[column]);
      for (const key of shape.foreignKeys) {
        if (!(key.column in row) || key.table === 'record_windows') continue; // windows: copyRecords
        if (key.table === 'runs' || key.table === 'features') {
          const ids = key.table === 'runs' ? runs : features;
          row[key.column] = key.notNull ? ids.map(row[key.column]) : ids.mapOptional(row[key.column]);
        } else shift(row, key.column, offset.get(key.table)!);
      }
    };
    if (shape.name === 'records') copyRecords(input, output, adjust, windows);
    else copyTable(input, output, shape.name, adjust);
  }
}

/** Creates the output's runs; returns, per input, its run ids → the output's. */
export function createRuns(
  inputs: readonly InputDatabase[],
  output: OutputWriter,
  plan: readonly PlannedRun[],
): { runIds: Map<number, number>[]; outputIds: number[] } {
  const runIds = inputs.map(() => new Map<number, number>());
  const outputIds = plan.map((planned) => {
    if (planned.kind === 'copied') {
      const { run } = planned;
      const columns = sharedColumns(inputs[run.input]!, output, 'runs').filter((c) => c !== 'id');
      const row: Row = Object.fromEntries(
        columns.map((c) => [c, c === 'name' ? planned.name : (run.row as unknown as Row)[c]]),
      );
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
