/**
 * @module store/schema-references — what the schema says about a table, read from SQLite itself (`PRAGMA table_info`,
 * `PRAGMA foreign_key_list`): its columns, its integer `id` key, the columns that refer to other tables, and an
 * order of tables in which every referenced table comes first. `merge` remaps ids from it.
 */
import type { SqliteDatabase } from './database.ts';

export interface ColumnShape {
  name: string;
  notNull: boolean;
}

/** A column that refers to another table's column (`REFERENCES table (column)`). */
export interface ForeignKey {
  column: string;
  table: string;
  referencedColumn: string;
  /** The column is NOT NULL: every row refers to a row of `table`. */
  notNull: boolean;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
  /** The table's rows are keyed by an `id` column. */
  hasIdKey: boolean;
  foreignKeys: ForeignKey[];
}

export const quoteIdentifier = (identifier: string): string => `"${identifier.replaceAll('"', '""')}"`;

/**
 * The tables of a database (without SQLite's own), in the order they were created: ordinary tables only, so a
 * full-text index (a virtual table and its shadow tables, filled by its triggers) is never copied row by row.
 */
export function tableNames(db: SqliteDatabase): string[] {
  const rows = db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         AND name IN (SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table') ORDER BY rowid`,
    )
    .all() as { name: string }[];
  return rows.map((table) => table.name);
}

export function readTableShape(db: SqliteDatabase, table: string): TableShape {
  const info = db.pragma(`table_info(${quoteIdentifier(table)})`) as { name: string; notnull: number; pk: number }[];
  const columns = info.map((column) => ({ name: column.name, notNull: column.notnull === 1 }));
  const notNull = new Set(columns.filter((column) => column.notNull).map((column) => column.name));
  const references = db.pragma(`foreign_key_list(${quoteIdentifier(table)})`) as {
    from: string;
    table: string;
    to: string | null;
  }[];
  return {
    name: table,
    columns,
    hasIdKey:
      info.some((column) => column.name === 'id' && column.pk === 1) &&
      info.filter((column) => column.pk > 0).length === 1,
    foreignKeys: references.map((reference) => ({
      column: reference.from,
      table: reference.table,
      referencedColumn: reference.to ?? 'id',
      notNull: notNull.has(reference.from),
    })),
  };
}

/**
 * `shapes` ordered so that every table comes after the tables it refers to (references outside `shapes` are
 * ignored); ties keep the given order. A cycle of references is a schema this cannot order: it throws.
 */
export function inReferenceOrder(shapes: readonly TableShape[]): TableShape[] {
  const names = new Set(shapes.map((shape) => shape.name));
  const placed = new Set<string>();
  const ordered: TableShape[] = [];
  while (ordered.length < shapes.length) {
    const next = shapes.find(
      (shape) =>
        !placed.has(shape.name) &&
        shape.foreignKeys.every((key) => key.table === shape.name || !names.has(key.table) || placed.has(key.table)),
    );
    if (!next)
      throw new Error(
        `the tables ${shapes
          .filter((shape) => !placed.has(shape.name))
          .map((shape) => shape.name)
          .join(', ')} refer to each other in a cycle`,
      );
    placed.add(next.name);
    ordered.push(next);
  }
  return ordered;
}
