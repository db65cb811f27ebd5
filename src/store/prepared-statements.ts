/** @module store/prepared-statements — SQL text → prepared statement, prepared once per database handle. */
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';

/**
 * Returns a function that prepares each SQL text once and reuses the statement (preparing costs more than running a
 * small insert).
 */
export function preparedStatements(db: SqliteDatabase): (text: string) => Statement {
  const statements = new Map<string, Statement>();
  return (text) => {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };
}
