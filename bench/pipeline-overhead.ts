/**
 * bench/pipeline-overhead — the pipeline's own cost per feature (splitting, prompt building, logprob reading,
 * scoring, SQLite writes), with a zero-latency MOCK provider and the time spent inside the provider subtracted.
 * Target (docs/DESIGN.md §9): < 2 ms per feature. Run: `npx tsx bench/pipeline-overhead.ts [features] [--runs N] [--concurrency N]`
 * (default 1000 features, the run's default concurrency).
 * A first run of 100 features warms up the process (JIT, tokenizer load, SQLite file creation) and is reported
 * separately; then five measured runs (`--runs N`), each in its own database. The machine is shared and noisy, so the
 * minimum and the median are printed, and the spread of the time inside the mock (the same work in every run) shows
 * how noisy the machine was.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { PipelineConfigSchema } from '../src/pipeline/config.ts';
import { runPipeline } from '../src/pipeline/run-pipeline.ts';
import { mulberry32 } from '../src/common/random.ts';
import type { FeatureRecord } from '../src/records/types.ts';
import { openDatabase } from '../src/store/database.ts';
import { ResultStore } from '../src/store/result-store.ts';
import { createZeroLatencyProviders } from './zero-latency-providers.ts';

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: 'string', default: '5' }, concurrency: { type: 'string' } },
});
const featureCount = Number(positionals[0] ?? 1000);
const runCount = Number(flags.runs);
/** Features in flight: the run's default unless `--concurrency N` is given. */
const concurrency =
  flags.concurrency !== undefined ? Number(flags.concurrency) : PipelineConfigSchema.parse({ source: 'x' }).concurrency;
const windowSize = 64;
const random = mulberry32(7);
const vocabulary = Array.from({ length: 500 }, (_, i) => ` w${i}`);

function window(): { tokens: string[]; activations: number[] } {
  const tokens = Array.from({ length: windowSize }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
  return { tokens, activations: tokens.map(() => (random() < 0.1 ? random() * 5 : 0)) };
}

function makeFeatures(count: number): FeatureRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    id: { model: 'bench', layer: index % 4, kind: 'neuron', index },
    top: Array.from({ length: 20 }, window),
    random: Array.from({ length: 10 }, window),
    stats: { mean: 0.25, variance: 0.6, skewness: 3, kurtosis: 12, maxActivation: 5, density: 0.1 },
  }));
}
const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-'));

// The mock answers synchronously inside complete(); timing the synchronous call (not the awaited promise, which
// would include other features' work under concurrency) measures exactly the time spent "in the LLM".
const { explainer, simulator, providerMs: timeInProviders, resetTime } = createZeroLatencyProviders();

async function measure(name: string, count: number) {
  const source = join(directory, `${name}.jsonl`);
  writeFileSync(
    source,
    makeFeatures(count)
      .map((f) => JSON.stringify(f))
      .join('\n'),
  );
  const store = new ResultStore(openDatabase(join(directory, `${name}.db`)));
  resetTime();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const summary = await runPipeline({ source, concurrency }, { store, explainer, simulator });
  const cpu = process.cpuUsage(cpuBefore);
  const totalMs = performance.now() - started;
  store.db.close();
  const providerMs = timeInProviders();
  // CPU time (user + system, this process) less the mock's: what the other jobs of a loaded machine inflate least.
  const cpuMs = (cpu.user + cpu.system) / 1000;
  return {
    summary,
    totalMs,
    providerMs,
    overheadPerFeature: (totalMs - providerMs) / count,
    cpuPerFeature: (cpuMs - providerMs) / count,
    systemPerFeature: cpu.system / 1000 / count,
  };
}

const warmUp = await measure('warm-up', 100);
const runs = [];
for (let repeat = 0; repeat < runCount; repeat++) runs.push(await measure(`measured-${repeat}`, featureCount));
rmSync(directory, { recursive: true, force: true });

const perFeature = runs.map((run) => run.overheadPerFeature).sort((a, b) => a - b);
console.log(
  `warm-up: 100 features in ${warmUp.totalMs.toFixed(0)} ms (includes one-time start-up: JIT, tokenizer, SQLite)`,
);
console.log(
  `features: ${featureCount} per run (${runs[0]!.summary.scored} scored), windows of ${windowSize} tokens, 20 top + 10 random each, ${concurrency} in flight`,
);
for (const run of runs) {
  console.log(
    `  run: wall ${run.totalMs.toFixed(0)} ms, inside the mock provider ${run.providerMs.toFixed(0)} ms → ${run.overheadPerFeature.toFixed(3)} ms/feature (CPU ${run.cpuPerFeature.toFixed(3)} ms/feature, of which system ${run.systemPerFeature.toFixed(3)})`,
  );
}
const [best, middle] = [perFeature[0]!, perFeature[Math.floor(perFeature.length / 2)]!];
const mockMs = runs.map((run) => run.providerMs).sort((a, b) => a - b);
console.log(
  `machine noise: the mock's own (constant) work took ${mockMs[0]!.toFixed(0)}–${mockMs.at(-1)!.toFixed(0)} ms per run`,
);
const cpuPerFeature = runs.map((run) => run.cpuPerFeature).sort((a, b) => a - b);
console.log(
  `pipeline overhead per feature: min ${best.toFixed(3)} ms, median ${middle.toFixed(3)} ms (target < 2 ms) — median / target ${(middle / 2).toFixed(2)}`,
);
console.log(
  `CPU per feature (less the mock's): min ${cpuPerFeature[0]!.toFixed(3)} ms, median ${cpuPerFeature[Math.floor(cpuPerFeature.length / 2)]!.toFixed(3)} ms; load average ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')}`,
);
