import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/subject/backend.ts';
import { Gpt2Model } from '../../src/subject/gpt2-model.ts';
import { loadGpt2Folder, saveGpt2Folder } from '../../src/subject/load-gpt2.ts';
import { floatToHalf, halfToFloat, parseSafetensors, readSafetensors, serializeSafetensors, writeSafetensors } from '../../src/subject/safetensors.ts';
import { initGpt2Weights } from '../../src/subject/train-lm.ts';
import type { Gpt2Config, Gpt2Weights } from '../../src/subject/types.ts';
import { referenceGpt2Forward } from './reference-gpt2.ts';

const config: Gpt2Config = { vocabSize: 50, nPositions: 16, nEmbd: 8, nLayer: 2, nHead: 2, nInner: 32, layerNormEpsilon: 1e-5, activation: 'gelu_new' };
const hfConfig = { model_type: 'gpt2', vocab_size: 50, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2, n_inner: 32, activation_function: 'gelu_new' };
let dir: string;

beforeAll(async () => {
  await initBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'autointerp-gpt2-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Random weights with non-trivial LayerNorm and bias values, so every parameter matters in the comparison. */
function randomWeights(seed: number): Gpt2Weights {
  const weights = initGpt2Weights(config, seed);
  let state = seed;
  for (const [name, t] of weights) {
    if (name.endsWith('.bias') || name.includes('ln_')) {
      for (let i = 0; i < t.data.length; i++) {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        t.data[i] = (name.includes('ln_') && name.endsWith('weight') ? 1 : 0) + ((state / 2 ** 31) - 0.5) * 0.4;
      }
    }
    if (name.endsWith('.weight') && t.shape.length === 2) for (let i = 0; i < t.data.length; i++) t.data[i]! *= 10; // std 0.2
  }
  return weights;
}

function folder(name: string, configJson: unknown, tensors: Map<string, { shape: number[]; data: Float32Array }>): string {
  const path = join(dir, name);
  saveGpt2Folder(path, config, randomWeights(1));
  writeFileSync(join(path, 'config.json'), JSON.stringify(configJson));
  writeSafetensors(join(path, 'model.safetensors'), tensors);
  return path;
}

describe('GPT-2 forward pass', () => {
  it('equals an independent float64 implementation to 1e-4 (logits and MLP activations), after a save/load round trip', () => {
    const weights = randomWeights(11);
    saveGpt2Folder(join(dir, 'tiny'), config, weights);
    const loaded = loadGpt2Folder(join(dir, 'tiny'));
    expect(loaded.config).toEqual(config);
    const model = Gpt2Model.fromWeights(loaded.config, loaded.weights);
    const ids = [3, 17, 42, 0, 49, 8, 8, 21, 5, 30, 11];
    const reference = referenceGpt2Forward(config, weights, ids);
    let mlp: Float32Array | null = null;
    const logits = tf.tidy(() => {
      const out = model.forward([ids], undefined, { hooks: { 'blocks.1.mlp.hook_post': (a) => void (mlp = a.dataSync() as Float32Array) } });
      return out.logits!.dataSync();
    });
    let maxLogitError = 0;
    let maxLogit = 0;
    reference.logits.forEach((v, i) => {
      maxLogitError = Math.max(maxLogitError, Math.abs(v - logits[i]!));
      maxLogit = Math.max(maxLogit, Math.abs(v));
    });
    expect(maxLogit).toBeGreaterThan(0.5); // the comparison is not between near-zero numbers
    expect(maxLogitError).toBeLessThan(1e-4);
    let maxMlpError = 0;
    reference.mlpPost[1]!.forEach((v, i) => (maxMlpError = Math.max(maxMlpError, Math.abs(v - mlp![i]!))));
    expect(maxMlpError).toBeLessThan(1e-4);
    model.dispose();
  });
});

describe('loadGpt2Folder', () => {
  it('accepts transformer.-prefixed names, a tied lm_head.weight and the attention mask buffers', () => {
    const weights = randomWeights(2);
    const prefixed = new Map([...weights].map(([n, t]) => [`transformer.${n}`, t]));
    prefixed.set('lm_head.weight', weights.get('wte.weight')!);
    prefixed.set('transformer.h.0.attn.bias', { shape: [1, 1, 16, 16], data: new Float32Array(256) });
    const path = folder('prefixed', hfConfig, prefixed);
    const loaded = loadGpt2Folder(path);
    expect([...loaded.weights.keys()].sort()).toEqual([...weights.keys()].sort());
    expect(Array.from(loaded.weights.get('h.1.mlp.c_fc.weight')!.data)).toEqual(Array.from(weights.get('h.1.mlp.c_fc.weight')!.data));
  });

  it('rejects a missing tensor, a wrong shape, an unexpected tensor and bad configs with messages naming them', () => {
    const weights = randomWeights(2);
    const missing = new Map(weights);
    missing.delete('h.1.mlp.c_fc.weight');
    expect(() => loadGpt2Folder(folder('missing', hfConfig, missing))).toThrow(/model\.safetensors: missing tensor h\.1\.mlp\.c_fc\.weight/);
    const wrong = new Map(weights).set('h.0.attn.c_attn.weight', { shape: [8, 12], data: new Float32Array(96) });
    expect(() => loadGpt2Folder(folder('wrong', hfConfig, wrong))).toThrow(/tensor h\.0\.attn\.c_attn\.weight has shape \[8, 12\], expected \[8, 24\]/);
    const extra = new Map(weights).set('h.2.ln_1.weight', { shape: [8], data: new Float32Array(8) });
    expect(() => loadGpt2Folder(folder('extra', hfConfig, extra))).toThrow(/unexpected tensor h\.2\.ln_1\.weight/);
    expect(() => loadGpt2Folder(folder('heads', { ...hfConfig, n_head: 3 }, weights))).toThrow(/config\.json: n_embd: n_embd must be divisible by n_head \(8 and 3\)/);
    const { n_layer: _dropped, ...noLayers } = hfConfig;
    expect(() => loadGpt2Folder(folder('nolayer', noLayers, weights))).toThrow(/config\.json: n_layer/);
    expect(() => loadGpt2Folder(folder('llama', { ...hfConfig, model_type: 'llama' }, weights))).toThrow(/config\.json: model_type/);
    writeFileSync(join(dir, 'missing', 'config.json'), '{ not json');
    expect(() => loadGpt2Folder(join(dir, 'missing'))).toThrow(/config\.json: not valid JSON/);
  });
});

describe('safetensors', () => {
  it('round-trips F32 exactly and F16 to the nearest half, with metadata', () => {
    const values = Float32Array.from([1, -2, 65504, 6.1e-5, 1e-8, 0.1, -0, 3.14159]);
    const tensors = new Map([['b', { shape: [2, 4], data: values }], ['a', { shape: [1], data: Float32Array.from([7]) }]]);
    const f32 = parseSafetensors(serializeSafetensors(tensors, { metadata: { format: 'pt' } }), 'x.safetensors');
    expect(Array.from(f32.tensors.get('b')!.data)).toEqual(Array.from(values));
    expect(f32.metadata).toEqual({ format: 'pt' });
    const f16 = parseSafetensors(serializeSafetensors(tensors, { dtype: 'F16' }), 'x.safetensors');
    expect(f16.tensors.get('b')!.dtype).toBe('F16');
    expect(Array.from(f16.tensors.get('b')!.data)).toEqual([1, -2, 65504, halfToFloat(floatToHalf(6.1e-5)), 0, halfToFloat(0x2e66), -0, halfToFloat(0x4248)]);
    // Hand-computed halves: 6.1e-5 is just below the smallest normal (2^-14 ≈ 6.104e-5): subnormal 1023·2^-24.
    expect(floatToHalf(6.1e-5)).toBe(0x03ff);
    expect(floatToHalf(0.1)).toBe(0x2e66);
    expect(floatToHalf(65520)).toBe(0x7c00); // rounds up past the largest half: infinity
    expect(floatToHalf(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // exactly halfway: ties to even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
  });

  it('reads BF16 and rejects corrupt headers, out-of-range offsets and overlapping tensors, naming the tensor', () => {
    const header = (h: object, data: number[]) => {
      let json = JSON.stringify(h);
      json += ' '.repeat((8 - (json.length % 8)) % 8);
      const b = Buffer.alloc(8 + json.length + data.length);
      b.writeBigUInt64LE(BigInt(json.length));
      b.write(json, 8);
      Buffer.from(data).copy(b, 8 + json.length);
      return b;
    };
    // BF16 0x3F80 = 1.0, 0xC040 = -3.0 (little-endian bytes).
    const bf16 = parseSafetensors(header({ w: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, [0x80, 0x3f, 0x40, 0xc0]), 'bf.safetensors');
    expect(Array.from(bf16.tensors.get('w')!.data)).toEqual([1, -3]);
    expect(() => parseSafetensors(header({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 12] } }, [0, 0, 0, 0, 0, 0, 0, 0]), 'f')).toThrow(
      /f: tensor w: data_offsets \[0, 12\] outside the data \(8 bytes\)/,
    );
    expect(() =>
      parseSafetensors(header({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Array(8).fill(0)), 'f'),
    ).toThrow(/tensors a and b overlap/);
    expect(() => parseSafetensors(header({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Array(8).fill(0)), 'f')).toThrow(/tensor w: 8 bytes for shape \[3\] F32, expected 12/);
    expect(() => parseSafetensors(header({ w: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, [0]), 'f')).toThrow(/tensor w: unsupported dtype "U8"/);
    const bad = Buffer.alloc(16);
    bad.writeBigUInt64LE(1000n);
    expect(() => parseSafetensors(bad, 'f')).toThrow(/header length 1000 does not fit/);
    expect(() => readSafetensors(join(dir, 'nope.safetensors'))).toThrow(/nope\.safetensors: cannot read \(ENOENT\)/);
  });

  it('writes the header padded to 8 bytes with tensors sorted by name (the reference layout)', () => {
    const path = join(dir, 'layout.safetensors');
    writeSafetensors(path, new Map([['z', { shape: [1], data: Float32Array.of(1) }], ['a', { shape: [1], data: Float32Array.of(2) }]]));
    const bytes = readFileSync(path);
    const length = Number(bytes.readBigUInt64LE(0));
    expect(length % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString());
    expect(header.a.data_offsets).toEqual([0, 4]);
    expect(header.z.data_offsets).toEqual([4, 8]);
  });
});
