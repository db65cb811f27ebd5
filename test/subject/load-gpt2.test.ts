import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/subject/backend.ts';
import { Gpt2Model } from '../../src/subject/gpt2-model.ts';
import { mulberry32 } from '../../src/common/random.ts';
import { Gpt2ConfigError, parseGpt2Config, toHfConfig } from '../../src/subject/gpt2-config.ts';
import { expectedGpt2Shapes, loadGpt2Folder, saveGpt2Folder } from '../../src/subject/load-gpt2.ts';
import { initGpt2Weights as randomGpt2Weights } from '../../src/subject/train-lm.ts';
import { floatToHalf, halfToFloat } from '../../src/common/float16.ts';
import {
  SafetensorsError,
  serializeSafetensors,
  writeSafetensors,
  type TensorToWrite,
} from '../../src/common/safetensors.ts';
import type { Gpt2Config, Gpt2Weights, HostTensor } from '../../src/subject/types.ts';
import { erf, geluExact, geluNew, referenceGpt2Forward, referenceGpt2Logits } from './reference-gpt2.ts';

const config: Gpt2Config = {
  vocabSize: 50,
  nPositions: 16,
  nEmbd: 8,
  nLayer: 2,
  nHead: 2,
  nInner: 32,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
};
const hfConfig = {
  model_type: 'gpt2',
  vocab_size: 50,
  n_positions: 16,
  n_embd: 8,
  n_layer: 2,
  n_head: 2,
  n_inner: 32,
  activation_function: 'gelu_new',
};

let dir: string;
beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'autointerp-gpt2-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder with the given config.json object and tensors as model.safetensors. */
function folder(
  name: string,
  configJson: unknown,
  tensors: ReadonlyMap<string, TensorToWrite>,
  options: { dtype?: 'F32' | 'F16' } = {},
): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'config.json'), JSON.stringify(configJson));
  writeSafetensors(join(path, 'model.safetensors'), tensors, options);
  return path;
}

