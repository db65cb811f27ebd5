/**
 * @module serve/viewer-context — what every page handler gets: the read-only database, a cache of expensive answers
 * (leaderboards, comparisons, run summaries) that is emptied whenever another connection commits to the file
 * (SQLite's `PRAGMA data_version` changes), the optional feature models, and the errors a handler throws to answer
 * 404 or 400.
 */
import { InputError } from '../common/errors.ts';
import type { SqliteDatabase } from '../store/database.ts';
import type { RunSectionsComputer } from './run-sections-computer.ts';
import type { ViewerModels } from './viewer-models.ts';

/** A handler's error that is the user's: answered with `status` and the message as the page. */
export class ViewerRequestError extends InputError {
  override readonly name = 'ViewerRequestError';
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

/** Answers computed once per database state: the database changes only when another process writes to it. */
export class ViewerCache {
  private readonly entries = new Map<string, unknown>();
  private dataVersion: number | null = null;
  constructor(private readonly db: SqliteDatabase) {}

  /** The cached value for `key`, computing it when absent or when the database changed since it was computed. */
  get<T>(key: string, compute: () => T): T {
    const version = this.db.pragma('data_version', { simple: true }) as number;
    if (version !== this.dataVersion) {
      this.entries.clear();
      this.dataVersion = version;
    }
    if (this.entries.has(key)) return this.entries.get(key) as T;
    const value = compute();
    this.entries.set(key, value);
    return value;
  }

  /** Forgets `key` (e.g. a failed background computation, so that the next view tries again). */
  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** Where a run page's leaderboard and histograms are computed. */
export interface RunSectionsPolicy {
  /** Off the request path (serve/run-sections-computer); null: always on it. */
  computer: RunSectionsComputer | null;
  /** A database of at most this many features (its largest feature id) is answered on the request path. */
  inlineUpTo: number;
}

export interface ViewerContext {
  db: SqliteDatabase;
  /** The database file as the navigation bar names it. */
  databaseLabel: string;
  cache: ViewerCache;
  /** Subject models and SAEs for unembedding and steering; null when the viewer was started without them. */
  models: ViewerModels | null;
  /** Answer only requests whose Host is a loopback name (the server listens on loopback). */
  loopbackOnly: boolean;
  runSections: RunSectionsPolicy;
}

/** A page: its title and body HTML (the frame is added by the server). */
export interface ViewerPage {
  title: string;
  body: string;
  /** Reload the page after this many seconds (a page whose content is still being computed). */
  refreshSeconds?: number;
}
