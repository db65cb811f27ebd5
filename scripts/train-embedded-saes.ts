/**
 * @module scripts/train-embedded-saes — trains the embedded SAEs on the embedded model's MLP neurons
 * (data/subject/brown-1l, `blocks.0.mlp.hook_post`, 512 neurons) at expansions 1×, 4× and 16× (seed 001's sweep in
 * miniature) and writes them, with their metrics, to data/sae/brown-1l-{1,4,16}x (SAELens layout, float16 weights).
 *
 * Steps (each resumable; the caches live in autointerp-cache/, which git ignores):
 * 1. the Brown training split as a corpus file (scripts/brown-text.ts) and its activations, the first 1M tokens;
 * 2. the held-out corpus sample's activations (data/corpus/brown-heldout.jsonl);
 * 3. per expansion, `trainSaeOnCache` (standard ReLU SAE, λ 5, inputs normalized, batch 1024, learning rate 1e-3);
 * 4. the saved folder is loaded again (float16 weights: what is measured is what is committed) and evaluated on the
 *    first 65 536 held-out tokens (reconstruction and splice metrics) and on the first 2 048 (`slice`, which
 *    test/sae/embedded-saes.test.ts recomputes), into `metrics.json`; data/sae/README.md gets the table.
 *
 * `npx tsx scripts/train-embedded-saes.ts [1 4 16]` (the expansions to train; default all three).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/subject/backend.ts';
import { extractActivations } from '../src/subject/extract-activations.ts';
import { loadSubjectModel, type SubjectModel } from '../src/subject/load-subject.ts';
import { readCacheHeader } from '../src/subject/activation-cache.ts';
import { loadSaeLens } from '../src/sae/formats.ts';
import { SparseAutoencoder } from '../src/sae/sae-model.ts';
import { evaluateSaesOnCache, flattenSaeEvaluation, type SaeEvaluation } from '../src/sae/evaluate-on-cache.ts';
import { trainSaeOnCache, trainingRecordFile, type TrainingRecord } from '../src/sae/train-on-cache.ts';
import { writeTrainingCorpus } from './brown-text.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
export const embeddedSaeDirectory = join(root, 'data/sae');
export const embeddedSaeExpansions = [1, 4, 16] as const;
export const embeddedSaeSettings = {
  hook: 'blocks.0.mlp.hook_post',
  trainingTokens: 1_000_000,
  batchSize: 1024,
  learningRate: 1e-3,
  l1Coefficient: 5,
  seed: 20261123,
  /** Training steps per expansion (16× sees fewer tokens: it costs 16× the 1× per token). */
  steps: { 1: 976, 4: 976, 16: 600 } as Record<number, number>,
  evaluationTokens: 65_536,
  sliceTokens: 2048,
};

export function embeddedSaeName(expansion: number): string {
  return `brown-1l-${expansion}x`;
}

/** What metrics.json holds. */
export interface EmbeddedSaeMetrics {
  name: string;
  heldout: { tokens: number; metrics: Record<string, number | null>; logDensityHistogram: unknown };
  slice: { tokens: number; metrics: Record<string, number | null> };
}

const cacheRoot = join(root, 'autointerp-cache');
const trainCorpus = join(cacheRoot, 'brown-train.jsonl');
const trainCache = join(cacheRoot, 'brown-1l-train');
const heldoutCache = join(cacheRoot, 'brown-1l-heldout');

async function ensureCache(subject: SubjectModel, corpus: string, cacheDir: string, maxTokens?: number): Promise<void> {
  const header = readCacheHeader(cacheDir);
  if (
    header &&
    (header.corpusComplete || (maxTokens !== undefined && header.tokens >= maxTokens - subject.config.nPositions))
  )
    return;
  const result = await extractActivations({
    modelDir: subject,
    hook: embeddedSaeSettings.hook,
    corpus,
    cacheDir,
    batchSize: 32,
    resume: header !== null,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
  });
  console.log(`cache ${cacheDir}: ${result.header.tokens} tokens`);
}

function summarize(evaluation: SaeEvaluation) {
  return { tokens: evaluation.tokens, metrics: flattenSaeEvaluation(evaluation) };
}

