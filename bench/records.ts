/**
 * @module bench/records — record-building throughput (top-k + random + quantile windows + stats) of
 * buildFeatureRecords against a vectorized numpy implementation of the same algorithm (bench/records-numpy.py), on
 * the same seeded sparse data written to a temp file as raw little-endian float32. Run: `npx tsx bench/records.ts`.
 * Prints numbers only; no assertion on timings.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFeatureRecords } from '../src/records/build-from-dense.ts';
import type { BuildRecordsOptions } from '../src/records/build-from-dense.ts';
import { mulberry32 } from '../src/common/random.ts';
import type { FeatureId } from '../src/records/types.ts';

/** Size and shape of the benchmark data. */
interface RecordsBenchConfig {
  /** Corpus length (default 200 000 tokens). */
  tokenCount: number;
  /** Features (default 512). */
  featureCount: number;
  /** Fraction of non-zero activations (default 0.05). */
  density: number;
  /** Timed repetitions; the best is reported (default 3). */
  repeats: number;
  seed: number;
  options: Required<Omit<BuildRecordsOptions, 'seed'>>;
}

const config: RecordsBenchConfig = {
  tokenCount: 200_000,
  featureCount: 512,
  density: 0.05,
  repeats: 5,
  seed: 1234,
  options: { windowSize: 64, topK: 30, randomCount: 30, quantileBins: 5, perQuantile: 5 },
};

/** Sparse non-negative activations: each entry is non-zero with probability `density`, exponential magnitude. */
function makeSparseActivations(tokenCount: number, featureCount: number, density: number, seed: number): Float32Array {
  const random = mulberry32(seed);
  const values = new Float32Array(tokenCount * featureCount);
  // Jump from one non-zero entry to the next with geometric gaps instead of one draw per entry.
  const logKeep = Math.log(1 - density);
  let position = Math.floor(Math.log(1 - random()) / logKeep);
  while (position < values.length) {
    values[position] = -Math.log(1 - random()) * (1 + (position % featureCount) / 64);
    position += 1 + Math.floor(Math.log(1 - random()) / logKeep);
  }
  return values;
}

function timeOurs(values: Float32Array, tokens: string[], ids: FeatureId[]): number {
  let best = Infinity;
  for (let repeat = 0; repeat < config.repeats; repeat++) {
    const started = performance.now();
    const records = buildFeatureRecords({ tokens, values, nFeatures: config.featureCount }, ids, config.options);
    best = Math.min(best, (performance.now() - started) / 1000);
    if (records.length !== config.featureCount) throw new Error('unexpected record count');
  }
  return best;
}

function timeNumpy(values: Float32Array): { seconds: number; version: string } | string {
  const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-records-'));
  try {
    const file = join(directory, 'values.f32');
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    // Float32Array uses the platform byte order; every platform Node runs on here is little-endian.
    if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) return 'this machine is big-endian';
    writeFileSync(file, bytes);
    const script = fileURLToPath(new URL('./records-numpy.py', import.meta.url));
    const { windowSize, topK, randomCount, quantileBins, perQuantile } = config.options;
    const result = spawnSync(
      'python3',
      [
        script,
        file,
        config.tokenCount,
        config.featureCount,
        windowSize,
        topK,
        randomCount,
        quantileBins,
        perQuantile,
        config.repeats,
      ].map(String),
      { encoding: 'utf8' },
    );
    if (result.error) return `python3 could not be run (${result.error.message})`;
    if (result.status !== 0) return `python3 failed: ${(result.stderr || result.stdout).trim().split('\n').pop()}`;
    const parsed = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number; numpy: string };
    return { seconds: parsed.seconds, version: parsed.numpy };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function main(): void {
  const { tokenCount, featureCount } = config;
  const values = makeSparseActivations(tokenCount, featureCount, config.density, config.seed);
  const tokens = Array.from({ length: tokenCount }, (_, index) => ` t${index % 5000}`);
  const ids: FeatureId[] = Array.from({ length: featureCount }, (_, index) => ({
    model: 'bench',
    layer: 0,
    kind: 'neuron',
    index,
  }));
  const cells = tokenCount * featureCount;
  const oursSeconds = timeOurs(values, tokens, ids);
  const format = (seconds: number): string =>
    `${seconds.toFixed(3)} s, ${(cells / seconds / 1e6).toFixed(1)} M tokens×features/s`;
  console.log(
    `records: ${tokenCount} tokens × ${featureCount} features, density ${config.density}, ` +
      `window ${config.options.windowSize}, best of ${config.repeats}`,
  );
  console.log(`  ours  (buildFeatureRecords): ${format(oursSeconds)}`);
  const numpy = timeNumpy(values);
  if (typeof numpy === 'string') {
    console.log(`  numpy reference skipped: ${numpy}`);
    return;
  }
  console.log(`  numpy ${numpy.version} (bench/records-numpy.py): ${format(numpy.seconds)}`);
  console.log(`  ratio ours/numpy (throughput): ${(numpy.seconds / oursSeconds).toFixed(2)}`);
}

main();
