/**
 * @module scripts/build-demo-features — the real-feature part of the embedded demo: runs the embedded model brown-1l
 * over the held-out corpus sample (data/corpus/brown-heldout.jsonl), captures its 512 MLP neurons at
 * `blocks.0.mlp.hook_post`, and writes records for a sample of 16 neurons and of 16 latents of each embedded SAE
 * (data/sae/brown-1l-{1,4,16}x, whose latents are computed from the same activations):
 *   data/demo/records/brown-1l-neurons.jsonl   neurons (model "brown-1l", layer "blocks.0.mlp.hook_post")
 *   data/demo/records/brown-1l-{e}x.jsonl      SAE latents (kind "sae", sae "brown-1l-{e}x")
 *   data/demo/brown-1l-labels.json, data/demo/brown-1l-{e}x-labels.json   POS reference labels of the sampled ones
 * The sample of each source: the 8 features whose activation best tracks a Brown POS tag (point-biserial r, labelled
 * when r ≥ 0.5), and 8 drawn at random (seed 1) from the other features that fire, among all neurons and among 1 024
 * latents of each SAE (a seeded random subset of the 4× and 16× ones) — so the demo shows both checkable
 * and ordinary features, chosen the same way for neurons and SAE latents. Deterministic: rerunning gives the same
 * bytes on the same backend.
 *
 * Usage: npx tsx scripts/build-demo-features.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../src/common/random.ts';
import { featureKey } from '../src/records/feature-key.ts';
import type { FeatureRecord } from '../src/records/types.ts';
import { writeFeatureRecordsJsonl } from '../src/records/jsonl.ts';
import { loadSaeLens } from '../src/sae/formats.ts';
import { saeColumnSource } from '../src/sae/sae-columns.ts';
import { SparseAutoencoder } from '../src/sae/sae-model.ts';
import { initBackend } from '../src/subject/backend.ts';
import { extractActivations } from '../src/subject/extract-activations.ts';
import { recordsFromCache, type FeatureColumnSource } from '../src/subject/records-from-cache.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
export const demoFeatureSettings = {
  model: 'brown-1l',
  modelDir: join(root, 'data/subject/brown-1l'),
  corpus: join(root, 'data/corpus/brown-heldout.jsonl'),
  hook: 'blocks.0.mlp.hook_post',
  labelled: 8,
  random: 8,
  seed: 1,
  /** SAE latents considered (a seeded random subset of a wider SAE), to bound the encoding cost. */
  candidates: 1024,
  records: { windowSize: 64, topK: 20, randomCount: 20, quantileBins: 5, perQuantile: 2, seed: 0 },
};

/** A demo source: the neurons, or an embedded SAE by name. */
export type DemoSource = { kind: 'neuron' } | { kind: 'sae'; name: string };
export const demoSources: DemoSource[] = [
  { kind: 'neuron' },
  ...[1, 4, 16].map((expansion) => ({ kind: 'sae' as const, name: `brown-1l-${expansion}x` })),
];

/** Where a source's records and labels go. */
export function demoFiles(source: DemoSource): { records: string; labels: string } {
  const stem = source.kind === 'neuron' ? 'brown-1l' : source.name;
  return {
    records: join(
      root,
      'data/demo/records',
      source.kind === 'neuron' ? 'brown-1l-neurons.jsonl' : `${source.name}.jsonl`,
    ),
    labels: join(root, 'data/demo', `${stem}-labels.json`),
  };
}

export interface DemoLabel {
  feature: string;
  tag: string;
  description: string;
  /** Point-biserial r between the feature's activation and the tag indicator over the sample. */
  r: number;
}

export interface DemoSourceResult {
  source: DemoSource;
  records: FeatureRecord[];
  labels: DemoLabel[];
  tokens: number;
}

