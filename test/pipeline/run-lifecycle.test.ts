import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { ProviderPreflightError } from '../../src/llm/provider-preflight.ts';
import { LlmCallError } from '../../src/llm/types.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { RunFailedError } from '../../src/pipeline/run-failed-error.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore, type FeatureResult, type LlmCallRow } from '../../src/store/result-store.ts';
import { LeaseLostError, RunLeasedError } from '../../src/store/run-lease.ts';
import { echoResult } from '../helpers/echo-mock.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';
import { perfectProviders, testPrompts } from '../helpers/pipeline-mocks.ts';

const directory = mkdtempSync(join(tmpdir(), 'autointerp-lifecycle-'));
const statusOf = (store: ResultStore, runId: number) => store.getRun(runId)?.status;
const leases = (store: ResultStore) => store.db.prepare('SELECT run_id, pid FROM run_leases').all();

/**
 * A store whose `after`-th save fails as SQLite does on a full disk. It overrides the store's 3-argument save as a
 * user's subclass would; the run's lease renewal is the saver's own (test below), so nothing is to be forwarded.
 */
class FullDiskStore extends ResultStore {
  saves = 0;
  constructor(
    path: string,
    private readonly after: number,
  ) {
    super(openDatabase(path));
  }
  override saveFeatureResult(runId: number, result: FeatureResult, calls?: readonly LlmCallRow[]): void {
    this.saves += 1;
    if (this.saves >= this.after) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    super.saveFeatureResult(runId, result, calls);
  }
}

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('a fatal error ends the run: failed, one error, the promise settles', () => {
  it('a store error (SQLITE_FULL) with features queued behind it: rejects naming the run and the database, marks the run failed, releases it', async () => {
    const source = writeFeaturesJsonl(join(directory, 'twenty.jsonl'), syntheticFeatures(20));
    const path = join(directory, 'full.db');
    const store = new FullDiskStore(path, 3);
    // Before the fix, p-limit's clearQueue left the queued features unsettled: this promise never settled.
    const outcome = await runPipeline(
      { source, concurrency: 4, ...testPrompts },
      { store, ...perfectProviders() },
    ).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(RunFailedError);
    expect((outcome as Error).message).toBe(`run 1 failed: database ${path}: database or disk is full`);
    expect(statusOf(store, 1)).toBe('failed');
    expect(leases(store)).toEqual([]);
    expect(store.saves).toBeLessThanOrEqual(3 + 3); // no new feature after the error; only those in flight ended
  });

  it('a bug in a stage (a thrown error) fails the run the same way', async () => {
    const source = writeFeaturesJsonl(join(directory, 'bug.jsonl'), syntheticFeatures(6));
    const store = new ResultStore(openDatabase(join(directory, 'bug.db')));
    const { explainer } = perfectProviders();
    const simulator = createMockProvider({
      model: 'simulator',
      respond: () => {
        throw new TypeError('cannot read properties of undefined');
      },
    });
    // A provider error is a feature failure, not fatal; an error from the event hook is a bug of the caller's code.
    const outcome = await runPipeline(
      { source, concurrency: 2, ...testPrompts },
      {
        store,
        explainer,
        simulator,
        events: {
          onFeatureDone: () => {
            throw new TypeError('a bug');
          },
        },
      },
    ).catch((error: unknown) => error);
    expect((outcome as Error).message).toBe('run 1 failed: a bug');
    expect(statusOf(store, 1)).toBe('failed');
  });
});

describe('one process at a time per run', () => {
  it('a second resume of a run in progress is refused and calls no provider; the first finishes it', async () => {
    const source = writeFeaturesJsonl(join(directory, 'held.jsonl'), syntheticFeatures(6));
    const store = new ResultStore(openDatabase(join(directory, 'held.db')));
    const controller = new AbortController();
    const first = await runPipeline(
      { source, concurrency: 1, ...testPrompts },
      {
        store,
        ...perfectProviders(),
        stopSignal: controller.signal,
        events: { onFeatureDone: () => controller.abort() },
      },
    );
    expect(first).toMatchObject({ status: 'interrupted', processedNow: 1 });
    expect(leases(store)).toEqual([]); // released when it stopped

    // Resume A waits inside its first explain call until B has been refused.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let entered!: () => void;
    const inCall = new Promise<void>((resolve) => (entered = resolve));
    const slow = createMockProvider({
      model: 'explainer',
      respond: async () => {
        entered();
        await gate;
        return textResult(' tokens like t.');
      },
    });
    const { simulator } = perfectProviders();
    const resumeA = runPipeline(undefined, { store, resumeRunId: first.runId, explainer: slow, simulator });
    await inCall;
    expect(leases(store)).toEqual([{ run_id: first.runId, pid: process.pid }]);
    const second = perfectProviders();
    await expect(runPipeline(undefined, { store, resumeRunId: first.runId, ...second })).rejects.toThrow(
      RunLeasedError,
    );
    await expect(runPipeline(undefined, { store, resumeRunId: first.runId, ...second })).rejects.toThrow(
      new RegExp(`run ${first.runId} is being run by process ${process.pid} on `),
    );
    expect(second.explainer.requests.length + second.simulator.requests.length).toBe(0);
    openGate();
    expect(await resumeA).toMatchObject({ status: 'finished', scored: 6, skipped: 1 });
    expect(leases(store)).toEqual([]);
    expect(statusOf(store, first.runId)).toBe('finished');
  });
});

