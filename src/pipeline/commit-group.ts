/**
 * @module pipeline/commit-group — saves that share a commit: the first save opens a write transaction (BEGIN
 * IMMEDIATE), each save runs inside it as a savepoint of its own, and the transaction is committed once it holds
 * `maxSaves` saves or `maxDelayMs` after it opened, whichever comes first. A commit writes every page the transaction
 * touched to the WAL, so one commit per feature cost more than a feature's inserts (bench/pipeline-overhead.ts); a
 * group of features committed at once writes the shared pages (indexes, the run's rows) once. What a crash loses is
 * the open group, at most `maxDelayMs` of work: its features are not settled, so a resume does them again. Another
 * process that writes the database waits for the commit (within its busy timeout); a second connection of the same
 * thread would wait synchronously, blocking the timer that commits, so a run's process writes through one connection.
 */
import type { SqliteDatabase } from '../store/database.ts';

export interface CommitGroupOptions {
  /** Saves after which the group is committed at once. */
  maxSaves: number;
  /** Milliseconds after the group opened at which it is committed (other writers wait no longer than this). */
  maxDelayMs: number;
  /** Calls `commit` after `delayMs`; returns a cancel. Default: an unref'd setTimeout (tests inject their own). */
  schedule?: (commit: () => void, delayMs: number) => () => void;
}

export interface CommitGroup {
  /** Runs `save` (a write; a savepoint of its own when it is a `db.transaction` function) inside the open group. */
  write(save: () => void): void;
  /** Commits the open group now, if any; throws the commit's error, or the one a timed commit met. */
  flush(): void;
  /** Ends the open group however it can and never throws: committed, else rolled back (a run that is failing). */
  close(): void;
}

/** What a save of 100 features and 100 ms bound: a few megabytes of dirty pages, a tenth of a second of other writers' wait. */
export const DEFAULT_COMMIT_GROUP: Readonly<Pick<CommitGroupOptions, 'maxSaves' | 'maxDelayMs'>> = {
  maxSaves: 100,
  maxDelayMs: 100,
};

function scheduleUnrefTimeout(commit: () => void, delayMs: number): () => void {
  const timer = setTimeout(commit, delayMs);
  timer.unref();
  return () => clearTimeout(timer);
}

export function createCommitGroup(db: SqliteDatabase, options: CommitGroupOptions): CommitGroup {
  const schedule = options.schedule ?? scheduleUnrefTimeout;
  /** Whether this group opened the transaction that is open (another's outer transaction is left alone). */
  let open = false;
  let saves = 0;
  let cancelTimer: (() => void) | undefined;
  /** An error a timed commit met: thrown by the next write or flush. */
  let timedFailure: unknown;

  const end = (how: 'COMMIT' | 'ROLLBACK') => {
    cancelTimer?.();
    cancelTimer = undefined;
    open = false;
    saves = 0;
    if (db.inTransaction) db.exec(how);
  };
  const commit = () => {
    if (!open) return;
    try {
      end('COMMIT');
    } catch (error) {
      // A failed COMMIT (a full disk) may leave the transaction open: roll it back so that the next write starts clean.
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };
  const throwTimedFailure = () => {
    if (timedFailure === undefined) return;
    const failure = timedFailure;
    timedFailure = undefined;
    throw failure;
  };

  return {
    write(save) {
      throwTimedFailure();
      if (!open && !db.inTransaction) {
        db.exec('BEGIN IMMEDIATE');
        open = true;
        cancelTimer = schedule(() => {
          cancelTimer = undefined;
          try {
            commit();
          } catch (error) {
            timedFailure = error;
          }
        }, options.maxDelayMs);
      }
      save();
      if (open && ++saves >= options.maxSaves) commit();
    },
    flush() {
      throwTimedFailure();
      commit();
    },
    close() {
      timedFailure = undefined;
      if (!open) return;
      try {
        commit();
      } catch {
        // rolled back by commit(): the group's features are redone by a resume
      }
    },
  };
}
