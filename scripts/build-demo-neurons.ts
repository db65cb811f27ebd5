/**
 * @module scripts/build-demo-neurons — the real-neuron half of the embedded demo: runs the embedded model brown-1l
 * over the held-out corpus sample (data/corpus/brown-heldout.jsonl), captures its 512 MLP neurons at
 * `blocks.0.mlp.hook_post`, and writes records for a sample of 16 of them:
 *   data/demo/records/brown-1l-neurons.jsonl   FeatureRecords (model "brown-1l", layer "blocks.0.mlp.hook_post")
 *   data/demo/brown-1l-labels.json              the POS reference label of each sampled neuron that has one
 * The sample: the 8 neurons whose activation best tracks a Brown POS tag (point-biserial r, labelled when r ≥ 0.5),
 * and 8 drawn at random (seed 1) from the other neurons that fire — so the demo shows both checkable and ordinary
 * neurons. Deterministic: rerunning gives the same bytes on the same backend.
 *
 * Usage: npx tsx scripts/build-demo-neurons.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../src/records/random.ts';
import { featureKey, type FeatureRecord } from '../src/records/types.ts';
import { writeFeatureRecordsJsonl } from '../src/records/jsonl.ts';
import { initBackend } from '../src/subject/backend.ts';
import { extractActivations, recordsFromCache } from '../src/subject/extract.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
export const demoNeuronSettings = {
  model: 'brown-1l',
  modelDir: join(root, 'data/subject/brown-1l'),
  corpus: join(root, 'data/corpus/brown-heldout.jsonl'),
  hook: 'blocks.0.mlp.hook_post',
  labelled: 8,
  random: 8,
  seed: 1,
  records: { windowSize: 64, topK: 20, randomCount: 20, quantileBins: 5, perQuantile: 2, seed: 0 },
  out: join(root, 'data/demo/records/brown-1l-neurons.jsonl'),
  labelsOut: join(root, 'data/demo/brown-1l-labels.json'),
};

export interface DemoNeuronLabel {
  feature: string;
  tag: string;
  description: string;
  /** Point-biserial r between the neuron's activation and the tag indicator over the sample. */
  r: number;
}

/** Extracts the sample and returns the chosen records and labels (nothing written). */
export async function buildDemoNeurons(): Promise<{ records: FeatureRecord[]; labels: DemoNeuronLabel[]; tokens: number }> {
  const s = demoNeuronSettings;
  await initBackend('wasm');
  const cacheDir = mkdtempSync(join(tmpdir(), 'autointerp-demo-neurons-'));
  try {
    await extractActivations({ modelDir: s.modelDir, hook: s.hook, corpus: s.corpus, cacheDir: join(cacheDir, 'cache'), modelName: s.model });
    // Stats and labels of every neuron are needed to choose; records are then built for the chosen ones only.
    const all = recordsFromCache(join(cacheDir, 'cache'), { ...s.records, features: 'all', model: s.model, layer: s.hook, topK: 1, randomCount: 0, quantileBins: 0 });
    const ranked = [...all.referenceLabels.entries()].sort((a, b) => b[1].score - a[1].score).slice(0, s.labelled);
    const chosen = new Set(ranked.map(([key]) => key));
    const others = all.records.filter((r) => !chosen.has(featureKey(r.id)) && r.stats.maxActivation > 0).map((r) => r.id.index);
    const random = mulberry32(s.seed);
    const picked: number[] = [];
    while (picked.length < s.random && others.length > 0) picked.push(others.splice(Math.floor(random() * others.length), 1)[0]!);
    const indices = [...ranked.map(([key]) => all.records.find((r) => featureKey(r.id) === key)!.id.index), ...picked].sort((a, b) => a - b);
    const built = recordsFromCache(join(cacheDir, 'cache'), { ...s.records, features: indices, model: s.model, layer: s.hook });
    const labels = ranked
      .map(([feature, label]) => ({ feature, tag: label.tag, description: label.description, r: Number(label.score.toFixed(4)) }))
      .sort((a, b) => (a.feature < b.feature ? -1 : 1));
    return { records: built.records, labels, tokens: built.tokens };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const { records, labels, tokens } = await buildDemoNeurons();
  await writeFeatureRecordsJsonl(demoNeuronSettings.out, records);
  writeFileSync(demoNeuronSettings.labelsOut, `${JSON.stringify({ measure: 'point-biserial r over the sample tokens; labelled when r ≥ 0.5', tokens, labels }, null, 2)}\n`);
  console.log(`${records.length} neurons (${labels.length} with a POS reference label) from ${tokens} tokens in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const label of labels) console.log(`  ${label.feature}: ${label.description} (r = ${label.r})`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
