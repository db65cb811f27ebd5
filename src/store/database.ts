/**
 * @module store/database — opens the SQLite file (WAL, foreign keys), applies migrations, and closes cleanly; or
 * opens it read-only for the commands that only read (no file created, nothing written, no migration).
 * Path: `--db`, else `AUTOINTERP_DB`, else `autointerp.db` in the working directory.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { migrations } from './migrations.ts';
import { refuseUpgradeUnderLiveRun, UpgradeBlockedError, type UpgradeGuardOptions } from './upgrade-guard.ts';
import { InputError } from '../common/errors.ts';

export type SqliteDatabase = Database.Database;

// Read-only opening falls back to a `file:…?immutable=1` URI (openReadOnly); SQLite reads URIs only when configured
// to, and better-sqlite3 configures it from this variable once, when its native addon loads (at the first database).
process.env.SQLITE_USE_URI ??= '1';

export const DEFAULT_DATABASE_FILE = 'autointerp.db';

/** How long a connection waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/** A database that cannot be opened as asked; the message names the file. */
export class DatabaseOpenError extends InputError {
  override readonly name = 'DatabaseOpenError';
}

export interface OpenDatabaseOptions {
  /** Open read-only: the file must exist and be an autointerp database of this schema version; nothing is written. */
  readonly?: boolean;
  /** Refuse a missing file instead of creating it (read-only opening implies it). */
  mustExist?: boolean;
  /** How an upgrade tells a live run of another process, which refuses it (tests inject a clock). */
  upgradeGuard?: UpgradeGuardOptions;
}

/** The database path a command should use: explicit option, then AUTOINTERP_DB, then ./autointerp.db. */
export function resolveDatabasePath(explicit?: string): string {
  return explicit || process.env.AUTOINTERP_DB || DEFAULT_DATABASE_FILE;
}

/**
 * Applies pending migrations in one `BEGIN IMMEDIATE` transaction, reading `user_version` again once the write lock
 * is held: of several processes opening a new database at once, one migrates and the others find it done. Refuses
 * a database newer than this code. Foreign keys are off while migrations run (set back after), as SQLite asks for a
 * table rebuilt under other tables' references (sqlite.org/lang_altertable.html, "other kinds of table schema
 * changes"); a migration that rebuilds one keeps every row's id. An older database on which another process is
 * running a run (a live lease: an older autointerp writing) is not upgraded under it (store/upgrade-guard).
 */
export function migrate(db: SqliteDatabase, upgradeGuard: UpgradeGuardOptions = {}): void {
  const refuseNewer = (version: number) => {
    if (version > migrations.length) {
      throw new InputError(
        `database schema version ${version} is newer than this autointerp (${migrations.length}); upgrade autointerp`,
      );
    }
  };
  const before = db.pragma('user_version', { simple: true }) as number;
  refuseNewer(before);
  if (before === migrations.length) return;
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      const current = db.pragma('user_version', { simple: true }) as number;
      refuseNewer(current);
      if (current < migrations.length) refuseUpgradeUnderLiveRun(db, current, migrations.length, upgradeGuard);
      for (let version = current; version < migrations.length; version++) {
        const migration = migrations[version]!;
        if (typeof migration === 'string') db.exec(migration);
        else migration(db);
      }
      db.pragma(`user_version = ${migrations.length}`);
    }).immediate();
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  }
}

/** Opens (creating and migrating where needed) the database at `path`; `readonly` opens it for reading only. */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  if (options.readonly) return openReadOnly(path, options.upgradeGuard);
  if (options.mustExist && path !== ':memory:' && !existsSync(path))
    throw new DatabaseOpenError(`no database at ${path}`);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: SqliteDatabase;
  try {
    db = new Database(path);
  } catch (error) {
    throw new DatabaseOpenError(`cannot open database ${path}: ${(error as Error).message}`);
  }
  // SQLite answers SQLITE_BUSY at once, without waiting in the busy handler, where waiting could deadlock (e.g. the
  // switch to WAL while other processes create the same new file): such an open is tried again, with backoff, until
  // OPEN_RETRY_MS have passed.
  const deadline = Date.now() + OPEN_RETRY_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      configureAndMigrate(db, options.upgradeGuard);
      return db;
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_BUSY' && Date.now() < deadline) {
        sleepSync(Math.min(250, 5 * 2 ** attempt) * (0.5 + Math.random()));
        continue;
      }
      db.close();
      if (error instanceof UpgradeBlockedError) throw error;
      // e.g. "attempt to write a readonly database": name the file (commands that only read open it read-only)
      throw new DatabaseOpenError(`cannot open database ${path} for writing: ${(error as Error).message}`);
    }
  }
}

