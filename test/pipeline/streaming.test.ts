/**
 * Streaming runs: the features are pulled from the source as workers free up (never more than `concurrency` held),
 * the stream is closed when a run stops early, and a source rewritten while the run reads it is caught.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forEachBoundedStream } from '../../src/pipeline/bounded-stream.ts';
import { parsePipelineConfig } from '../../src/pipeline/config.ts';
import { SCAN_PROGRESS_EVERY, scanRunFeatures, streamRunFeatures } from '../../src/pipeline/load-run-features.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { featureKey } from '../../src/records/feature-key.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { syntheticFeatures, writeFeaturesJsonl } from '../helpers/synthetic-features.ts';

const folder = mkdtempSync(join(tmpdir(), 'streaming-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('forEachBoundedStream', () => {
  it('pulls an item only when a slot is free: never more than `concurrency` items held at once', async () => {
    let pulled = 0;
    let finished = 0;
    let mostHeld = 0;
    async function* items() {
      for (let i = 0; i < 50; i++) {
        pulled += 1;
        mostHeld = Math.max(mostHeld, pulled - finished);
        yield i;
      }
    }
    const seen: number[] = [];
    await forEachBoundedStream(items(), 3, async (item) => {
      seen.push(item);
      await Promise.resolve();
      finished += 1;
    });
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(mostHeld).toBeLessThanOrEqual(3);
  });

  it('closes the stream when asked to stop, and rejects with the error the stream threw', async () => {
    let closed = false;
    async function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    let done = 0;
    await forEachBoundedStream(
      endless(),
      2,
      async () => void (done += 1),
      () => done >= 5,
    );
    expect(closed).toBe(true);
    async function* broken() {
      yield 1;
      throw new Error('line 2: not valid JSON');
    }
    await expect(forEachBoundedStream(broken(), 2, async () => undefined)).rejects.toThrow('line 2: not valid JSON');
  });
});

describe('a run’s features as a stream', () => {
  const source = writeFeaturesJsonl(join(folder, 'features.jsonl'), syntheticFeatures(12, { dead: false }));

  it('counts the run’s features and the settled ones in the first pass, and streams only the pending ones', async () => {
    const config = parsePipelineConfig({ source, limit: 10, shard: { index: 0, count: 2 } });
    const all = [];
    for await (const feature of streamRunFeatures(config, (await scanRunFeatures(config, undefined)).sourceDigest)) {
      all.push(featureKey(feature.id));
    }
    const settled = new Set(all.slice(0, 2));
    const scan = await scanRunFeatures(config, undefined, settled);
    expect(scan).toMatchObject({ total: all.length, alreadyDone: 2 });
    const pending = [];
    for await (const feature of streamRunFeatures(config, scan.sourceDigest, settled)) {
      pending.push(featureKey(feature.id));
    }
    expect(pending).toEqual(all.slice(2));
  });

  it('refuses a source rewritten between the first pass and the end of the second', async () => {
    const changing = writeFeaturesJsonl(join(folder, 'changing.jsonl'), syntheticFeatures(3, { dead: false }));
    const config = parsePipelineConfig({ source: changing });
    const { sourceDigest } = await scanRunFeatures(config, undefined);
    appendFileSync(changing, '\n');
    const read = async () => {
      for await (const _feature of streamRunFeatures(config, sourceDigest)) {
        // read to the end
      }
    };
    await expect(read()).rejects.toThrow(
      `the feature records of ${changing} changed while the run was reading them; its results would mix two datasets — start a new run`,
    );
  });
});

describe('the first pass checks the whole source before anything is written', () => {
  const mock = createMockProvider({ respond: () => textResult('x') });
  const lines = readFileSync(
    writeFeaturesJsonl(join(folder, 'good.jsonl'), syntheticFeatures(5, { dead: false })),
    'utf8',
  ).split('\n');

  it.each([
    ['a bad last record', [...lines, '{"id": 1}'], 'line 6'],
    ['a feature that appears twice, the second at the end', [...lines, lines[0]!], 'appears twice'],
  ])('%s fails the run before its database is opened', async (_name, content, message) => {
    const source = join(folder, `bad-${content.length}-${message.length}.jsonl`);
    writeFileSync(source, content.join('\n'));
    let opened = false;
    const run = runPipeline(
      { source },
      {
        store: () => {
          opened = true;
          throw new Error('the store must not be opened');
        },
        explainer: mock,
        simulator: mock,
      },
    );
    await expect(run).rejects.toThrow(message);
    expect(opened).toBe(false);
    expect(mock.requests).toHaveLength(0);
  });
});

describe('a resumed run renews its lease during the first pass', () => {
  /** Clock reads of the run's lease (acquire, heartbeats) before the run started on its features. */
  async function leaseClockReadsBeforeStart(count: number): Promise<number> {
    const source = writeFeaturesJsonl(join(folder, `lease-${count}.jsonl`), syntheticFeatures(count, { dead: false }));
    const store = new ResultStore(openDatabase(':memory:'));
    const mock = createMockProvider({ recordRequests: false, respond: () => textResult('x') });
    const stop = new AbortController();
    stop.abort(); // a run stopped before its first feature: interrupted, to resume
    const { runId } = await runPipeline(
      { source, scorers: ['correlation'] },
      { store, explainer: mock, simulator: mock, stopSignal: stop.signal },
    );
    let reads = 0;
    let readsAtStart = -1;
    const clock = () => 1_000_000 + reads++;
    await runPipeline(undefined, {
      store,
      resumeRunId: runId,
      explainer: mock,
      simulator: mock,
      stopSignal: stop.signal,
      lease: { clock },
      events: { onStart: () => void (readsAtStart = reads) },
    });
    store.db.close();
    return readsAtStart;
  }

  it(`heartbeats every ${SCAN_PROGRESS_EVERY} records read`, async () => {
    const small = await leaseClockReadsBeforeStart(10);
    const large = await leaseClockReadsBeforeStart(2 * SCAN_PROGRESS_EVERY + 10);
    expect(large - small).toBe(2);
  });
});
