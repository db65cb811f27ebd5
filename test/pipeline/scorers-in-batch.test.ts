/**
 * Issue 16: the judged scorers in `run --batch` against the fake server. Their judge requests are collected in the
 * simulate phase's pass and batched there; the detection rows (with their prompt version), the judge's answers and
 * the judge's calls (purpose `detection`, answered by a batch) are stored, equal to a live run's, with zero live
 * model calls. A judge without a Batch API is refused before a run is created.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeLlmServer, startFakeLlmServer } from '../../src/llm/fake-server/index.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-scorers-batch-'));
let databases = 0;
const openStore = () => new ResultStore(openDatabase(join(directory, `run-${++databases}.db`)));
const modelRoutes = ['POST /v1/chat/completions', 'POST /v1/completions'];

function detectionOf(store: ResultStore, runId: number) {
  return {
    scores: store.db
      .prepare(
        `SELECT f.idx, s.kind, s.value, s.reason, s.prompt_version AS promptVersion FROM scores s
         JOIN features f ON f.id = s.feature_id WHERE s.run_id = ? AND s.kind LIKE 'detection.%' ORDER BY f.idx, s.kind`,
      )
      .all(runId) as { idx: number; kind: string; value: number | null; promptVersion: string | null }[],
    judgements: store.db
      .prepare(
        `SELECT f.idx, j.scorer, j.judge, j.prompt_version AS promptVersion, j.examples FROM judgements j
         JOIN features f ON f.id = j.feature_id WHERE j.run_id = ? ORDER BY f.idx, j.scorer`,
      )
      .all(runId),
  };
}

describe('judged scorers in batch mode', () => {
  let server: FakeLlmServer;
  let source: string;
  beforeAll(async () => {
    server = await startFakeLlmServer({ lexiconPath, batch: { pollsUntilDone: 1 } });
    source = writeFeaturesJsonl(join(directory, 'three.jsonl'), syntheticFeatures(3));
  });
  afterAll(async () => {
    await server.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('batches the judge’s requests in the simulate phase and stores the detection rows and answers of a live run', async () => {
    const config = {
      source,
      scorers: ['correlation', 'detection'],
      explainer: 'openai-compatible:rule-based-v1',
      simulator: 'openai-compatible:rule-based-v1',
      baseUrl: server.url,
      simulationMode: 'chat-logprobs' as const,
    };
    const liveStore = openStore();
    const live = await runPipeline(config, { store: liveStore });
    expect(live).toMatchObject({ status: 'finished', scored: 3, skipped: 1, failed: 0 });
    const expected = detectionOf(liveStore, live.runId);
    expect(expected.scores.length).toBeGreaterThan(0);
    // The three live features' rows carry the prompt version (the dead feature's are null rows with the reason).
    const scored = expected.scores.filter((score) => score.idx < 3);
    expect(scored.length).toBeGreaterThan(0);
    for (const score of scored) expect(score.promptVersion).toMatch(/^detection\./);
    expect(expected.judgements.length).toBe(3);

    const batchStore = openStore();
    const from = server.requests.length;
    const batched = await runPipeline({ ...config, batch: true, batchPollMs: 1 }, { store: batchStore });
    expect(batched).toMatchObject({ status: 'finished', scored: 3, skipped: 1, failed: 0 });
    const routes = server.requests.slice(from).map((request) => `${request.method} ${request.path}`);
    expect(routes.filter((route) => modelRoutes.includes(route))).toEqual([]); // zero live model calls
    expect(detectionOf(batchStore, batched.runId)).toEqual(expected);
    const judgeCalls = batchStore.db
      .prepare(
        `SELECT COUNT(*) AS n, COUNT(batch_id) AS batched FROM llm_calls WHERE run_id = ? AND purpose = 'detection'`,
      )
      .get(batched.runId) as { n: number; batched: number };
    expect(judgeCalls.n).toBeGreaterThan(0);
    expect(judgeCalls.batched).toBe(judgeCalls.n);
    const phases = batchStore.db
      .prepare('SELECT phase, COUNT(*) AS n FROM llm_batches WHERE run_id = ? GROUP BY phase ORDER BY phase')
      .all(batched.runId);
    expect(phases).toEqual([
      { phase: 'explain', n: 1 },
      { phase: 'simulate', n: 2 }, // the simulator's batch and the judge's
    ]);
    liveStore.db.close();
    batchStore.db.close();
  }, 120_000);

  it('refuses a judge without a Batch API before a run is created', async () => {
    const path = join(directory, 'never.db');
    await expect(
      runPipeline(
        {
          source,
          scorers: ['detection'],
          explainer: 'openai-compatible:rule-based-v1',
          simulator: 'openai-compatible:rule-based-v1',
          judge: 'baseline',
          baseUrl: server.url,
          batch: true,
        },
        { store: () => new ResultStore(openDatabase(path)) },
      ),
    ).rejects.toThrow(/--batch: baseline.* has no Batch API/);
  });
});
