/**
 * Batch mode loads the tokenizer before the run exists (it always counts): the load blocks no request, heartbeat or
 * commit timer mid-run, and a broken tokenizer install fails the run before anything is submitted or written. A live
 * run keeps loading it lazily, at its first count.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import type { LlmRequest } from '../../src/llm/types.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { echoResult } from '../helpers/echo-mock.ts';
import { perfectProviders, testPrompts } from '../helpers/pipeline-mocks.ts';
import { inMemoryBatchClient } from '../helpers/in-memory-batch-client.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

/** What the run did, in order: each `getEncoder` call and each batch submitted. */
const tokenizer = vi.hoisted(() => ({ broken: false, events: [] as string[] }));
vi.mock('../../src/llm/token-counter.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/llm/token-counter.ts')>();
  return {
    ...original,
    getEncoder: async (...args: Parameters<typeof original.getEncoder>) => {
      tokenizer.events.push('load tokenizer');
      if (tokenizer.broken) throw new Error('Cannot find module js-tiktoken/ranks/o200k_base');
      return original.getEncoder(...args);
    },
  };
});

/** Records a batch submitted for `providerId` among the tokenizer's events. */
const submitted = (providerId: string) => () => void tokenizer.events.push(`submit ${providerId}`);

const directory = mkdtempSync(join(tmpdir(), 'autointerp-batch-tokenizer-'));
const source = writeFeaturesJsonl(join(directory, 'two.jsonl'), syntheticFeatures(2, { dead: false }));
const openStore = (name: string) => new ResultStore(openDatabase(join(directory, name)));

function batchRun(store: ResultStore) {
  const explainer = createMockProvider({
    model: 'batch-explainer',
    capabilities: { batch: true },
    respond: () => textResult(' tokens like t0.'),
  });
  const simulator = createMockProvider({
    model: 'batch-simulator',
    capabilities: { batch: true },
    respond: () => textResult(''),
  });
  const echo = (request: LlmRequest) => echoResult(request.prompt ?? '', (token) => (token === ' t0' ? 10 : 0));
  return runPipeline(
    { source, scorers: ['correlation'], batch: true, batchPollMs: 1, ...testPrompts },
    {
      store,
      explainer,
      simulator,
      batchClients: {
        explainer: inMemoryBatchClient(explainer.id, () => textResult(' tokens like t0.'), submitted(explainer.id)),
        simulator: inMemoryBatchClient(simulator.id, echo, submitted(simulator.id)),
      },
    },
  );
}

describe('the tokenizer in batch mode', () => {
  it('is loaded before the first batch is submitted', async () => {
    tokenizer.broken = false;
    tokenizer.events.length = 0;
    const store = openStore('loaded.db');
    const summary = await batchRun(store);
    expect(summary).toMatchObject({ status: 'finished', scored: 2 });
    expect(tokenizer.events[0]).toBe('load tokenizer');
    expect(tokenizer.events.filter((event) => event.startsWith('submit')).length).toBeGreaterThanOrEqual(2);
    store.db.close();
  });

  it('a broken tokenizer install fails a batch run before it exists: nothing submitted, no run row; a live run is not held up', async () => {
    tokenizer.broken = true;
    tokenizer.events.length = 0;
    try {
      const store = openStore('broken.db');
      await expect(batchRun(store)).rejects.toThrow(/js-tiktoken\/ranks\/o200k_base/);
      expect(tokenizer.events).toEqual(['load tokenizer']);
      expect(store.db.prepare('SELECT COUNT(*) AS n FROM runs').get()).toEqual({ n: 0 });
      // A live run never asks for the load up front (it loads lazily, at its first count, if any).
      const live = await runPipeline({ source, ...testPrompts }, { store, ...perfectProviders() });
      expect(live).toMatchObject({ status: 'finished', scored: 2 });
      expect(tokenizer.events).toEqual(['load tokenizer']);
      store.db.close();
    } finally {
      tokenizer.broken = false;
    }
  });
});
