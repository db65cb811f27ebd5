/**
 * A streaming run's memory does not grow with the number of features: the heap a run of 2N features needs at its
 * peak is about what a run of N features needs (before streaming, every record was loaded first: about 35 kB of heap
 * a feature of 30 windows × 64 tokens, so twice the features took twice the heap). The heap is measured after a full
 * garbage collection once the first pass is done and every 100 features saved; the bound is a ratio, never a time.
 *
 * N is 400 in `npm test`; `npm run test:scale` (vitest.scale.config.ts) runs the same test with N set by
 * STREAMING_MEMORY_FEATURES to 5·10^3: a run of 10^4 features against one of 5·10^3, as issue 19 asks.
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/common/random.ts';
import { createMockProvider, textResult } from '../../src/llm/mock-provider.ts';
import { runPipeline } from '../../src/pipeline/run-pipeline.ts';
import { openDatabase } from '../../src/store/database.ts';
import { ResultStore } from '../../src/store/result-store.ts';
import { echoResult } from '../helpers/echo-mock.ts';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** N: the features of the first measured run (the second has 2N); STREAMING_MEMORY_FEATURES overrides the 400. */
const features = featureCount(process.env.STREAMING_MEMORY_FEATURES);

function featureCount(value: string | undefined): number {
  if (value === undefined || value === '') return 400;
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 100) {
    throw new Error(`STREAMING_MEMORY_FEATURES must be a whole number of features, at least 100 (got "${value}")`);
  }
  return count;
}

const folder = mkdtempSync(join(tmpdir(), 'streaming-memory-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** `count` features of 20 top + 10 random windows of 64 tokens, as JSONL. */
async function writeSource(name: string, count: number): Promise<string> {
  const random = mulberry32(3);
  const pool = Array.from({ length: 101 }, () => {
    const tokens = Array.from({ length: 64 }, () => ` w${Math.floor(random() * 300)}`);
    return JSON.stringify({ tokens, activations: tokens.map(() => (random() < 0.1 ? 1 + random() : 0)) });
  });
  const stats = '{"mean":0.2,"variance":0.5,"skewness":null,"kurtosis":null,"maxActivation":2,"density":0.1}';
  const file = join(folder, `${name}.jsonl`);
  const stream = createWriteStream(file);
  for (let index = 0; index < count; index++) {
    const windows = (n: number, offset: number) =>
      Array.from({ length: n }, (_, r) => pool[(index * 7 + r + offset) % pool.length]).join(',');
    const id = `{"model":"memory","layer":${index % 2},"kind":"neuron","index":${index}}`;
    if (!stream.write(`{"id":${id},"top":[${windows(20, 0)}],"random":[${windows(10, 50)}],"stats":${stats}}\n`)) {
      await once(stream, 'drain');
    }
  }
  stream.end();
  await once(stream, 'finish');
  return file;
}

const explainer = createMockProvider({ recordRequests: false, respond: () => textResult(' tokens like " w1".') });
const simulator = createMockProvider({
  recordRequests: false,
  respond: (request) => echoResult(request.prompt ?? '', (token) => (token === ' w1' ? 10 : 0)),
});

/** The run's peak heap above the heap before it, in bytes (after a full collection at each sample). */
async function peakHeapGrowth(count: number): Promise<number> {
  const source = await writeSource(`features-${count}`, count);
  const store = new ResultStore(openDatabase(join(folder, `run-${count}.db`)));
  collectGarbage();
  const before = process.memoryUsage().heapUsed;
  let peak = before;
  let saved = 0;
  const sample = () => {
    collectGarbage();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  };
  const summary = await runPipeline(
    { source, scorers: ['correlation'], cache: false },
    {
      store,
      explainer,
      simulator,
      events: {
        // After the first pass (what it kept is counted) and every 100 features saved in the second.
        onStart: sample,
        onFeatureDone() {
          if (++saved % 100 === 0) sample();
        },
      },
    },
  );
  store.db.close();
  // At 10^4 features the source and the database take about 500 MB of disk: gone before the next run.
  rmSync(source);
  rmSync(join(folder, `run-${count}.db`));
  expect(summary).toMatchObject({ status: 'finished', scored: count });
  return peak - before;
}

describe('streaming run memory', () => {
  it('a run of 2N features needs no more heap than a run of N (ratio < 1.5; it was 2 when records were loaded first)', async () => {
    // 400 and 800: loaded first, the records alone would take about 14 MB and 28 MB of heap (ratio 2, both above the
    // 8 MB floor); streamed, each run's growth is about 0.5 MB (measured twice at load 8), far under the 1.5 asked.
    // At 5·10^3 and 10^4 (`npm run test:scale`): 175 and 350 MB loaded first; streamed, under 2 MB each (measured).
    // Warm-up: prepared statements, JIT, and the tokenizer if a run counts at all (a run loads it at its first count,
    // which a run whose prompts fit their bound never makes): none of them is then counted in the first measured run.
    await peakHeapGrowth(100);
    const once = await peakHeapGrowth(features);
    const twice = await peakHeapGrowth(2 * features);
    const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    const measured =
      `peak heap growth: ${features} features ${megabytes(once)}, ${2 * features} features ${megabytes(twice)} ` +
      `(${Math.round(twice / (2 * features))} bytes per feature of the larger run; a record takes about 35 kB)`;
    console.log(measured);
    // A floor of 8 MB keeps the ratio meaningful when the growth itself is a few megabytes of noise.
    expect(twice / Math.max(once, 8 * 2 ** 20), measured).toBeLessThan(1.5);
    // At scale that floor lets the larger run grow by up to 12 MB (1.2 kB a feature at 10^4) unseen, so its growth is
    // also bounded outright: a fixed 1 MB (what a run holds whatever its size: statements, the run's own objects)
    // plus 512 bytes a feature, 70 times less than a loaded record. Measured: at 400/800 the larger run grew 0.5 MB
    // (608-702 bytes a feature, almost all of it the fixed part: the 400 run grew 0.4 MB) against 1.4 MB allowed; at
    // 5·10^3/10^4 it grew 0.5-1.0 MB (29-53 bytes a feature) against 6 MB allowed.
    const allowed = 2 ** 20 + 512 * 2 * features;
    expect(twice, `${measured}; allowed ${megabytes(allowed)}`).toBeLessThan(allowed);
  });
});
