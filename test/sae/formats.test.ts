import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import {
  foldActivationScale,
  loadSaeFolder,
  loadSaeLens,
  loadSparsify,
  SaeFormatError,
  saveSaeLens,
} from '../../src/sae/formats.ts';
import { SparseAutoencoder } from '../../src/sae/sae-model.ts';
import type { SaeConfig, SaeWeights } from '../../src/sae/types.ts';
import { initBackend } from '../../src/subject/backend.ts';
import { readSafetensors, writeSafetensors } from '../../src/common/safetensors.ts';
import { writeSparsifyFolder } from '../helpers/sparsify-folder.ts';

const temporary = mkdtempSync(join(tmpdir(), 'autointerp-sae-formats-'));
afterAll(() => rmSync(temporary, { recursive: true, force: true }));
let folders = 0;
const freshFolder = (name = 'sae') => join(temporary, `${folders++}`, name);

beforeAll(async () => {
  await initBackend('wasm');
});

function gaussian(length: number, seed: number, scale = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length }, () => randomGaussian(random) * scale);
}

const dIn = 6;
const dSae = 12;
function weightsFor(seed: number): SaeWeights {
  return {
    W_enc: gaussian(dIn * dSae, seed, 0.4),
    b_enc: gaussian(dSae, seed + 1, 0.1),
    W_dec: gaussian(dSae * dIn, seed + 2, 0.4),
    b_dec: gaussian(dIn, seed + 3, 0.2),
  };
}
const standard: SaeConfig = {
  dIn,
  dSae,
  architecture: 'standard',
  l1Coefficient: 5,
  applyBDecToInput: true,
  normalizeActivations: 'none',
  hookName: 'blocks.0.mlp.hook_post',
  modelName: 'brown-1l',
};
const topk: SaeConfig = { ...standard, architecture: 'topk', k: 3, l1Coefficient: undefined };
const inputs = gaussian(20 * dIn, 77, 2);

function outputsOf(config: SaeConfig, weights: SaeWeights): { features: Float32Array; reconstruction: Float32Array } {
  const sae = SparseAutoencoder.fromWeights(config, weights);
  const out = { features: sae.encodeBatch(inputs), reconstruction: sae.reconstructBatch(inputs) };
  sae.dispose();
  return out;
}