/** Latents of an SAE considered for the sample: all of a small one, else a seeded random `candidates` of them. */
export function candidateLatents(width: number): number[] | 'all' {
  const { candidates, seed } = demoFeatureSettings;
  if (width <= candidates) return 'all';
  const random = mulberry32(seed + width);
  const pool = Array.from({ length: width }, (_, index) => index);
  for (let i = 0; i < candidates; i++) {
    const j = i + Math.floor(random() * (width - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, candidates).sort((a, b) => a - b);
}

/** The record settings of a source (its SAE's columns for a latent source). */
function recordSettings(columns?: FeatureColumnSource) {
  const s = demoFeatureSettings;
  return {
    ...s.records,
    model: s.model,
    layer: s.hook,
    ...(columns ? { columns, chunkFeatures: s.candidates } : {}),
  };
}

/** A reference label as the labels files hold it. */
function demoLabel(feature: string, label: { tag: string; description: string; score: number }): DemoLabel {
  return { feature, tag: label.tag, description: label.description, r: Number(label.score.toFixed(4)) };
}

const byFeature = (a: DemoLabel, b: DemoLabel): number => (a.feature < b.feature ? -1 : 1);

/** The sample of one source from an extracted cache (see the module comment). */
function sampleSource(cacheDir: string, columns?: FeatureColumnSource): Omit<DemoSourceResult, 'source'> {
  const s = demoFeatureSettings;
  const base = recordSettings(columns);
  // Stats and labels of every candidate are needed to choose; records are then built for the chosen ones only.
  const features = columns ? candidateLatents(columns.width) : 'all';
  const all = recordsFromCache(cacheDir, { ...base, features, topK: 1, randomCount: 0, quantileBins: 0 });
  const ranked = [...all.referenceLabels.entries()].sort((a, b) => b[1].score - a[1].score).slice(0, s.labelled);
  const chosen = new Set(ranked.map(([key]) => key));
  const others = all.records
    .filter((r) => !chosen.has(featureKey(r.id)) && r.stats.maxActivation > 0)
    .map((r) => r.id.index);
  const random = mulberry32(s.seed);
  const picked: number[] = [];
  while (picked.length < s.random && others.length > 0)
    picked.push(others.splice(Math.floor(random() * others.length), 1)[0]!);
  const indices = [
    ...ranked.map(([key]) => all.records.find((r) => featureKey(r.id) === key)!.id.index),
    ...picked,
  ].sort((a, b) => a - b);
  const built = recordsFromCache(cacheDir, { ...base, features: indices });
  const labels = ranked.map(([feature, label]) => demoLabel(feature, label)).sort(byFeature);
  return { records: built.records, labels, tokens: built.tokens };
}

/** Runs `use` with the feature columns of `source` (none for the neurons; the SAE loaded, and disposed after). */
function withColumns<T>(source: DemoSource, use: (columns?: FeatureColumnSource) => T): T {
  if (source.kind === 'neuron') return use();
  const loaded = loadSaeLens(join(root, 'data/sae', source.name));
  const sae = SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
  try {
    return use(saeColumnSource(sae, source.name));
  } finally {
    sae.dispose();
  }
}

/** Extracts the sample (the held-out corpus through brown-1l, at the hook) into `cacheDir`, as the script does. */
export async function extractDemoSample(cacheDir: string): Promise<void> {
  const s = demoFeatureSettings;
  await initBackend('wasm');
  await extractActivations({ modelDir: s.modelDir, hook: s.hook, corpus: s.corpus, cacheDir, modelName: s.model });
}

/** Chooses the sample of `source` from an extracted cache and builds its records and labels (nothing written). */
export function sampleDemoSource(cacheDir: string, source: DemoSource): DemoSourceResult {
  return { source, ...withColumns(source, (columns) => sampleSource(cacheDir, columns)) };
}

/**
 * The records of the given features of `source`, built from an extracted cache as the sample's are, and the
 * reference label of each of them that has one (ordered by feature; `score` unrounded): what the sample holds for
 * these features, without choosing them (which needs the stats and labels of every candidate).
 */
export function demoSourceRecords(
  cacheDir: string,
  source: DemoSource,
  features: number[],
): { records: FeatureRecord[]; labels: (DemoLabel & { score: number })[] } {
  return withColumns(source, (columns) => {
    const built = recordsFromCache(cacheDir, { ...recordSettings(columns), features });
    const labels = [...built.referenceLabels.entries()]
      .map(([feature, label]) => ({ ...demoLabel(feature, label), score: label.score }))
      .sort(byFeature);
    return { records: built.records, labels };
  });
}

/** Extracts the sample once and returns each source's chosen records and labels (nothing written). */
export async function buildDemoFeatures(sources: readonly DemoSource[] = demoSources): Promise<DemoSourceResult[]> {
  const directory = mkdtempSync(join(tmpdir(), 'autointerp-demo-features-'));
  const cacheDir = join(directory, 'cache');
  try {
    await extractDemoSample(cacheDir);
    return sources.map((source) => sampleDemoSource(cacheDir, source));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  for (const { source, records, labels, tokens } of await buildDemoFeatures()) {
    const files = demoFiles(source);
    await writeFeatureRecordsJsonl(files.records, records);
    writeFileSync(
      files.labels,
      `${JSON.stringify({ measure: 'point-biserial r over the sample tokens; labelled when r ≥ 0.5', tokens, labels }, null, 2)}\n`,
    );
    console.log(
      `${source.kind === 'neuron' ? 'neurons' : source.name}: ${records.length} features (${labels.length} with a POS reference label) from ${tokens} tokens`,
    );
    for (const label of labels) console.log(`  ${label.feature}: ${label.description} (r = ${label.r})`);
  }
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
