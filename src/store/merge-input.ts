/**
 * @module store/merge-input — the input databases of `merge`: each opened read-only and read in one read
 * transaction (a consistent snapshot), with the columns of each of its tables (an older schema has fewer).
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { SqliteDatabase } from './database.ts';
import { MergeError } from './merge-error.ts';
import { migrations } from './migrations.ts';
import { quoteIdentifier } from './schema-references.ts';

/** A row as SQLite returns it. */
export type Row = Record<string, unknown>;

export interface InputDatabase {
  /** As given. */
  path: string;
  /** Its file name, for messages. */
  label: string;
  db: SqliteDatabase;
  /** Columns of each table it has. */
  columns: Map<string, string[]>;
}

export function openInput(path: string): InputDatabase {
  if (!existsSync(path)) throw new MergeError(`${path}: no such file`);
  let db: SqliteDatabase;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new MergeError(`${path}: cannot open (${(error as Error).message})`);
  }
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map(
      (t) => t.name,
    );
    if (version === 0 || !tables.includes('runs')) throw new MergeError(`${path}: not an autointerp database`);
    if (version > migrations.length) {
      throw new MergeError(
        `${path}: schema version ${version} is newer than this autointerp (${migrations.length}); upgrade autointerp`,
      );
    }
    const columns = new Map<string, string[]>();
    for (const table of tables) {
      columns.set(
        table,
        (db.pragma(`table_info(${quoteIdentifier(table)})`) as { name: string }[]).map((c) => c.name),
      );
    }
    db.exec('BEGIN'); // one snapshot for every read of this input (held until the merge ends)
    return { path, label: basename(path), db, columns };
  } catch (error) {
    db.close();
    if (error instanceof MergeError) throw error;
    throw new MergeError(`${path}: cannot read (${(error as Error).message})`);
  }
}

export function closeInput(input: InputDatabase): void {
  if (input.db.inTransaction) input.db.exec('COMMIT');
  input.db.close();
}