describe('SAELens layout', () => {
  for (const config of [standard, topk]) {
    it(`round-trips a ${config.architecture} SAE: same weights, bit-identical reconstruction, docs/DESIGN.md §5 keys and shapes`, () => {
      const weights = weightsFor(1);
      const folder = freshFolder();
      const density = Float64Array.from({ length: dSae }, (_, i) => (i % 4 === 0 ? 0 : i / 100));
      saveSaeLens(folder, config, weights, { featureDensity: density, metadata: { trained_by: 'test' } });

      const cfg = JSON.parse(readFileSync(join(folder, 'cfg.json'), 'utf8'));
      expect(cfg).toMatchObject({
        architecture: config.architecture,
        d_in: dIn,
        d_sae: dSae,
        apply_b_dec_to_input: true,
        normalize_activations: 'none',
        dtype: 'float32',
        metadata: { hook_name: 'blocks.0.mlp.hook_post', model_name: 'brown-1l', trained_by: 'test' },
      });
      if (config.architecture === 'topk') expect(cfg).toMatchObject({ k: 3, rescale_acts_by_decoder_norm: false });
      const file = readSafetensors(join(folder, 'sae_weights.safetensors'));
      expect(
        Object.fromEntries([...file.tensors].map(([name, tensor]) => [name, [tensor.dtype, tensor.shape]])),
      ).toEqual({
        W_enc: ['F32', [dIn, dSae]],
        b_enc: ['F32', [dSae]],
        W_dec: ['F32', [dSae, dIn]],
        b_dec: ['F32', [dIn]],
      });
      const sparsity = readSafetensors(join(folder, 'sparsity.safetensors')).tensors.get('sparsity')!;
      expect(sparsity.shape).toEqual([dSae]);
      expect(sparsity.data[0]).toBeCloseTo(-10, 5);
      expect(sparsity.data[1]).toBeCloseTo(-2, 5);

      const loaded = loadSaeLens(folder);
      expect(loaded.warnings).toEqual([]);
      expect(loaded.config).toEqual(config.architecture === 'topk' ? { ...config, l1Coefficient: undefined } : config);
      for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const)
        expect(loaded.weights[name]).toEqual(weights[name]);
      expect(loaded.logSparsity).toEqual(sparsity.data);
      const before = outputsOf(config, weights);
      const after = outputsOf(loaded.config, loaded.weights);
      expect(after.features).toEqual(before.features);
      expect(after.reconstruction).toEqual(before.reconstruction);
    });
  }

  it('folds the activation scale into the weights on save, as SAELens does, and reconstructs the same', () => {
    const config: SaeConfig = { ...topk, normalizeActivations: 'expected_average_only_in', activationScale: 2.7 };
    const weights = weightsFor(4);
    const folder = freshFolder();
    saveSaeLens(folder, config, weights);
    expect(JSON.parse(readFileSync(join(folder, 'cfg.json'), 'utf8')).normalize_activations).toBe('none');
    const loaded = loadSaeLens(folder);
    expect(loaded.config.normalizeActivations).toBe('none');
    const before = outputsOf(config, weights);
    const after = outputsOf(loaded.config, loaded.weights);
    for (let i = 0; i < before.reconstruction.length; i++)
      expect(after.reconstruction[i]).toBeCloseTo(before.reconstruction[i]!, 4);
    // feature activations scale with W_enc·s and W_dec/s (SAELens's fold does the same)
    for (let i = 0; i < before.features.length; i++) expect(after.features[i]).toBeCloseTo(before.features[i]!, 4);
    expect(foldActivationScale(standard, weights).weights).toBe(weights);
  });

  it('writes F16 weights on request (within half precision)', () => {
    const weights = weightsFor(5);
    const folder = freshFolder();
    saveSaeLens(folder, standard, weights, { dtype: 'F16' });
    expect(JSON.parse(readFileSync(join(folder, 'cfg.json'), 'utf8')).dtype).toBe('float16');
    const loaded = loadSaeLens(folder);
    for (let i = 0; i < weights.W_enc.length; i++)
      expect(Math.abs(loaded.weights.W_enc[i]! - weights.W_enc[i]!)).toBeLessThanOrEqual(
        Math.abs(weights.W_enc[i]!) * 2 ** -11 + 1e-7,
      );
  });

  it('reads older cfgs (hook_point, activation_fn_str "topk") and folds rescale_acts_by_decoder_norm', () => {
    const weights = weightsFor(6);
    const folder = freshFolder();
    saveSaeLens(folder, topk, weights);
    writeFileSync(
      join(folder, 'cfg.json'),
      JSON.stringify({
        architecture: 'standard',
        activation_fn_str: 'topk',
        activation_fn_kwargs: { k: 3 },
        d_in: dIn,
        d_sae: dSae,
        hook_point: 'blocks.0.hook_resid_post',
        model_name: 'gpt2',
        normalize_activations: false,
        rescale_acts_by_decoder_norm: true,
      }),
    );
    const loaded = loadSaeLens(folder);
    expect(loaded.config).toMatchObject({
      architecture: 'topk',
      k: 3,
      hookName: 'blocks.0.hook_resid_post',
      modelName: 'gpt2',
      normalizeActivations: 'none',
    });
    expect(loaded.warnings.join()).toMatch(/rescale_acts_by_decoder_norm/);
    const after = outputsOf(loaded.config, loaded.weights);
    // SAELens's rescaled TopK, on the host: h = ((x − b_dec)·W_enc + b_enc)·‖W_dec,i‖, f = TopK(ReLU(h)), x̂ = Σ (f_i/‖W_dec,i‖)·W_dec,i + b_dec
    const norms = Array.from({ length: dSae }, (_, i) => Math.hypot(...weights.W_dec.subarray(i * dIn, (i + 1) * dIn)));
    for (let row = 0; row < inputs.length / dIn; row++) {
      const hidden = norms.map((norm, i) => {
        let sum = weights.b_enc[i]!;
        for (let j = 0; j < dIn; j++)
          sum += (inputs[row * dIn + j]! - weights.b_dec[j]!) * weights.W_enc[j * dSae + i]!;
        return sum * norm;
      });
      const kth = [...hidden].sort((a, b) => b - a)[2]!;
      const features = hidden.map((value) => (value >= kth ? Math.max(0, value) : 0));
      for (let i = 0; i < dSae; i++) expect(after.features[row * dSae + i]).toBeCloseTo(features[i]!, 4);
      for (let j = 0; j < dIn; j++) {
        let sum = weights.b_dec[j]!;
        for (let i = 0; i < dSae; i++) sum += (features[i]! / norms[i]!) * weights.W_dec[i * dIn + j]!;
        expect(after.reconstruction[row * dIn + j]).toBeCloseTo(sum, 4);
      }
    }
  });

  it('names the file and tensor for missing and mis-shaped tensors, and the key for a bad cfg', () => {
    const folder = freshFolder();
    saveSaeLens(folder, standard, weightsFor(7));
    const weightsFile = join(folder, 'sae_weights.safetensors');
    const file = readSafetensors(weightsFile);
    const tensors = new Map(
      [...file.tensors]
        .filter(([name]) => name !== 'b_enc')
        .map(([name, t]) => [name, { shape: t.shape, data: t.data as Float32Array }]),
    );
    writeSafetensors(weightsFile, tensors);
    expect(() => loadSaeLens(folder)).toThrow(SaeFormatError);
    expect(() => loadSaeLens(folder)).toThrow(`${weightsFile} (b_enc): tensor missing`);
    tensors.set('b_enc', { shape: [dSae - 1], data: new Float32Array(dSae - 1) });
    writeSafetensors(weightsFile, tensors);
    expect(() => loadSaeLens(folder)).toThrow(`${weightsFile} (b_enc): shape [11], expected [12]`);

    const cfgFile = join(folder, 'cfg.json');
    const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, d_in: 6.5 }));
    expect(() => loadSaeLens(folder)).toThrow(`${cfgFile} (d_in): must be a positive integer, got 6.5`);
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, architecture: 'jumprelu' }));
    expect(() => loadSaeLens(folder)).toThrow(/\(architecture\): unsupported architecture "jumprelu"/);
    writeFileSync(cfgFile, JSON.stringify({ ...cfg, architecture: 'topk' }));
    expect(() => loadSaeLens(folder)).toThrow(/\(k\): a topk SAE needs k/);
    writeFileSync(cfgFile, '{ not json');
    expect(() => loadSaeLens(folder)).toThrow(/cfg\.json: not valid JSON/);
    expect(() => loadSaeLens(join(folder, 'absent'))).toThrow(/cfg\.json: cannot read \(ENOENT\)/);
  });

  it('refuses tensors it would ignore that change the SAE (JumpReLU threshold, scaling factor) and names the others', () => {
    const folder = freshFolder();
    const weights = weightsFor(10);
    saveSaeLens(folder, standard, weights);
    const weightsFile = join(folder, 'sae_weights.safetensors');
    const saved = new Map(
      [...readSafetensors(weightsFile).tensors].map(([name, t]) => [
        name,
        { shape: t.shape, data: t.data as Float32Array },
      ]),
    );
    const withExtra = (extra: Record<string, Float32Array>) =>
      writeSafetensors(
        weightsFile,
        new Map([
          ...saved,
          ...Object.entries(extra).map(([name, data]): [string, { shape: number[]; data: Float32Array }] => [
            name,
            { shape: [data.length], data },
          ]),
        ]),
      );

    withExtra({ threshold: Float32Array.from({ length: dSae }, (_, i) => 0.1 * i) });
    expect(() => loadSaeLens(folder)).toThrow(
      `${weightsFile} (threshold): a JumpReLU threshold, but the cfg says architecture standard`,
    );
    withExtra({ log_threshold: new Float32Array(dSae) });
    expect(() => loadSaeLens(folder)).toThrow(`${weightsFile} (log_threshold): a JumpReLU threshold`);
    withExtra({ scaling_factor: Float32Array.from({ length: dSae }, (_, i) => (i === 3 ? 2 : 1)) });
    expect(() => loadSaeLens(folder)).toThrow(
      `${weightsFile} (scaling_factor): a per-latent scaling factor that is not all ones`,
    );
    // A zero threshold is ReLU and a scaling factor of ones changes nothing: read as they are, without a word.
    withExtra({ threshold: new Float32Array(dSae), scaling_factor: new Float32Array(dSae).fill(1) });
    const harmless = loadSaeLens(folder);
    expect(harmless.warnings).toEqual([]);
    expect(outputsOf(harmless.config, harmless.weights)).toEqual(outputsOf(standard, weights));
    withExtra({ W_dec_bias_extra: new Float32Array(dIn), b_enc_aux: new Float32Array(dSae) });
    expect(loadSaeLens(folder).warnings).toEqual([
      'sae_weights.safetensors: tensors not read: W_dec_bias_extra, b_enc_aux',
    ]);
  });
});

