import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DatabaseOpenError, openDatabase } from '../../src/store/database.ts';
import { migrations } from '../../src/store/migrations.ts';
import { withUnwritableFile } from '../helpers/unwritable-file.ts';

/** A database as an older autointerp left it: the first `version` migrations applied. */
function olderDatabase(path: string, version: number): void {
  const db = new Database(path);
  for (const migration of migrations.slice(0, version)) {
    if (typeof migration === 'string') db.exec(migration);
    else migration(db);
  }
  db.pragma(`user_version = ${version}`);
  db.prepare(
    "INSERT INTO runs (name, config, code_version, prompt_versions, explainer, simulator, is_baseline, source, started_at, status) VALUES ('old', '{}', 'old', '{}', 'baseline', 'baseline', 1, 'f.jsonl', '2026-01-01', 'finished')",
  ).run();
  db.close();
}

describe('read-only commands on a database of an older autointerp', () => {
  it('upgrade a writable file in place and read it (as every command did before read-only opening)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ro-open-')), 'old.db');
    olderDatabase(path, 6);
    const db = openDatabase(path, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
      expect((db.prepare('SELECT name FROM runs').get() as { name: string }).name).toBe('old');
      expect(() => db.prepare("UPDATE runs SET name = 'x'").run()).toThrow(/readonly/);
    } finally {
      db.close();
    }
  });

  it('refuse a file they cannot upgrade with one line naming it and the way out', (context) =>
    withUnwritableFile(
      context,
      'old.db',
      (path) => olderDatabase(path, 6),
      (path) => {
        expect(() => openDatabase(path, { readonly: true })).toThrow(DatabaseOpenError);
        expect(() => openDatabase(path, { readonly: true })).toThrow(
          /old\.db has schema version 6, older than this autointerp.*copy it to a writable folder/,
        );
      },
    ));
});
