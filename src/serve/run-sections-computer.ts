/**
 * @module serve/run-sections-computer — renders run pages' leaderboards and histograms, and counts every run's
 * units, off the server's thread: one worker thread (subject/worker-pool, started on the first request) with its own
 * read-only connection (serve/run-sections-worker). The viewer asks it only for databases too large to answer at once.
 */
import type { RunSummary } from '../store/viewer-queries.ts';
import { WorkerPool } from '../subject/worker-pool.ts';
import type { RunSections } from './run-sections.ts';
import type { RunSectionsRequest, RunSectionsResponse, RunSectionsWorkerData } from './run-sections-worker.ts';

/** Computes a run's sections somewhere other than the request path; `close()` stops it. */
export interface RunSectionsComputer {
  compute(runId: number, scoreKind: string): Promise<RunSections>;
  /** Every run's unit counts and LLM cost (store/viewer-queries `runSummaries`). */
  summaries(): Promise<Map<number, RunSummary>>;
  close(): Promise<void>;
}

const workerEntry = new URL(`./run-sections-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/**
 * A computer over one worker thread reading `databasePath`. Requests are answered one at a time, in order; a worker
 * that fails to start or dies (or a request that throws) fails its request, and the next request starts a new one.
 */
export function workerSectionsComputer(databasePath: string): RunSectionsComputer {
  let pool: Promise<WorkerPool<RunSectionsRequest, RunSectionsResponse, null>> | null = null;
  const start = () => {
    const data: RunSectionsWorkerData = { databasePath };
    pool ??= WorkerPool.start<RunSectionsRequest, RunSectionsResponse, null>({
      entry: workerEntry,
      size: 1,
      data,
      label: 'run page worker',
    });
    return pool;
  };
  const ask = async (request: RunSectionsRequest): Promise<RunSectionsResponse> => {
    const started = start();
    try {
      return await (await started).run(0, request);
    } catch (error) {
      // a worker that failed to start or died: the next request starts another
      if (pool === started) {
        pool = null;
        await started.then((failed) => failed.close()).catch(() => {});
      }
      throw error;
    }
  };
  return {
    compute: async (runId, scoreKind) => (await ask({ type: 'sections', runId, scoreKind })) as RunSections,
    summaries: async () => (await ask({ type: 'summaries' })) as Map<number, RunSummary>,
    async close() {
      const running = pool;
      pool = null;
      if (running) await running.then((started) => started.close()).catch(() => {});
    },
  };
}