function loadError(path: string): Error {
  try {
    loadGpt2Folder(path);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('expectedGpt2Shapes and initGpt2Weights', () => {
  it('lists every Hugging Face GPT-2 tensor with its shape', () => {
    const shapes = expectedGpt2Shapes(config);
    expect(shapes.size).toBe(2 + 12 * config.nLayer + 2);
    expect(shapes.get('wte.weight')).toEqual([50, 8]);
    expect(shapes.get('wpe.weight')).toEqual([16, 8]);
    expect(shapes.get('h.1.attn.c_attn.weight')).toEqual([8, 24]);
    expect(shapes.get('h.1.attn.c_attn.bias')).toEqual([24]);
    expect(shapes.get('h.0.attn.c_proj.weight')).toEqual([8, 8]);
    expect(shapes.get('h.0.mlp.c_fc.weight')).toEqual([8, 32]);
    expect(shapes.get('h.0.mlp.c_fc.bias')).toEqual([32]);
    expect(shapes.get('h.0.mlp.c_proj.weight')).toEqual([32, 8]);
    expect(shapes.get('h.1.ln_2.bias')).toEqual([8]);
    expect(shapes.get('ln_f.weight')).toEqual([8]);
    expect(shapes.has('h.2.ln_1.weight')).toBe(false);
  });

  it('initializes deterministically: N(0, 0.02) matrices (wpe 0.01, residual projections 0.02/√(2·layers)), zero biases, unit LayerNorm weights', () => {
    const weights = randomGpt2Weights(config, 42);
    expect([...weights.keys()]).toEqual([...expectedGpt2Shapes(config).keys()]);
    for (const [name, shape] of expectedGpt2Shapes(config)) expect(weights.get(name)!.shape, name).toEqual(shape);
    const again = randomGpt2Weights(config, 42);
    for (const [name, tensor] of weights) expect(again.get(name)!.data, name).toEqual(tensor.data);
    expect(randomGpt2Weights(config, 43).get('wte.weight')!.data).not.toEqual(weights.get('wte.weight')!.data);
    const matrixValues: number[] = [];
    for (const [name, { shape, data }] of weights) {
      if (shape.length === 2) {
        if (!name.startsWith('wpe') && !name.endsWith('c_proj.weight')) matrixValues.push(...data);
      } else if (/ln_(1|2|f)\.weight$/.test(name)) expect(Array.from(new Set(data)), name).toEqual([1]);
      else expect(Array.from(new Set(data)), name).toEqual([0]);
    }
    const mean = matrixValues.reduce((sum, value) => sum + value, 0) / matrixValues.length;
    const std = Math.sqrt(matrixValues.reduce((sum, value) => sum + (value - mean) ** 2, 0) / matrixValues.length);
    expect(matrixValues.length).toBe(50 * 8 + 2 * (8 * 24 + 8 * 32));
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
  });
});

describe('saveGpt2Folder / loadGpt2Folder', () => {
  it('round-trips a tiny random GPT-2 exactly (F32)', () => {
    const weights = randomGpt2Weights(config, 1);
    const path = join(dir, 'tiny');
    saveGpt2Folder(path, config, weights);
    expect(readdirSync(path).sort()).toEqual(['config.json', 'model.safetensors']);
    const saved = JSON.parse(readFileSync(join(path, 'config.json'), 'utf8'));
    expect(saved).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_embd: 8,
      n_inner: 32,
      tie_word_embeddings: true,
      torch_dtype: 'float32',
    });
    const loaded = loadGpt2Folder(path);
    expect(loaded.config).toEqual(config);
    expect([...loaded.weights.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [name, tensor] of weights) {
      const read = loaded.weights.get(name)!;
      expect(read.shape, name).toEqual(tensor.shape);
      expect(read.data, name).toEqual(tensor.data);
    }
  });

  it('saves F16 and loads the nearest halves', () => {
    const weights = randomGpt2Weights(config, 2);
    const path = join(dir, 'tiny-f16');
    saveGpt2Folder(path, config, weights, { dtype: 'F16' });
    expect(JSON.parse(readFileSync(join(path, 'config.json'), 'utf8')).torch_dtype).toBe('float16');
    const loaded = loadGpt2Folder(path);
    const original = weights.get('h.1.mlp.c_fc.weight')!.data;
    expect(loaded.weights.get('h.1.mlp.c_fc.weight')!.data).toEqual(
      Float32Array.from(original, (value) => halfToFloat(floatToHalf(value))),
    );
    expect(loaded.weights.get('h.0.ln_1.weight')!.data).toEqual(new Float32Array(8).fill(1));
  });

  it('refuses to save weights that do not match the config', () => {
    const weights = randomGpt2Weights(config, 1);
    const missing = new Map(weights);
    missing.delete('ln_f.bias');
    expect(() => saveGpt2Folder(join(dir, 'no'), config, missing)).toThrow(/saveGpt2Folder: missing tensor ln_f\.bias/);
    const extra = new Map(weights).set('h.2.ln_1.weight', { shape: [8], data: new Float32Array(8) });
    expect(() => saveGpt2Folder(join(dir, 'no'), config, extra)).toThrow(
      /saveGpt2Folder: unexpected tensor h\.2\.ln_1\.weight/,
    );
    const misshapen = new Map(weights).set('wpe.weight', { shape: [8, 16], data: new Float32Array(128) });
    expect(() => saveGpt2Folder(join(dir, 'no'), config, misshapen)).toThrow(
      /tensor wpe\.weight has shape \[8, 16\], expected \[16, 8\]/,
    );
  });

  it('accepts transformer.-prefixed names, a tied lm_head.weight and the attention mask buffers', () => {
    const weights = randomGpt2Weights(config, 3);
    const stored = new Map<string, TensorToWrite>(
      [...weights].map(([name, tensor]) => [`transformer.${name}`, tensor]),
    );
    stored.set('lm_head.weight', weights.get('wte.weight')!);
    stored.set('transformer.h.0.attn.bias', { shape: [1, 1, 16, 16], data: new Float32Array(256).fill(1) });
    stored.set('transformer.h.1.attn.masked_bias', { shape: [], data: Float32Array.of(-1e4) });
    const loaded = loadGpt2Folder(
      folder(
        'prefixed',
        { ...hfConfig, n_inner: null, n_positions: undefined, n_ctx: 16, activation_function: 'gelu_pytorch_tanh' },
        stored,
      ),
    );
    expect(loaded.config).toEqual(config);
    expect([...loaded.weights.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [name, tensor] of weights) expect(loaded.weights.get(name)!.data, name).toEqual(tensor.data);
    // The unprefixed layout of the original openai-community/gpt2 file, with its mask buffers, loads the same.
    const plain = new Map<string, TensorToWrite>(weights);
    plain.set('h.0.attn.bias', { shape: [1, 1, 16, 16], data: new Float32Array(256) });
    expect(loadGpt2Folder(folder('plain', hfConfig, plain)).weights.get('wte.weight')!.data).toEqual(
      weights.get('wte.weight')!.data,
    );
  });

  it('rejects a missing tensor, a wrong shape and an unexpected tensor, naming them', () => {
    const weights = randomGpt2Weights(config, 4);
    const missing = new Map(weights);
    missing.delete('h.1.mlp.c_fc.weight');
    const missingError = loadError(folder('missing', hfConfig, missing));
    expect(missingError).toBeInstanceOf(SafetensorsError);
    expect(missingError.message).toMatch(/model\.safetensors: missing tensor h\.1\.mlp\.c_fc\.weight$/);

    const wrong = new Map(weights).set('h.0.attn.c_attn.weight', { shape: [8, 12], data: new Float32Array(96) });
    expect(loadError(folder('wrong', hfConfig, wrong)).message).toMatch(
      /model\.safetensors: tensor h\.0\.attn\.c_attn\.weight has shape \[8, 12\], expected \[8, 24\]$/,
    );

    const prefixedWrong = new Map([...wrong].map(([name, tensor]) => [`transformer.${name}`, tensor]));
    expect(loadError(folder('prefixed-wrong', hfConfig, prefixedWrong)).message).toMatch(
      /tensor h\.0\.attn\.c_attn\.weight has shape \[8, 12\], expected \[8, 24\]/,
    );

    const extra = new Map(weights).set('h.2.ln_1.weight', { shape: [8], data: new Float32Array(8) });
    expect(loadError(folder('extra', hfConfig, extra)).message).toMatch(
      /model\.safetensors: unexpected tensor h\.2\.ln_1\.weight \(not part of a GPT-2 with n_layer 2/,
    );

    const maskOfMissingLayer = new Map(weights).set('h.5.attn.bias', { shape: [1], data: new Float32Array(1) });
    expect(loadError(folder('mask-5', hfConfig, maskOfMissingLayer)).message).toMatch(
      /unexpected tensor h\.5\.attn\.bias/,
    );

    const twice = new Map(weights).set('transformer.ln_f.bias', weights.get('ln_f.bias')!);
    expect(loadError(folder('twice', hfConfig, twice)).message).toMatch(
      /tensor ln_f\.bias is stored twice \(as ln_f\.bias and transformer\.ln_f\.bias\)/,
    );
  });

  it('rejects an untied or misshapen lm_head.weight and non-finite weights', () => {
    const weights = randomGpt2Weights(config, 5);
    const lmHeadShape = new Map<string, TensorToWrite>(weights).set('lm_head.weight', {
      shape: [8, 50],
      data: new Float32Array(400),
    });
    expect(loadError(folder('lm-head-shape', hfConfig, lmHeadShape)).message).toMatch(
      /model\.safetensors: tensor lm_head\.weight has shape \[8, 50\], expected \[50, 8\] \(it must be tied to wte\.weight\)/,
    );
    const untied = Float32Array.from(weights.get('wte.weight')!.data);
    untied[17] = 0.5;
    const lmHeadUntied = new Map<string, TensorToWrite>(weights).set('lm_head.weight', {
      shape: [50, 8],
      data: untied,
    });
    expect(loadError(folder('lm-head-untied', hfConfig, lmHeadUntied)).message).toMatch(
      /lm_head\.weight differs from wte\.weight \(element 17\): untied/,
    );

    const nan = Float32Array.from(weights.get('h.0.ln_2.bias')!.data);
    nan[3] = Number.NaN;
    const withNan = new Map<string, TensorToWrite>(weights).set('h.0.ln_2.bias', { shape: [8], data: nan });
    expect(loadError(folder('nan', hfConfig, withNan)).message).toMatch(
      /model\.safetensors: tensor h\.0\.ln_2\.bias has a non-finite value \(NaN\) at element 3/,
    );
  });

  it('rejects integer weights and a model.safetensors that is not one', () => {
    const weights = randomGpt2Weights(config, 6);
    const path = folder('int', hfConfig, weights);
    // Rewrite ln_f.bias as I32 by hand: same byte size as F32.
    const bytes = serializeSafetensors(weights);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = bytes
      .subarray(8, 8 + headerLength)
      .toString()
      .replace('"ln_f.bias":{"dtype":"F32"', '"ln_f.bias":{"dtype":"I32"');
    writeFileSync(
      join(path, 'model.safetensors'),
      Buffer.concat([bytes.subarray(0, 8), Buffer.from(header), bytes.subarray(8 + headerLength)]),
    );
    expect(loadError(path).message).toMatch(/model\.safetensors: tensor ln_f\.bias has integer dtype I32/);
    writeFileSync(join(path, 'model.safetensors'), 'not a safetensors file at all');
    expect(loadError(path)).toBeInstanceOf(SafetensorsError);
    rmSync(join(path, 'model.safetensors'));
    expect(loadError(path).message).toMatch(/model\.safetensors: cannot read \(ENOENT\)/);
  });

  it('rejects bad config.json files, naming the file and the field', () => {
    const weights = randomGpt2Weights(config, 7);
    const heads = loadError(folder('heads', { ...hfConfig, n_embd: 10, n_head: 3 }, weights));
    expect(heads).toBeInstanceOf(Gpt2ConfigError);
    expect(heads.message).toMatch(/config\.json: n_embd \(10\) must be divisible by n_head \(3\)$/);
    expect((heads as Gpt2ConfigError).field).toBe('n_embd');
    const { n_layer: _dropped, ...noLayers } = hfConfig;
    expect(loadError(folder('no-layers', noLayers, weights)).message).toMatch(/config\.json: n_layer is missing$/);
    expect(loadError(folder('llama', { ...hfConfig, model_type: 'llama' }, weights)).message).toMatch(
      /config\.json: model_type must be "gpt2" \(got "llama"\)$/,
    );
    writeFileSync(join(dir, 'llama', 'config.json'), '{ not json');
    expect(loadError(join(dir, 'llama')).message).toMatch(/config\.json: not valid JSON/);
    expect(loadError(join(dir, 'no-such-folder')).message).toMatch(
      /no-such-folder\/config\.json: cannot read \(ENOENT\)/,
    );
  });
});

describe('parseGpt2Config / toHfConfig', () => {
  const parse = (json: unknown) => parseGpt2Config(json, 'config.json');
  const error = (json: unknown): string => {
    try {
      parse(json);
    } catch (caught) {
      expect(caught).toBeInstanceOf(Gpt2ConfigError);
      return (caught as Error).message;
    }
    throw new Error('expected the config to be refused');
  };

  it('reads defaults and aliases the way Hugging Face does', () => {
    const minimal = { vocab_size: 100, n_positions: 32, n_embd: 12, n_layer: 1, n_head: 3 };
    expect(parse(minimal)).toEqual({
      vocabSize: 100,
      nPositions: 32,
      nEmbd: 12,
      nLayer: 1,
      nHead: 3,
      nInner: 48,
      layerNormEpsilon: 1e-5,
      activation: 'gelu_new',
    });
    expect(parse({ ...minimal, n_inner: null }).nInner).toBe(48);
    expect(parse({ ...minimal, n_positions: undefined, n_ctx: 64 }).nPositions).toBe(64);
    expect(parse({ ...minimal, n_ctx: 64 }).nPositions).toBe(32); // n_positions wins
    expect(parse({ ...minimal, activation_function: 'gelu_pytorch_tanh' }).activation).toBe('gelu_new');
    expect(parse({ ...minimal, activation_function: 'gelu' }).activation).toBe('gelu');
    expect(parse({ ...minimal, activation_function: 'relu', layer_norm_epsilon: 1e-6 })).toMatchObject({
      activation: 'relu',
      layerNormEpsilon: 1e-6,
    });
    expect(
      parse({
        ...minimal,
        tie_word_embeddings: true,
        scale_attn_weights: true,
        reorder_and_upcast_attn: false,
        bos_token_id: 0,
      }).nEmbd,
    ).toBe(12);
  });

  it('round-trips through toHfConfig', () => {
    for (const activation of ['gelu_new', 'gelu', 'relu'] as const) {
      const original: Gpt2Config = { ...config, activation, nInner: 20, layerNormEpsilon: 1e-6 };
      expect(parse(JSON.parse(JSON.stringify(toHfConfig(original))))).toEqual(original);
    }
  });

  it('names the field in every refusal', () => {
    const base = { vocab_size: 100, n_positions: 32, n_embd: 12, n_layer: 1, n_head: 3 };
    expect(error({ ...base, n_positions: undefined })).toBe('config.json: n_positions (or n_ctx) is missing');
    expect(error({ ...base, vocab_size: 0 })).toBe('config.json: vocab_size must be a positive integer (got 0)');
    expect(error({ ...base, n_head: '3' })).toBe('config.json: n_head must be a positive integer (got "3")');
    expect(error({ ...base, n_inner: 2.5 })).toBe('config.json: n_inner must be a positive integer (got 2.5)');
    expect(error({ ...base, layer_norm_epsilon: -1 })).toBe(
      'config.json: layer_norm_epsilon must be a positive number (got -1)',
    );
    expect(error({ ...base, activation_function: 'silu' })).toBe(
      'config.json: activation_function must be one of gelu_new, gelu_pytorch_tanh, gelu, relu (got "silu")',
    );
    expect(error({ ...base, tie_word_embeddings: false })).toMatch(
      /^config\.json: tie_word_embeddings is false: untied output embeddings are not supported/,
    );
    expect(error({ ...base, scale_attn_weights: false })).toMatch(/^config\.json: scale_attn_weights is false/);
    expect(error({ ...base, scale_attn_by_inverse_layer_idx: true })).toMatch(
      /^config\.json: scale_attn_by_inverse_layer_idx is true/,
    );
    expect(error({ ...base, model_type: 'gpt_neox', n_layer: undefined })).toBe(
      'config.json: model_type must be "gpt2" (got "gpt_neox"); n_layer is missing',
    );
    expect(error([base])).toBe('config.json: expected a JSON object, got an array');
  });
});

describe('reference GPT-2 forward pass (test/subject/reference-gpt2.ts)', () => {
  /** Weights of a config with every tensor zero except LayerNorm weights (one) and the overrides. */
  function zeroWeights(small: Gpt2Config, overrides: Record<string, number[]>): Gpt2Weights {
    const weights: Gpt2Weights = new Map();
    for (const [name, shape] of expectedGpt2Shapes(small)) {
      const size = shape.reduce((product, length) => product * length, 1);
      const tensor: HostTensor = { shape, data: new Float32Array(size).fill(/ln_(1|2|f)\.weight$/.test(name) ? 1 : 0) };
      if (overrides[name]) tensor.data.set(overrides[name]);
      weights.set(name, tensor);
    }
    return weights;
  }
  const small: Gpt2Config = {
    vocabSize: 3,
    nPositions: 4,
    nEmbd: 2,
    nLayer: 1,
    nHead: 1,
    nInner: 2,
    layerNormEpsilon: 1e-5,
    activation: 'gelu_new',
  };
  const wte = [1, 0, 0, 1, 2, -1];
  const wpe = [0, 0, 0.5, 0.5, 0, 0, 0, 0];
  /** LayerNorm of (a, b) with unit weight: the mean is (a+b)/2, so it is (c, −c) with c = ((a−b)/2)/√(((a−b)/2)² + eps). */
  const normalizedPair = (a: number, b: number): [number, number] => {
    const half = (a - b) / 2;
    const c = half / Math.sqrt(half * half + 1e-5);
    return [c, -c];
  };

  it('with zero attention and MLP weights: logits = LN_f(wte[id] + wpe[pos]) · wteᵀ, worked out by hand', () => {
    const weights = zeroWeights(small, {
      'wte.weight': wte,
      'wpe.weight': wpe,
      'ln_f.weight': [2, 1],
      'ln_f.bias': [0.5, -0.25],
    });
    const logits = referenceGpt2Logits(small, weights, [0, 2]);
    // Position 0, token 0: x = (1, 0) + (0, 0). Position 1, token 2: x = (2, −1) + (0.5, 0.5) = (2.5, −0.5).
    const expected: number[] = [];
    for (const [a, b] of [
      [1, 0],
      [2.5, -0.5],
    ] as const) {
      const [c0, c1] = normalizedPair(a, b);
      const f = [2 * c0 + 0.5, c1 - 0.25]; // LN_f weight (2, 1), bias (0.5, −0.25): exact in float32
      expected.push(f[0]!, f[1]!, 2 * f[0]! - f[1]!); // · wte rows (1, 0), (0, 1), (2, −1)
    }
    expect(logits.length).toBe(2 * 3);
    for (let index = 0; index < expected.length; index++) expect(logits[index]).toBeCloseTo(expected[index]!, 12);
  });

  it('with uniform attention (q = k = 0), v and c_proj the identity, c_fc the identity: worked out by hand', () => {
    // c_attn [2, 6]: q and k columns zero, v columns the identity. c_proj and c_fc the identity; MLP c_proj zero.
    const weights = zeroWeights(small, {
      'wte.weight': wte,
      'wpe.weight': wpe,
      'h.0.attn.c_attn.weight': [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1],
      'h.0.attn.c_proj.weight': [1, 0, 0, 1],
      'h.0.mlp.c_fc.weight': [1, 0, 0, 1],
    });
    const out = referenceGpt2Forward(small, weights, [0, 2]);
    const x0 = [1, 0];
    const x1 = [2.5, -0.5];
    const a0 = normalizedPair(x0[0]!, x0[1]!);
    const a1 = normalizedPair(x1[0]!, x1[1]!);
    // Equal scores: position 0 attends to itself, position 1 half to each.
    expect(Array.from(out.attentionPattern[0]!)).toEqual([1, 0, 0.5, 0.5]);
    const mid0 = [x0[0]! + a0[0], x0[1]! + a0[1]];
    const mid1 = [x1[0]! + (a0[0] + a1[0]) / 2, x1[1]! + (a0[1] + a1[1]) / 2];
    const m0 = normalizedPair(mid0[0]!, mid0[1]!);
    const m1 = normalizedPair(mid1[0]!, mid1[1]!);
    const pre = [...m0, ...m1];
    pre.forEach((value, index) => expect(out.mlpPre[0]![index]).toBeCloseTo(value, 12));
    pre.forEach((value, index) =>
      expect(out.mlpPost[0]![index]).toBeCloseTo(
        0.5 * value * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (value + 0.044715 * value ** 3))),
        12,
      ),
    );
    [...mid0, ...mid1].forEach((value, index) => expect(out.residPost[0]![index]).toBeCloseTo(value, 12)); // MLP c_proj is zero
    const f0 = normalizedPair(mid0[0]!, mid0[1]!);
    const f1 = normalizedPair(mid1[0]!, mid1[1]!);
    const expectedLogits = [f0[0], f0[1], 2 * f0[0] - f0[1], f1[0], f1[1], 2 * f1[0] - f1[1]];
    expectedLogits.forEach((value, index) => expect(out.logits[index]).toBeCloseTo(value, 12));
  });

  it('is causal, and its attention rows are distributions', () => {
    const weights = randomGpt2Weights(config, 9);
    for (const tensor of weights.values())
      for (let index = 0; index < tensor.data.length; index++) tensor.data[index]! *= 10; // larger activations
    const first = referenceGpt2Forward(config, weights, [3, 17, 42, 0, 9]);
    const second = referenceGpt2Forward(config, weights, [3, 17, 7, 7, 7]);
    expect(first.logits.subarray(0, 2 * 50)).toEqual(second.logits.subarray(0, 2 * 50));
    expect(first.logits.subarray(2 * 50)).not.toEqual(second.logits.subarray(2 * 50));
    const T = 5;
    for (const pattern of first.attentionPattern) {
      for (let head = 0; head < config.nHead; head++) {
        for (let t = 0; t < T; t++) {
          const row = pattern.subarray((head * T + t) * T, (head * T + t + 1) * T);
          expect(row.reduce((sum, value) => sum + value, 0)).toBeCloseTo(1, 12);
          for (let s = t + 1; s < T; s++) expect(row[s]).toBe(0);
        }
      }
    }
    expect(() => referenceGpt2Forward(config, weights, [50])).toThrow(/token id 50 outside \[0, 50\)/);
    expect(() => referenceGpt2Forward(config, weights, new Array(17).fill(0))).toThrow(
      /17 tokens but only 16 positions/,
    );
  });

  it('computes its activation functions to double precision', () => {
    // Reference values of erf (Abramowitz & Stegun, table 7.1 / high-precision tables).
    expect(erf(0)).toBe(0);
    expect(erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf(2)).toBeCloseTo(0.9953222650189527, 15);
    expect(erf(3)).toBeCloseTo(0.9999779095030014, 15);
    expect(erf(-4)).toBeCloseTo(-0.9999999845827421, 15);
    expect(Math.abs((1 - erf(3.5)) / 7.430983723414128e-7 - 1)).toBeLessThan(1e-9); // erfc(3.5): the tail is accurate too
    expect(geluExact(1)).toBeCloseTo(0.8413447460685429, 15);
    expect(geluNew(1)).toBeCloseTo(0.8411919906082768, 15);
    expect(geluNew(-3)).toBeCloseTo(-0.0036373920817729943, 15);
  });
});

describe('the tfjs GPT-2 forward pass', () => {
  /** Random weights with larger matrices and non-trivial LayerNorm and bias values, so every parameter matters. */
  function perturbedWeights(forConfig: Gpt2Config, seed: number): Gpt2Weights {
    const weights = randomGpt2Weights(forConfig, seed);
    const random = mulberry32(seed + 1000);
    for (const [name, tensor] of weights) {
      const isLayerNormWeight = /ln_(1|2|f)\.weight$/.test(name);
      for (let index = 0; index < tensor.data.length; index++) {
        if (tensor.shape.length === 2)
          tensor.data[index]! *= 10; // std 0.2
        else tensor.data[index] = (isLayerNormWeight ? 1 : 0) + (random() - 0.5) * 0.4;
      }
    }
    return weights;
  }

  it('equals the float64 reference to 1e-4 (logits and MLP activations) after a save/load round trip, for each activation', () => {
    for (const activation of ['gelu_new', 'gelu', 'relu'] as const) {
      const withActivation: Gpt2Config = { ...config, activation };
      const weights = perturbedWeights(withActivation, 11);
      const path = join(dir, `forward-${activation}`);
      saveGpt2Folder(path, withActivation, weights);
      const loaded = loadGpt2Folder(path);
      expect(loaded.config).toEqual(withActivation);
      const model = Gpt2Model.fromWeights(loaded.config, loaded.weights);
      const ids = [3, 17, 42, 0, 49, 8, 8, 21, 5, 30, 11];
      const reference = referenceGpt2Forward(withActivation, weights, ids);
      let mlpPost: Float32Array | null = null;
      const logits = tf.tidy(() => {
        const out = model.forward([ids], undefined, {
          hooks: { 'blocks.1.mlp.hook_post': (a) => void (mlpPost = a.dataSync() as Float32Array) },
        });
        return out.logits!.dataSync() as Float32Array;
      });
      model.dispose();
      const maxAbsDifference = (a: Float64Array, b: Float32Array) =>
        a.reduce((max, value, index) => Math.max(max, Math.abs(value - b[index]!)), 0);
      expect(logits.length, activation).toBe(reference.logits.length);
      expect(Math.max(...reference.logits.map(Math.abs)), activation).toBeGreaterThan(0.5); // not a comparison of near-zero numbers
      expect(maxAbsDifference(reference.logits, logits), activation).toBeLessThan(1e-4);
      expect(maxAbsDifference(reference.mlpPost[1]!, mlpPost!), activation).toBeLessThan(1e-4);
    }
  });
});
