/**
 * Issue 17, item 5: a best-of-n run (`--explanations 4 --revise 1`) aborted in the middle of a feature's search —
 * on an event, the k-th request the provider answered — and then resumed (`run --resume`) pays for no finished
 * candidate twice: the provider answers each request once over both invocations (the run's SQLite response cache
 * answers the finished ones), and the resumed run's rows equal an uninterrupted run's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBaselineProvider } from '../../src/llm/baseline/baseline-provider.ts';
import { withCache } from '../../src/llm/response-cache.ts';
import type { LlmRequest, Provider } from '../../src/llm/types.ts';
import { wrapProvider } from '../../src/llm/wrap-provider.ts';
import { demoPlantedPath } from '../../src/pipeline/config.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { createSqliteResponseCache } from '../../src/store/response-cache-table.ts';
import { ResultStore } from '../../src/store/result-store.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-best-of-n-resume-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const features = readFileSync(demoPlantedPath, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .slice(0, 2); // the first, aborted in its search, and one queued behind it
const source = join(directory, 'two.jsonl');
writeFileSync(source, `${features.join('\n')}\n`);
const config = { source, scorers: ['correlation'], ablation: false, explanations: 4, revise: 1, concurrency: 1 };

const requestKey = ({ signal: _signal, ...request }: LlmRequest) => JSON.stringify(request);

/**
 * The baseline model behind a counter of the requests it answered (by request), cached in the store's response
 * cache as a live run's providers are; `afterAnswer` sees the number answered so far.
 */
function countingProvider(store: ResultStore, answered: Map<string, number>, afterAnswer: (count: number) => void) {
  let count = 0;
  const counted: Provider = wrapProvider(createBaselineProvider(), {
    async wrapComplete({ request, complete }) {
      request.signal?.throwIfAborted();
      const result = await complete();
      answered.set(requestKey(request), (answered.get(requestKey(request)) ?? 0) + 1);
      afterAnswer(++count);
      return result;
    },
  });
  return withCache(counted, createSqliteResponseCache(store.db), { isCacheable: () => true });
}

function rowsOf(store: ResultStore, runId: number) {
  const all = (sql: string) => store.db.prepare(sql).all(runId);
  return {
    candidates: all(
      `SELECT f.layer, f.idx, c.candidate, c.parent, c.kind, c.text, c.calibration_score, c.held_out_score, c.selected
         FROM explanation_candidates c JOIN features f ON f.id = c.feature_id WHERE c.run_id = ?
        ORDER BY f.layer, f.idx, c.candidate`,
    ),
    explanations: all(
      `SELECT f.layer, f.idx, e.text FROM explanations e JOIN features f ON f.id = e.feature_id WHERE e.run_id = ?
        ORDER BY f.layer, f.idx`,
    ),
    scores: all(
      `SELECT f.layer, f.idx, s.kind, s.value FROM scores s JOIN features f ON f.id = s.feature_id WHERE s.run_id = ?
        ORDER BY f.layer, f.idx, s.kind`,
    ),
  };
}

describe('best-of-n: a run aborted mid-search resumes without paying for finished candidates twice (issue 17)', () => {
  it('each request is answered once over the aborted run and its resume; the rows equal an uninterrupted run', async () => {
    const referenceStore = new ResultStore(openDatabase(join(directory, 'reference.db')));
    const referenceAnswers = new Map<string, number>();
    const provider = countingProvider(referenceStore, referenceAnswers, () => {});
    const reference = await runPipeline(config, { store: referenceStore, explainer: provider, simulator: provider });
    expect(reference).toMatchObject({ status: 'finished', scored: features.length, failed: 0 });
    const referenceRows = rowsOf(referenceStore, reference.runId);
    expect(referenceRows.candidates.some((row) => (row as { kind: string }).kind === 'revision')).toBe(true);

    // Aborted after the 6th answer: the first feature's 4 candidates are explained and 2 of them simulated on
    // calibration — mid-search, nothing saved yet.
    const store = new ResultStore(openDatabase(join(directory, 'resumed.db')));
    const answered = new Map<string, number>();
    const abort = new AbortController();
    const interrupting = countingProvider(store, answered, (count) => {
      if (count === 6) abort.abort();
    });
    const aborted = await runPipeline(config, {
      store,
      explainer: interrupting,
      simulator: interrupting,
      signal: abort.signal,
    });
    expect(aborted.status).toBe('interrupted');
    expect(aborted.scored).toBe(0);
    // (requests already in flight at the abort may still be answered: they are cached as well)
    expect(answered.size).toBeGreaterThanOrEqual(6);
    expect(answered.size).toBeLessThan(referenceAnswers.size);
    expect(rowsOf(store, aborted.runId).candidates).toEqual([]);

    const resumingProvider = countingProvider(store, answered, () => {});
    const resumed = await runPipeline(undefined, {
      store,
      resumeRunId: aborted.runId,
      explainer: resumingProvider,
      simulator: resumingProvider,
    });
    expect(resumed).toMatchObject({ status: 'finished', scored: features.length, failed: 0 });
    // Every request answered once in total (the 6 before the abort came from the cache), and exactly the
    // uninterrupted run's requests.
    expect([...answered.values()].every((count) => count === 1)).toBe(true);
    expect(new Set(answered.keys())).toEqual(new Set(referenceAnswers.keys()));
    expect(rowsOf(store, aborted.runId)).toEqual(referenceRows);
  });
});