/** How long an open keeps retrying a busy database before it reports it locked. */
const OPEN_RETRY_MS = 30_000;

/** Connection settings and schema migration; safe to repeat on the same connection. */
function configureAndMigrate(db: SqliteDatabase, upgradeGuard?: UpgradeGuardOptions): void {
  // First, so that every statement below waits for a process that holds the lock (e.g. one migrating).
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Checkpoint the WAL every ~40 MB instead of every ~4 MB: a run writes one transaction per feature, and frequent
  // checkpoints copy the same index pages over and over (measured: ~0.2 ms less per feature).
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('foreign_keys = ON');
  migrate(db, upgradeGuard);
}

/** Blocks this thread for `ms` milliseconds (opening a database is synchronous). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Read-only: never creates the file or writes to it (leaderboard, report, export, compare, regress work on databases
 * the user may not write, e.g. a shared results file). A database of an older schema is upgraded first where the file
 * is writable (the migrations add tables and columns, never change results), and refused with a way out where not
 * (or while another process runs a run on it: store/upgrade-guard).
 */
function openReadOnly(path: string, upgradeGuard?: UpgradeGuardOptions): SqliteDatabase {
  if (!existsSync(path)) throw new DatabaseOpenError(`no database at ${path}`);
  if (!statSync(path).isFile()) throw new DatabaseOpenError(`${path} is not a database file`);
  let db: SqliteDatabase;
  let version: number;
  try {
    ({ db, version } = openReadingVersion(path));
  } catch (error) {
    // A WAL database in a folder this process cannot write, with no -shm file beside it (closed cleanly, e.g. on
    // read-only media): SQLite reads it only as immutable (nobody writes it meanwhile: nobody can).
    if ((error as { code?: string }).code !== 'SQLITE_CANTOPEN')
      throw new DatabaseOpenError(`cannot read database ${path}: ${(error as Error).message}`);
    try {
      ({ db, version } = openReadingVersion(`${pathToFileURL(resolve(path)).href}?immutable=1`));
    } catch {
      throw new DatabaseOpenError(
        `cannot read database ${path}: ${(error as Error).message} (a WAL database in a folder that cannot be written needs its -shm file)`,
      );
    }
  }
  let refusal: string | undefined;
  if (version === 0) refusal = `${path} is not an autointerp database (no schema)`;
  else if (version > migrations.length)
    refusal = `database ${path} has schema version ${version}, newer than this autointerp (${migrations.length}); upgrade autointerp`;
  if (refusal) {
    db.close();
    throw new DatabaseOpenError(refusal);
  }
  if (version < migrations.length) {
    // A database of an older autointerp: upgraded in place where the file is writable (as every command did before
    // read-only opening), then read as usual; where it is not, say how to read it.
    db.close();
    try {
      openDatabase(path, { upgradeGuard }).close();
    } catch (error) {
      if (error instanceof UpgradeBlockedError) throw error;
      throw new DatabaseOpenError(
        `database ${path} has schema version ${version}, older than this autointerp (${migrations.length}), and cannot be upgraded where it is (${(error as Error).message}); copy it to a writable folder and open the copy`,
      );
    }
    return openReadOnly(path, upgradeGuard);
  }
  return db;
}

/** Opens read-only and reads the schema version (the first read is where SQLite finds it cannot open the file). */
function openReadingVersion(location: string): { db: SqliteDatabase; version: number } {
  const db = new Database(location, { readonly: true, fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return { db, version: db.pragma('user_version', { simple: true }) as number };
  } catch (error) {
    db.close();
    throw error;
  }
}