describe('sparsify layout', () => {
  function writeSparsify(folder: string, weights: SaeWeights, cfg: Record<string, unknown>): void {
    writeSparsifyFolder(
      folder,
      weights,
      { dIn, dSae },
      {
        activation: 'topk',
        expansion_factor: 2,
        normalize_decoder: true,
        num_latents: 0,
        k: 3,
        multi_topk: false,
        skip_connection: false,
        transcode: false,
        d_in: dIn,
        ...cfg,
      },
    );
  }

  it('imports a hand-made sparsify folder as the equivalent SAELens topk SAE (same encode and decode)', () => {
    const weights = weightsFor(8);
    const folder = freshFolder('layers.3.mlp');
    writeSparsify(folder, weights, {});
    const loaded = loadSparsify(folder, { modelName: 'pythia' });
    // The folder names the Hugging Face module; the SAE reads the output of the MLP, TransformerLens hook_mlp_out.
    expect(loaded.config).toEqual({
      dIn,
      dSae,
      architecture: 'topk',
      k: 3,
      applyBDecToInput: true,
      normalizeActivations: 'none',
      hookName: 'blocks.3.hook_mlp_out',
      modelName: 'pythia',
    });
    expect(loaded.warnings).toEqual([
      'hookpoint layers.3.mlp (the folder name) read as the hook point blocks.3.hook_mlp_out',
    ]);
    expect(loadSparsify(folder, { hookName: 'layers.3.mlp' }).config.hookName).toBe('layers.3.mlp');
    const expected = outputsOf(topk, weights);
    const actual = outputsOf(loaded.config, loaded.weights);
    expect(actual.features).toEqual(expected.features);
    expect(actual.reconstruction).toEqual(expected.reconstruction);
  });

  it('reads num_latents when given and refuses what it cannot run, naming file and key or tensor', () => {
    const weights = weightsFor(9);
    const folder = freshFolder('layers.0');
    writeSparsify(folder, weights, { num_latents: dSae, expansion_factor: 64 });
    expect(loadSparsify(folder).config.dSae).toBe(dSae);
    const cfgFile = join(folder, 'cfg.json');
    writeSparsify(folder, weights, { transcode: true });
    expect(() => loadSparsify(folder)).toThrow(`${cfgFile} (transcode): transcoders are not supported`);
    writeSparsify(folder, weights, { activation: 'groupmax' });
    expect(() => loadSparsify(folder)).toThrow(/\(activation\): unsupported activation "groupmax"/);
    writeSparsify(folder, weights, { expansion_factor: 3 });
    expect(() => loadSparsify(folder)).toThrow(
      `${join(folder, 'sae.safetensors')} (encoder.weight): shape [12, 6], expected [18, 6]`,
    );
  });

  it('refuses a W_skip tensor even when the cfg does not mention a skip connection', () => {
    const weights = weightsFor(11);
    const folder = freshFolder('layers.1');
    writeSparsify(folder, weights, {});
    const weightsFile = join(folder, 'sae.safetensors');
    const tensors = new Map(
      [...readSafetensors(weightsFile).tensors].map(([name, t]) => [
        name,
        { shape: t.shape, data: t.data as Float32Array },
      ]),
    );
    tensors.set('W_skip', { shape: [dIn, dIn], data: new Float32Array(dIn * dIn) });
    writeSafetensors(weightsFile, tensors);
    expect(() => loadSparsify(folder)).toThrow(`${weightsFile} (W_skip): a skip connection`);
  });

  it('loadSaeFolder reads either layout and names both weight files when a folder has neither', () => {
    const weights = weightsFor(12);
    const sparsify = freshFolder('h.0.mlp.act');
    writeSparsify(sparsify, weights, {});
    expect(loadSaeFolder(sparsify).config).toMatchObject({ architecture: 'topk', hookName: 'blocks.0.mlp.hook_post' });
    const saeLens = freshFolder();
    saveSaeLens(saeLens, standard, weights);
    expect(loadSaeFolder(saeLens).config).toMatchObject({
      architecture: 'standard',
      hookName: 'blocks.0.mlp.hook_post',
    });
    const empty = freshFolder();
    mkdirSync(empty, { recursive: true });
    expect(() => loadSaeFolder(empty)).toThrow(
      `${empty}: not an SAE folder: neither sae_weights.safetensors (SAELens) nor sae.safetensors (sparsify) is there`,
    );
    expect(() => loadSaeFolder(join(empty, 'absent'))).toThrow(/absent: no such folder/);
  });
});
