/**
 * @module serve/run-sections-worker — the worker thread that renders run pages' leaderboards and histograms
 * (serve/run-sections), and counts every run's units, over its own read-only connection to the viewer's database, so that the seconds a run of 10^6
 * features takes never stall the server's thread (better-sqlite3 is synchronous). One request at a time.
 */
import { openDatabase, type SqliteDatabase } from '../store/database.ts';
import { resolveRun } from '../store/queries.ts';
import { runSummaries, type RunSummary } from '../store/viewer-queries.ts';
import { serveWorkerRequests } from '../subject/worker-pool.ts';
import { type RunSections, renderRunSections } from './run-sections.ts';

/** What the worker starts from. */
export interface RunSectionsWorkerData {
  databasePath: string;
}

/** The sections of one run and score kind, or every run's summary (unit counts, LLM cost). */
export type RunSectionsRequest = { type: 'sections'; runId: number; scoreKind: string } | { type: 'summaries' };

export type RunSectionsResponse = RunSections | Map<number, RunSummary>;

serveWorkerRequests<SqliteDatabase, RunSectionsRequest, RunSectionsResponse, null>(
  async (data) => {
    const db = openDatabase((data as RunSectionsWorkerData).databasePath, { readonly: true });
    // as the viewer's own connection (serve/viewer-server): a larger page cache and memory-mapped reads
    db.pragma('cache_size = -131072');
    db.pragma('mmap_size = 2147418112');
    return { state: db, info: null };
  },
  (db, request) => {
    if (request.type === 'summaries') return { response: runSummaries(db) };
    const run = resolveRun(db, String(request.runId));
    if (!run) throw new Error(`no run ${request.runId} in this database`);
    return { response: renderRunSections(db, run, request.scoreKind) };
  },
);
