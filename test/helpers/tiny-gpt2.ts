/**
 * @module test/helpers/tiny-gpt2 — the tiny GPT-2 that the extraction tests run (1 layer of width 16 over the embedded
 * tokenizer's 4,096 ids, 16 positions): its config, and a model folder of it written with random weights.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveGpt2Folder } from '../../src/subject/load-gpt2.ts';
import { initGpt2Weights } from '../../src/subject/train-lm.ts';
import type { Gpt2Config } from '../../src/subject/types.ts';

const embeddedTokenizer = fileURLToPath(new URL('../../data/subject/tokenizer.json', import.meta.url));

/** The tiny config, with any field replaced. */
export function tinyGpt2Config(overrides: Partial<Gpt2Config> = {}): Gpt2Config {
  return {
    vocabSize: 4096,
    nPositions: 16,
    nEmbd: 16,
    nLayer: 1,
    nHead: 2,
    nInner: 24,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
    ...overrides,
  };
}

/** Writes a model folder (float32 safetensors, config.json, the embedded tokenizer) of `config` with seeded weights. */
export function writeTinyGpt2Folder(folder: string, config: Gpt2Config, seed: number): void {
  mkdirSync(folder, { recursive: true });
  saveGpt2Folder(folder, config, initGpt2Weights(config, seed), { dtype: 'F32' });
  copyFileSync(embeddedTokenizer, join(folder, 'tokenizer.json'));
}
