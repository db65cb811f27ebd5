/**
 * bench/pipeline-overhead — the pipeline's own cost per feature (splitting, prompt building, logprob reading,
 * scoring, SQLite writes), with a zero-latency MOCK provider and the time spent inside the provider subtracted.
 * Target (DESIGN §9): < 2 ms per feature. Run: `npx tsx bench/pipeline-overhead.ts [features]` (default 1000).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMockProvider, textResult } from '../src/llm/mock-provider.ts';
import type { LlmRequest, LlmResult, Provider } from '../src/llm/types.ts';
import { runPipeline } from '../src/pipeline/run-pipeline.ts';
import { mulberry32 } from '../src/records/random.ts';
import type { FeatureRecord } from '../src/records/types.ts';
import { openDatabase } from '../src/store/database.ts';
import { ResultStore } from '../src/store/result-store.ts';
import { echoResult } from '../test/helpers/echo-mock.ts';

const featureCount = Number(process.argv[2] ?? 1000);
const windowSize = 64;
const random = mulberry32(7);
const vocabulary = Array.from({ length: 500 }, (_, i) => ` w${i}`);

function window(): { tokens: string[]; activations: number[] } {
  const tokens = Array.from({ length: windowSize }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
  return { tokens, activations: tokens.map(() => (random() < 0.1 ? random() * 5 : 0)) };
}

const features: FeatureRecord[] = Array.from({ length: featureCount }, (_, index) => ({
  id: { model: 'bench', layer: index % 4, kind: 'neuron', index },
  top: Array.from({ length: 20 }, window),
  random: Array.from({ length: 10 }, window),
  stats: { mean: 0.25, variance: 0.6, skewness: 3, kurtosis: 12, maxActivation: 5, density: 0.1 },
}));
const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-'));
const source = join(directory, 'features.jsonl');
writeFileSync(source, features.map((f) => JSON.stringify(f)).join('\n'));

let providerMs = 0;
const timed = (provider: Provider): Provider => ({
  ...provider,
  async complete(request: LlmRequest): Promise<LlmResult> {
    const started = performance.now();
    try {
      return await provider.complete(request);
    } finally {
      providerMs += performance.now() - started;
    }
  },
});
const explainer = timed(createMockProvider({ model: 'zero-latency', respond: () => textResult(' tokens like " w1".') }));
const simulator = timed(
  createMockProvider({ model: 'zero-latency', respond: (request) => echoResult(request.prompt ?? '', (t) => (t === ' w1' ? 10 : 0)) }),
);

const store = new ResultStore(openDatabase(join(directory, 'bench.db')));
const started = performance.now();
const summary = await runPipeline({ source, concurrency: 8 }, { store, explainer, simulator });
const totalMs = performance.now() - started;
store.db.close();
rmSync(directory, { recursive: true, force: true });

const overhead = (totalMs - providerMs) / featureCount;
console.log(`features: ${featureCount} (${summary.scored} scored), windows of ${windowSize} tokens, 20 top + 10 random each`);
console.log(`wall: ${totalMs.toFixed(0)} ms; inside the mock provider: ${providerMs.toFixed(0)} ms`);
console.log(`pipeline overhead per feature: ${overhead.toFixed(3)} ms (target < 2 ms) — ratio to target ${(overhead / 2).toFixed(2)}`);