describe('a run whose lease another process took over stops', () => {
  it('through a store that overrides saveFeatureResult: the next save meets the takeover, LeaseLostError, nothing more saved', async () => {
    const source = writeFeaturesJsonl(join(directory, 'taken.jsonl'), syntheticFeatures(6, { dead: false }));
    const store = new FullDiskStore(join(directory, 'taken.db'), Number.POSITIVE_INFINITY); // never full
    const { explainer, simulator } = perfectProviders();
    let saved = 0;
    const outcome = await runPipeline(
      { source, concurrency: 1, ...testPrompts },
      {
        store,
        explainer,
        simulator,
        events: {
          // After the first feature's save: another process holds the run now, with a fresh heartbeat.
          onFeatureDone: () => {
            saved += 1;
            if (saved === 1)
              store.db
                .prepare(`UPDATE run_leases SET holder = 'another-process', pid = ?, heartbeat_at = ? WHERE run_id = 1`)
                .run(process.ppid, Date.now());
          },
        },
      },
    ).catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(LeaseLostError);
    expect((outcome as Error).message).toMatch(
      /run 1 was taken over by process \d+ on .*; stopping without writing more/,
    );
    // The second feature reached the saver (its heartbeat threw inside the save) and was not written; none after it ran.
    expect(store.saves).toBe(1);
    expect(saved).toBe(1);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM run_features').get()).toEqual({ n: 1 });
    expect(explainer.requests.length).toBe(2); // the first feature's and the second's, no third
    // The run is the other process's to mark: this one leaves its status and the other's lease alone.
    expect(statusOf(store, 1)).toBe('running');
    expect(store.db.prepare('SELECT holder FROM run_leases').all()).toEqual([{ holder: 'another-process' }]);
    expect(store.db.inTransaction).toBe(false);
  });
});

describe('providers are checked before a run exists', () => {
  it('an OpenAI-compatible server that does not answer: ProviderPreflightError, the store is never opened', async () => {
    const source = writeFeaturesJsonl(join(directory, 'unreachable.jsonl'), syntheticFeatures(3));
    const port = await closedPort();
    let opened = 0;
    const path = join(directory, 'never.db');
    const config = {
      source,
      explainer: 'openai-compatible:m',
      simulator: 'baseline',
      baseUrl: `http://127.0.0.1:${port}/v1`,
      ...testPrompts,
    };
    const outcome = await runPipeline(config, { store: () => (opened++, new ResultStore(openDatabase(path))) }).catch(
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(ProviderPreflightError);
    expect((outcome as Error).message).toMatch(
      new RegExp(`^openai-compatible:m: cannot reach http://127.0.0.1:${port} \\(ECONNREFUSED\\)`),
    );
    expect(opened).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('anthropic: without ANTHROPIC_API_KEY: refused before anything is sent or written (no run row)', async () => {
    const source = writeFeaturesJsonl(join(directory, 'nokey.jsonl'), syntheticFeatures(3));
    const saved = process.env.ANTHROPIC_API_KEY;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      const store = new ResultStore(openDatabase(join(directory, 'nokey.db')));
      await expect(
        runPipeline({ source, explainer: 'anthropic:claude-x', simulator: 'baseline', ...testPrompts }, { store }),
      ).rejects.toThrow('anthropic:claude-x: no API key: set ANTHROPIC_API_KEY in the environment');
      expect(store.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 0 });
    } finally {
      if (saved !== undefined) process.env.ANTHROPIC_API_KEY = saved;
    }
  });

  it('a bad records file fails before the store is opened', async () => {
    const source = join(directory, 'bad.jsonl');
    writeFileSync(source, '{"not": "a feature record"}\n');
    let opened = 0;
    await expect(
      runPipeline({ source, ...testPrompts }, { store: () => (opened++, new ResultStore(openDatabase(':memory:'))) }),
    ).rejects.toThrow();
    expect(opened).toBe(0);
  });

  it('calls that were never answered (no key, refused) are not counted as unpriced calls', async () => {
    const source = writeFeaturesJsonl(join(directory, 'unsent.jsonl'), syntheticFeatures(4, { dead: false }));
    const store = new ResultStore(openDatabase(join(directory, 'unsent.db')));
    const noKey = createMockProvider({
      model: 'no-key',
      respond: () => {
        throw new LlmCallError('mock:no-key: no API key: set MOCK_API_KEY in the environment', { retryable: false });
      },
    });
    const simulator = createMockProvider({
      model: 'simulator',
      respond: (request) => echoResult(request.prompt ?? '', () => 0),
    });
    const summary = await runPipeline(
      { source, concurrency: 1, ...testPrompts },
      { store, explainer: noKey, simulator },
    );
    expect(summary).toMatchObject({ failed: 4, unpricedCalls: 0 });
    expect(store.db.prepare(`SELECT COUNT(*) AS n FROM llm_calls WHERE status LIKE 'error:%'`).get()).toEqual({ n: 4 });
    const resumed = await runPipeline(undefined, { store, resumeRunId: summary.runId, explainer: noKey, simulator });
    expect(resumed).toMatchObject({ failed: 4, unpricedCalls: 0 }); // the earlier invocation's unanswered calls neither
  });
});
