import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { brownDocumentsText } from '../../scripts/brown-text.ts';
import { sliceWindows, evalWindow, tokenStream } from '../../scripts/train-subject-model.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { readCorpusSample } from '../../src/subject/corpus-sample.ts';
import { modelLoss, ngramBaselines } from '../../src/subject/evaluate.ts';
import { Gpt2Model } from '../../src/subject/gpt2-model.ts';
import { loadGpt2Folder } from '../../src/subject/load-gpt2.ts';
import { loadTokenizer } from '../../src/subject/tokenizer.ts';
import { pretokenStream } from '../helpers/pretoken-stream.ts';

const modelDir = fileURLToPath(new URL('../../data/subject/brown-1l/', import.meta.url));
const samplePath = fileURLToPath(new URL('../../data/corpus/brown-heldout.jsonl', import.meta.url));

interface Card {
  parameters: number;
  training: { trainingTokens: number; seconds: number };
  evaluation: {
    heldOut: { model: number; unigram: number; bigram: number };
    slice: { windows: number; tokens: number; model: number; unigram: number; bigram: number; bigramPrior: number };
  };
}
const card = JSON.parse(readFileSync(`${modelDir}eval.json`, 'utf8')) as Card;

beforeAll(async () => {
  await initBackend('wasm');
});

describe('embedded model brown-1l', () => {
  it('its card claims a held-out loss below the bigram and unigram baselines, trained within 30 minutes, ≤ 20 MB of weights', () => {
    const h = card.evaluation.heldOut;
    expect(h.model).toBeLessThan(h.bigram);
    expect(h.bigram).toBeLessThan(h.unigram);
    expect(card.training.seconds).toBeLessThan(30 * 60);
    expect(readFileSync(`${modelDir}model.safetensors`).length).toBeLessThanOrEqual(20 * 1024 * 1024);
  });

  it('reproduces the card numbers on its evaluation slice (model, unigram and bigram losses)', () => {
    const { config, weights } = loadGpt2Folder(modelDir);
    expect(config).toMatchObject({ nLayer: 1, nInner: 512 });
    expect([...weights.values()].reduce((n, t) => n + t.data.length, 0)).toBe(card.parameters);
    const tokenizer = loadTokenizer(modelDir);
    // The slice is the stream's first windows; documents are tokenized one by one, so the first documents that cover
    // it give exactly its tokens (the whole 105,514-token sample is not needed).
    const sliceTokens = sliceWindows * evalWindow;
    const documents: string[] = [];
    let sample: Int32Array = new Int32Array(0);
    for (const document of readCorpusSample(samplePath)) {
      if (sample.length >= sliceTokens) break;
      documents.push(document.text);
      sample = tokenStream(tokenizer, documents);
    }
    expect(sample.length).toBeGreaterThanOrEqual(sliceTokens);
    // The training stream (1.47 M tokens) with each distinct pre-token encoded once: the same ids as tokenStream's
    // (seen here on the slice's documents), in 40 % of the time.
    expect(Array.from(pretokenStream(tokenizer, documents))).toEqual(Array.from(sample));
    const model = Gpt2Model.fromWeights(config, weights);
    const slice = card.evaluation.slice;
    expect(slice.windows).toBe(sliceWindows);
    const loss = modelLoss(model, sample, { window: evalWindow, maxWindows: sliceWindows });
    expect(loss.tokens).toBe(slice.tokens);
    expect(Math.abs(loss.loss - slice.model)).toBeLessThan(1e-4);
    model.dispose();

    const train = pretokenStream(
      tokenizer,
      brownDocumentsText('train').map((d) => d.text),
    );
    expect(train.length).toBe(card.training.trainingTokens);
    const baselines = ngramBaselines(train, sample, config.vocabSize, { window: evalWindow, maxWindows: sliceWindows });
    expect(baselines.unigram.loss).toBeCloseTo(slice.unigram, 9);
    expect(baselines.bigram.loss).toBeCloseTo(slice.bigram, 9);
    expect(baselines.bigramPrior).toBe(slice.bigramPrior);
    expect(loss.loss).toBeLessThan(baselines.bigram.loss);
  }, 120_000);
});
