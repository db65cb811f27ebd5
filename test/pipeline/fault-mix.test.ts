import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { startFakeLlmServer } from '../../src/llm/fake-server/fake-llm-server.ts';
import type { FaultKind } from '../../src/llm/fake-server/fault-injection.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { peakInWindow, recordSends } from '../helpers/rate-windows.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';
import { createTimeoutTrigger } from '../helpers/timeout-trigger.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-faults-'));
const lexiconPath = fileURLToPath(new URL('../fixtures/lexicon-small.json', import.meta.url));

describe('a run under a fault mix against the fake server', () => {
  it('completes 110 features: every one scored or failed with a reason, no window over the request limit', async () => {
    const faults: Record<string, number> = {};
    // A hung request is timed out the moment the server holds it (an explicit trigger, not a timer): on a loaded
    // machine a 1-second client timeout also cut healthy requests, ten features in a row failed and the run stopped
    // "interrupted". The SDK sees the same AbortError as from its own timeout (test/helpers/timeout-trigger.ts).
    const trigger = createTimeoutTrigger();
    const server = await startFakeLlmServer({
      lexiconPath,
      latencyMs: 2,
      faults: {
        seed: 7,
        retryAfterMs: 20,
        mix: {
          rateLimited: 0.1,
          serverError: 0.05,
          hang: 0.02,
          malformedJson: 0.02,
          truncated: 0.01,
          missingLogprobs: 0.02,
        },
        onFault: (kind: FaultKind, _path, request) => {
          faults[kind] = (faults[kind] ?? 0) + 1;
          if (kind === 'hang') trigger.timeOut(request);
        },
      },
    });
    // The rate check counts requests where the client SENDS them (each call of fetch, stamped as it is made), not
    // where they arrive at the server: on a loaded machine a request can sit in transit (even past its client-side
    // timeout) and pile into one server-side window with later ones though the limiter admitted each correctly. The
    // SDK client is created at the first request and takes the global fetch then, so the pipeline's own providers
    // and limiter (buildProviders) are the ones measured.
    const sends = recordSends(server.url, trigger.fetch);
    vi.stubGlobal('fetch', sends.fetch);
    try {
      // 110 features (it was 220): about 290 requests, and the seeded mix (a function of the seed and each request's
      // body, so the same on every run) still draws every fault kind: 33 rate limits, 15 server errors, 4 hangs,
      // 6 malformed bodies, 2 truncated, 13 without logprobs.
      const source = writeFeaturesJsonl(join(directory, 'many.jsonl'), syntheticFeatures(110, { dead: false }));
      const store = new ResultStore(openDatabase(join(directory, 'faults.db')));
      const limit = 60; // requests per 1-second window (high, to keep the test short; the run still presses against it)
      const summary = await runPipeline(
        {
          source,
          scorers: ['correlation'], // the simulation's calls (the judged scorers would add their own)
          explainer: 'openai-compatible:rule-based-v1',
          simulator: 'openai-compatible:rule-based-v1',
          baseUrl: server.url,
          concurrency: 16,
          requestsPerMinute: limit,
          rateWindowMs: 1000,
          retryBaseDelayMs: 5,
          maxAttempts: 6,
          requestTimeoutMs: 120_000, // a hang guard only: a hang costs one timeout (the trigger's), then a retry
        },
        { store },
      );
      expect(summary).toMatchObject({ status: 'finished', total: 110 });
      expect(summary.scored + summary.failed).toBe(110);
      const rows = store.db.prepare('SELECT status, reason FROM run_features WHERE run_id = ?').all(summary.runId) as {
        status: string;
        reason: string | null;
      }[];
      expect(rows).toHaveLength(110);
      for (const row of rows) {
        if (row.status === 'failed') expect(row.reason).toBeTruthy();
        else expect(row.status).toBe('scored');
      }
      const scored = store.db
        .prepare(`SELECT COUNT(DISTINCT feature_id) AS n FROM scores WHERE run_id = ? AND kind = 'correlation.all'`)
        .get(summary.runId);
      expect(scored).toEqual({ n: summary.scored });
      expect(summary.scored).toBeGreaterThan(100); // retries turn almost every fault into an answer
      // every fault kind happened, and the limiter held as the client sent: no 1-second window of sends over the limit
      for (const kind of ['rateLimited', 'serverError', 'hang', 'malformedJson', 'missingLogprobs'])
        expect(faults[kind], kind).toBeGreaterThan(0);
      expect(trigger.timedOut()).toBe(faults.hang); // every hang ended as a timeout of its request
      const sent = sends.times('POST');
      expect(sent.length).toBeGreaterThan(110); // the requests went through the recording fetch
      expect(peakInWindow(sent, 1000)).toBeLessThanOrEqual(limit);
      // arrivals at the server are logged only: their spacing depends on the machine's load
      const arrivals = server.requests.filter((r) => r.method === 'POST').map((r) => r.receivedAtMs);
      console.log(
        `fault-mix run: ${sent.length} requests sent, ${arrivals.length} arrived, faults ${JSON.stringify(faults)}, ${summary.scored} scored, ${summary.failed} failed, ${(summary.durationMs / 1000).toFixed(1)} s, peak ${peakInWindow(sent, 1000)}/${limit} sent per s (${peakInWindow(arrivals, 1000)} arrived)`,
      );
      for (const row of rows.filter((r) => r.status === 'failed')) console.log(`failed: ${row.reason}`);
    } finally {
      vi.unstubAllGlobals();
      await server.close();
    }
  }, 240_000); // a hang guard only: the run takes a few seconds on a quiet machine, longer on a loaded one
});