async function trainOne(subject: SubjectModel, expansion: number): Promise<void> {
  const name = embeddedSaeName(expansion);
  const outDir = join(embeddedSaeDirectory, name);
  const started = Date.now();
  const result = await trainSaeOnCache({
    cacheDir: relative(process.cwd(), trainCache),
    outDir,
    architecture: 'standard',
    latents: subject.config.nInner * expansion,
    l1Coefficient: embeddedSaeSettings.l1Coefficient,
    batchSize: embeddedSaeSettings.batchSize,
    steps: embeddedSaeSettings.steps[expansion]!,
    seed: embeddedSaeSettings.seed,
    trainer: { learningRate: embeddedSaeSettings.learningRate },
    resume: true,
    dtype: 'F16',
    reportEvery: 100,
    onProgress: (progress) => {
      if (!progress.metrics) return;
      const m = progress.metrics;
      console.log(
        `${name} step ${progress.step}/${progress.steps}: loss ${m.loss.toFixed(1)} L0 ${m.l0.toFixed(1)} FVU ${m.fvu?.toFixed(3)} (${progress.elapsedSeconds.toFixed(0)} s)`,
      );
    },
  });
  console.log(
    `${name}: trained ${result.training.steps} steps, ${result.training.tokens} tokens in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  await evaluateOne(subject, expansion);
}

/** Evaluates the saved folder (as committed) and writes metrics.json. */
export async function evaluateEmbeddedSae(
  subject: SubjectModel,
  folder: string,
  cacheDir: string,
  tokens: number,
): Promise<SaeEvaluation> {
  const [evaluation] = await evaluateEmbeddedSaes(subject, [folder], cacheDir, tokens);
  return evaluation!;
}

/** `evaluateEmbeddedSae` for several saved folders at once: the splice's SAE-independent passes run once. */
export async function evaluateEmbeddedSaes(
  subject: SubjectModel,
  folders: readonly string[],
  cacheDir: string,
  tokens: number,
): Promise<SaeEvaluation[]> {
  const saes = folders.map((folder) => {
    const loaded = loadSaeLens(folder);
    return SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
  });
  try {
    return await evaluateSaesOnCache(saes, cacheDir, { tokens, subject });
  } finally {
    for (const sae of saes) sae.dispose();
  }
}

async function evaluateOne(subject: SubjectModel, expansion: number): Promise<void> {
  const name = embeddedSaeName(expansion);
  const folder = join(embeddedSaeDirectory, name);
  const heldout = await evaluateEmbeddedSae(subject, folder, heldoutCache, embeddedSaeSettings.evaluationTokens);
  const slice = await evaluateEmbeddedSae(subject, folder, heldoutCache, embeddedSaeSettings.sliceTokens);
  const metrics: EmbeddedSaeMetrics = {
    name,
    heldout: { ...summarize(heldout), logDensityHistogram: heldout.reconstruction.logDensityHistogram },
    slice: summarize(slice),
  };
  writeFileSync(join(folder, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
  console.log(`${name}: ${JSON.stringify(metrics.heldout.metrics)}`);
}

function writeReadme(): void {
  const rows: string[] = [];
  for (const expansion of embeddedSaeExpansions) {
    const folder = join(embeddedSaeDirectory, embeddedSaeName(expansion));
    if (!existsSync(join(folder, 'metrics.json'))) continue;
    const metrics = JSON.parse(readFileSync(join(folder, 'metrics.json'), 'utf8')) as EmbeddedSaeMetrics;
    const training = JSON.parse(readFileSync(join(folder, trainingRecordFile), 'utf8')) as TrainingRecord;
    const m = metrics.heldout.metrics;
    const f = (value: number | null | undefined, digits = 3) =>
      value === null || value === undefined ? '—' : value.toFixed(digits);
    rows.push(
      `| ${metrics.name} | ${512 * expansion} | ${training.tokens} | ${training.seconds} | ${f(m.l0, 1)} | ${f(m.fvu)} | ${f(m.dead_fraction)} | ${f(m.dense_fraction)} | ${f(m.ce_loss_recovered)} | ${f(m.kl_score)} |`,
    );
  }
  const s = embeddedSaeSettings;
  writeFileSync(
    join(embeddedSaeDirectory, 'README.md'),
    `# Embedded SAEs

Sparse autoencoders on the embedded subject model's MLP neurons (data/subject/brown-1l, \`${s.hook}\`, 512 neurons),
at expansions 1×, 4× and 16×: seed 001's sweep in miniature. Each folder is in SAELens's layout (\`cfg.json\`,
\`sae_weights.safetensors\` in float16, \`sparsity.safetensors\`), with \`training.json\` (every training option) and
\`metrics.json\` (what the table shows, and the 2 048-token slice that test/sae/embedded-saes.test.ts recomputes).

Training: standard architecture (ReLU, MSE + λ·Σ f_i‖W_dec,i‖, λ ${s.l1Coefficient} with a 5 % warm-up), inputs
normalized to mean norm √512, Adam at ${s.learningRate}, batches of ${s.batchSize} rows drawn at random from the
activations of the first ${s.trainingTokens.toLocaleString('en')} tokens of the Brown training split (the
\`<|endoftext|>\` rows left out), seed ${s.seed}, on wasm (one thread).
Metrics: the first ${s.evaluationTokens.toLocaleString('en')} tokens of the held-out corpus sample
(data/corpus/brown-heldout.jsonl), never seen in training. CE loss recovered = (CE_zero − CE_sae)/(CE_zero − CE_orig)
with the reconstruction spliced in at the hook; KL score = 1 − KL(orig‖sae)/KL(orig‖zero).

| SAE | latents | training tokens | seconds | L0 | FVU | dead | dense (>10 %) | CE loss recovered | KL score |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${rows.join('\n')}

Rebuild: \`npx tsx scripts/train-embedded-saes.ts\` (resumable; about 40 minutes on two cores, most of it the 16× SAE).
`,
  );
}

async function main(): Promise<void> {
  const expansions = process.argv.slice(2).map(Number);
  for (const expansion of expansions) {
    if (!embeddedSaeExpansions.includes(expansion as 1))
      throw new Error(`expansion must be one of ${embeddedSaeExpansions.join(', ')}`);
  }
  await initBackend('auto');
  const subject = await loadSubjectModel(join(root, 'data/subject/brown-1l'));
  mkdirSync(cacheRoot, { recursive: true });
  if (!existsSync(trainCorpus)) writeTrainingCorpus(trainCorpus);
  await ensureCache(subject, trainCorpus, trainCache, embeddedSaeSettings.trainingTokens);
  await ensureCache(subject, join(root, 'data/corpus/brown-heldout.jsonl'), heldoutCache);
  for (const expansion of expansions.length > 0 ? expansions : embeddedSaeExpansions) {
    const folder = join(embeddedSaeDirectory, embeddedSaeName(expansion));
    if (existsSync(join(folder, trainingRecordFile))) await evaluateOne(subject, expansion);
    else await trainOne(subject, expansion);
  }
  writeReadme();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
