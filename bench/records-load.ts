/**
 * @module bench/records-load — reading a JSONL records file, step by step, per feature: splitting it into lines with
 * `node:readline` (what the loader used) and with records/read-lines (what it uses), interleaved in one run, then
 * JSON.parse and validation of the lines (the loader's, which takes records/canonical-record's fast path for records the
 * schema would return unchanged, and the zod schema alone, interleaved), and the whole loader with its digest. Synthetic data shaped like
 * bench/pipeline-overhead's: 1,000 features of 20 top + 10 random windows of 64 tokens.
 * Run: `npx tsx bench/records-load.ts [features]`. Prints numbers only.
 */
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseFeatureRecord } from '../src/records/jsonl.ts';
import { FeatureRecordSchema } from '../src/records/types.ts';
import { loadFeatureRecordsWithDigest } from '../src/records/load.ts';
import { mulberry32 } from '../src/common/random.ts';
import { readLines } from '../src/records/read-lines.ts';

const featureCount = Number(process.argv[2] ?? 1000);
const random = mulberry32(7);
const vocabulary = Array.from({ length: 500 }, (_, i) => ` w${i}`);
const window = () => {
  const tokens = Array.from({ length: 64 }, () => vocabulary[Math.floor(random() * vocabulary.length)]!);
  return { tokens, activations: tokens.map(() => (random() < 0.1 ? random() * 5 : 0)) };
};
const directory = mkdtempSync(join(tmpdir(), 'autointerp-bench-load-'));
const file = join(directory, 'features.jsonl');
writeFileSync(
  file,
  Array.from({ length: featureCount }, (_, index) =>
    JSON.stringify({
      id: { model: 'bench', layer: index % 4, kind: 'neuron', index },
      top: Array.from({ length: 20 }, window),
      random: Array.from({ length: 10 }, window),
      stats: { mean: 0.25, variance: 0.6, skewness: 3, kurtosis: 12, maxActivation: 5, density: 0.1 },
    }),
  ).join('\n'),
);

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines) out.push(line);
  return out;
}

const fileMegabytes = statSync(file).size / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const perFeature = (ms: number) => `${((ms / featureCount) * 1000).toFixed(0)} µs`;
const times = {
  readline: [] as number[],
  readLines: [] as number[],
  parse: [] as number[],
  validate: [] as number[],
  schema: [] as number[],
  load: [] as number[],
};
for (let round = 0; round < 6; round++) {
  let started = performance.now();
  await collect(createInterface({ input: createReadStream(file), crlfDelay: Infinity }));
  const readlineMs = performance.now() - started;
  started = performance.now();
  const lines = await collect(readLines(file));
  const readLinesMs = performance.now() - started;
  started = performance.now();
  const values = lines.map((line) => JSON.parse(line) as unknown);
  const parseMs = performance.now() - started;
  started = performance.now();
  values.forEach((value, i) => parseFeatureRecord(value, file, `line ${i + 1}`));
  const validateMs = performance.now() - started;
  started = performance.now();
  for (const value of values) FeatureRecordSchema.parse(value);
  const schemaMs = performance.now() - started;
  started = performance.now();
  await loadFeatureRecordsWithDigest(file);
  const loadMs = performance.now() - started;
  if (round === 0) continue; // warm-up
  times.readline.push(readlineMs);
  times.readLines.push(readLinesMs);
  times.parse.push(parseMs);
  times.validate.push(validateMs);
  times.schema.push(schemaMs);
  times.load.push(loadMs);
}
rmSync(directory, { recursive: true, force: true });

console.log(`${featureCount} features in ${fileMegabytes.toFixed(1)} MB of JSONL; per feature, median of 5 rounds:`);
console.log(`  lines with node:readline:       ${perFeature(median(times.readline))}`);
console.log(
  `  lines with records/read-lines:  ${perFeature(median(times.readLines))}   (readline / read-lines: ${(median(times.readline) / median(times.readLines)).toFixed(1)}×)`,
);
console.log(`  JSON.parse of the lines:        ${perFeature(median(times.parse))}`);
console.log(`  validation (parseFeatureRecord): ${perFeature(median(times.validate))}`);
console.log(
  `  validation (zod schema alone):  ${perFeature(median(times.schema))}   (schema / parseFeatureRecord: ${(median(times.schema) / median(times.validate)).toFixed(1)}×)`,
);
console.log(
  `  loadFeatureRecordsWithDigest:   ${perFeature(median(times.load))}   (all of it, sha256 of the file included)`,
);
