import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { sampleCorrelation } from 'simple-statistics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UsageError } from '../../src/cli/errors.ts';
import { InputError } from '../../src/common/errors.ts';
import { parseFeatureSpec, registerSteerCommand, type SteerResult } from '../../src/cli/steer.ts';
import { mulberry32, randomGaussian } from '../../src/common/random.ts';
import { saveSaeLens } from '../../src/sae/formats.ts';
import { SparseAutoencoder } from '../../src/sae/sae-model.ts';
import type { SaeConfig, SaeWeights } from '../../src/sae/types.ts';
import { initBackend, tf } from '../../src/subject/backend.ts';
import { writeSafetensors } from '../../src/common/safetensors.ts';
import { featureActivations } from '../../src/subject/feature-ablation.ts';
import { generate, nextTokenLogProbs, pickToken } from '../../src/subject/generate.ts';
import { loadGpt2Folder } from '../../src/subject/load-gpt2.ts';
import { loadSubjectModel, type SubjectModel } from '../../src/subject/load-subject.ts';
import { checkSteerTarget, clampHooks, directLogitEffect, type SteerTarget } from '../../src/subject/steer.ts';
import type { Gpt2Weights } from '../../src/subject/types.ts';

const modelDir = fileURLToPath(new URL('../../data/subject/brown-1l/', import.meta.url));
const hook = 'blocks.0.mlp.hook_post';
const scratch = mkdtempSync(join(tmpdir(), 'autointerp-steer-'));

let subject: SubjectModel;
let weights: Gpt2Weights;
let sae: SparseAutoencoder;
let promptIds: number[];

/** A random ReLU SAE on the MLP of brown-1l, with an activation scale so that W_dec[i]/s matters. */
function randomSae(hookName: string): { config: SaeConfig; weights: SaeWeights } {
  const dIn = 512;
  const dSae = 32;
  const random = mulberry32(11);
  const gaussian = (count: number, scale: number) =>
    Float32Array.from({ length: count }, () => randomGaussian(random) * scale);
  return {
    config: {
      dIn,
      dSae,
      architecture: 'standard',
      applyBDecToInput: true,
      normalizeActivations: 'expected_average_only_in',
      activationScale: 2.5,
      hookName,
      modelName: 'brown-1l',
    },
    weights: {
      W_enc: gaussian(dIn * dSae, 1 / Math.sqrt(dIn)),
      b_enc: new Float32Array(dSae).fill(0.1),
      W_dec: gaussian(dSae * dIn, 1 / Math.sqrt(dIn)),
      b_dec: gaussian(dIn, 0.01),
    },
  };
}

/**
 * The direct logit effect computed on the host from the weights: the feature's MLP-space direction through c_proj,
 * centred and times ln_f's gain (ln_final without its 1/σ), times the unembedding wteᵀ.
 */
function hostDirectEffect(direction: ArrayLike<number>): number[] {
  const proj = weights.get('h.0.mlp.c_proj.weight')!;
  const wte = weights.get('wte.weight')!;
  const gain = weights.get('ln_f.weight')!.data;
  const [inner, d] = proj.shape as [number, number];
  const residual = new Float64Array(d);
  for (let i = 0; i < inner; i++) for (let j = 0; j < d; j++) residual[j]! += direction[i]! * proj.data[i * d + j]!;
  const mean = residual.reduce((a, b) => a + b, 0) / d;
  const u = residual.map((x, j) => (x - mean) * gain[j]!);
  return Array.from({ length: wte.shape[0]! }, (_, v) => u.reduce((sum, x, j) => sum + x * wte.data[v * d + j]!, 0));
}

function logProbChange(target: SteerTarget, value: number): number[] {
  const before = nextTokenLogProbs(subject.model, promptIds);
  const after = nextTokenLogProbs(subject.model, promptIds, clampHooks(target, value));
  return Array.from(after, (x, v) => x - before[v]!);
}

function logits(hooks = {}): Float32Array {
  const out = tf.tidy(() => subject.model.forward([promptIds], undefined, { hooks }).logits!);
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return data;
}

beforeAll(async () => {
  await initBackend('wasm');
  subject = await loadSubjectModel(modelDir);
  weights = loadGpt2Folder(modelDir).weights;
  const loaded = randomSae(hook);
  sae = SparseAutoencoder.fromWeights(loaded.config, loaded.weights);
  promptIds = [subject.tokenizer.eosId!, ...subject.tokenizer.encode('The jury said that the city')];
});
afterAll(() => {
  sae.dispose();
  subject.model.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

describe('clampHooks', () => {
  it("a large neuron clamp moves log-probabilities along the neuron's direct logit effect (c_proj row · W_U)", () => {
    for (const index of [5, 100, 300]) {
      const target: SteerTarget = { kind: 'neuron', hook, index };
      const unit = new Float32Array(512);
      unit[index] = 1;
      const direct = hostDirectEffect(unit);
      // Typical activations are O(1); ±20 dominates the MLP output. The sign of the clamp sets the sign of the change.
      expect(sampleCorrelation(logProbChange(target, 20), direct)).toBeGreaterThan(0.8);
      expect(sampleCorrelation(logProbChange(target, -20), direct)).toBeLessThan(-0.7);
      const library = directLogitEffect(subject.model, target)!;
      direct.forEach((value, v) => expect(library[v]).toBeCloseTo(value, 4));
    }
  });

  it('a large SAE latent clamp moves log-probabilities along W_dec[i]/s pushed through c_proj and W_U', () => {
    const decoder = sae.toWeights().W_dec;
    for (const index of [0, 5, 9]) {
      const target: SteerTarget = { kind: 'sae', sae, index };
      const direct = hostDirectEffect(
        Array.from(decoder.subarray(index * 512, (index + 1) * 512), (x) => x / sae.scale),
      );
      expect(sampleCorrelation(logProbChange(target, 50), direct)).toBeGreaterThan(0.8);
      expect(sampleCorrelation(logProbChange(target, -50), direct)).toBeLessThan(-0.7);
      const library = directLogitEffect(subject.model, target)!;
      direct.forEach((value, v) => expect(library[v]).toBeCloseTo(value, 4));
    }
  });

  it('clamping a feature to its own value leaves the logits exactly as they are; positions before fromPosition are untouched', () => {
    const last = promptIds.length - 1;
    const vocab = subject.config.vocabSize;
    const original = logits();
    const activeLatent = Array.from({ length: sae.dSae }, (_, index) => index).find(
      (index) => featureActivations(subject.model, { kind: 'sae', sae, index }, [promptIds])[0]![last]! > 0,
    )!;
    const targets: SteerTarget[] = [
      { kind: 'neuron', hook, index: 7 },
      { kind: 'sae', sae, index: activeLatent },
    ];
    for (const target of targets) {
      const own = featureActivations(subject.model, target, [promptIds])[0]![last]!;
      expect(logits(clampHooks(target, own, { fromPosition: last }))).toEqual(original);
      const patched = logits(clampHooks(target, own + 30, { fromPosition: last }));
      expect(patched.subarray(0, last * vocab)).toEqual(original.subarray(0, last * vocab));
      expect(patched.subarray(last * vocab)).not.toEqual(original.subarray(last * vocab));
    }
  });

  it('checks the target against the model in one line', () => {
    const check = (target: SteerTarget) => () => checkSteerTarget(subject.model, target);
    expect(check({ kind: 'neuron', hook: 'blocks.3.mlp.hook_post', index: 0 })).toThrow(
      /^unknown hook "blocks\.3\.mlp\.hook_post"; hooks: .*blocks\.0\.mlp\.hook_post/,
    );
    expect(check({ kind: 'neuron', hook, index: 512 })).toThrow(
      'neuron index 512 is outside [0, 512) at blocks.0.mlp.hook_post',
    );
    expect(check({ kind: 'neuron', hook: 'blocks.0.hook_resid_post', index: 200 })).toThrow('outside [0, 128)');
    expect(check({ kind: 'sae', sae, index: 32 })).toThrow('SAE latent index 32 is outside [0, 32)');
    expect(check({ kind: 'neuron', hook: 'blocks.0.attn.hook_pattern', index: 0 })).toThrow(/attention pattern/);
  });
});

describe('generate', () => {
  it('greedy generation takes the argmax at every step; sampling is deterministic for a seed', () => {
    const greedy = generate(subject.model, promptIds, { maxNewTokens: 6 });
    expect(greedy).toHaveLength(6);
    greedy.forEach((token, step) => {
      const logProbs = nextTokenLogProbs(subject.model, [...promptIds, ...greedy.slice(0, step)]);
      expect(token).toBe(logProbs.indexOf(Math.max(...logProbs)));
    });
    const sampled = generate(subject.model, promptIds, { maxNewTokens: 8, temperature: 1, seed: 5 });
    expect(generate(subject.model, promptIds, { maxNewTokens: 8, temperature: 1, seed: 5 })).toEqual(sampled);
    expect(generate(subject.model, promptIds, { maxNewTokens: 8, temperature: 1, seed: 6 })).not.toEqual(sampled);
  });

  it('keeps the last nPositions tokens of a long prompt, and stops after a stop token', () => {
    const long = Array.from({ length: subject.config.nPositions + 9 }, (_, i) => promptIds[i % promptIds.length]!);
    const window = long.slice(9);
    expect(generate(subject.model, long, { maxNewTokens: 3 })).toEqual(
      generate(subject.model, window, { maxNewTokens: 3 }),
    );
    const first = generate(subject.model, promptIds, { maxNewTokens: 1 })[0]!;
    expect(generate(subject.model, promptIds, { maxNewTokens: 5, stopTokenIds: [first] })).toEqual([first]);
  });

  it('pickToken samples in proportion to the probabilities sharpened by the temperature', () => {
    const logProbs = Float64Array.from([0.1, 0.6, 0.3], Math.log);
    const random = mulberry32(1);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[pickToken(logProbs, 1, random)]!++;
    expect(counts.map((c) => c / 20_000)).toEqual([
      expect.closeTo(0.1, 1),
      expect.closeTo(0.6, 1),
      expect.closeTo(0.3, 1),
    ]);
    expect(pickToken(logProbs, 0, random)).toBe(1);
  });
});

describe('autointerp steer', () => {
  async function steer(args: string[]): Promise<{ stdout: string; stderr: string }> {
    const program = new Command()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    registerSteerCommand(program);
    const out: string[] = [];
    const err: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
    try {
      await program.parseAsync(['node', 'autointerp', 'steer', '--backend', 'wasm', ...args]);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    return { stdout: out.join(''), stderr: err.join('') };
  }

  it('prints the continuation without and with a neuron clamp and the next-token tables', async () => {
    const { stdout } = await steer([
      '--feature',
      '42',
      '--value',
      '20',
      '--prompt',
      'The jury said',
      '--max-tokens',
      '5',
    ]);
    expect(stdout).toMatch(
      /^brown-1l: neuron blocks\.0\.mlp\.hook_post:42 clamped to 20 at every position; greedy, up to 5 tokens$/m,
    );
    expect(stdout).toMatch(/^without clamp: ".+"$/m);
    expect(stdout).toMatch(/^with clamp: {4}".+"$/m);
    expect(stdout).toMatch(/^next token after the prompt:$/m);
    expect(stdout).toMatch(/^tokens the feature promotes most/m);
  });

  it('steers an SAE latent from a SAELens folder (--json)', async () => {
    const loaded = randomSae(hook);
    saveSaeLens(join(scratch, 'sae'), loaded.config, loaded.weights);
    const { stdout } = await steer([
      '--feature',
      'sae:5',
      '--sae',
      join(scratch, 'sae'),
      '--value',
      '50',
      '--prompt',
      'The jury said',
      '--max-tokens',
      '4',
      '--json',
    ]);
    const result = JSON.parse(stdout) as SteerResult;
    expect(result.feature).toMatchObject({ kind: 'sae', hook, index: 5 });
    expect(result.generations.original.tokenIds).toHaveLength(4);
    expect(result.nextToken.clamped).toHaveLength(5);
    // The promoted tokens gain log-probability under a large positive clamp.
    for (const token of result.promoted!) expect(token.logProbClamped).toBeGreaterThan(token.logProbOriginal);
  });

  it('steers a latent of a sparsify folder (named by its module, h.0.mlp.act) as the same SAE in SAELens layout', async () => {
    // TopK with k = d_sae and no input scaling is the ReLU SAE: both folders hold one function.
    const { config, weights } = randomSae(hook);
    const same: SaeConfig = {
      ...config,
      architecture: 'topk',
      k: config.dSae,
      normalizeActivations: 'none',
      activationScale: undefined,
    };
    saveSaeLens(join(scratch, 'sae-topk'), same, weights);
    const folder = join(scratch, 'h.0.mlp.act');
    mkdirSync(folder);
    const encoder = new Float32Array(config.dSae * config.dIn);
    for (let latent = 0; latent < config.dSae; latent++)
      for (let j = 0; j < config.dIn; j++) encoder[latent * config.dIn + j] = weights.W_enc[j * config.dSae + latent]!;
    writeSafetensors(
      join(folder, 'sae.safetensors'),
      new Map([
        ['encoder.weight', { shape: [config.dSae, config.dIn], data: encoder }],
        ['encoder.bias', { shape: [config.dSae], data: weights.b_enc }],
        ['W_dec', { shape: [config.dSae, config.dIn], data: weights.W_dec }],
        ['b_dec', { shape: [config.dIn], data: weights.b_dec }],
      ]),
    );
    writeFileSync(
      join(folder, 'cfg.json'),
      JSON.stringify({ activation: 'topk', k: config.dSae, num_latents: config.dSae, d_in: config.dIn }),
    );
    const args = ['--feature', 'sae:5', '--value', '50', '--prompt', 'The jury said', '--max-tokens', '4', '--json'];
    const sparsify = await steer([...args, '--sae', folder]);
    expect(sparsify.stderr).toMatch(
      /hookpoint h\.0\.mlp\.act \(the folder name\) read as the hook point blocks\.0\.mlp\.hook_post/,
    );
    const fromSparsify = JSON.parse(sparsify.stdout) as SteerResult;
    const fromSaeLens = JSON.parse((await steer([...args, '--sae', join(scratch, 'sae-topk')])).stdout) as SteerResult;
    expect(fromSparsify.feature).toMatchObject({ kind: 'sae', hook, index: 5 });
    expect(fromSparsify.generations).toEqual(fromSaeLens.generations);
    expect(fromSparsify.nextToken.clamped.map((row) => row.id)).toEqual(
      fromSaeLens.nextToken.clamped.map((row) => row.id),
    );
  });

  it('rejects bad specs with one-line usage errors', async () => {
    const error = async (args: string[]) => {
      const failure = await steer(['--prompt', 'The', ...args]).then(
        () => null,
        (caught: unknown) => caught,
      );
      expect(failure).toBeInstanceOf(InputError); // one line, exit 2 (cli/errors.ts)
      expect((failure as Error).message).not.toContain('\n');
      return (failure as Error).message;
    };
    expect(await error(['--feature', 'foo', '--value', '1'])).toMatch(/^--feature: expected neuron:<hook>:<index>/);
    expect(await error(['--feature', '512', '--value', '1'])).toBe(
      'neuron index 512 is outside [0, 512) at blocks.0.mlp.hook_post',
    );
    expect(await error(['--feature', 'neuron:blocks.0.mlp.post:1', '--value', '1'])).toMatch(
      /^unknown hook "blocks\.0\.mlp\.post"/,
    );
    expect(await error(['--feature', 'sae:1', '--value', '1'])).toMatch(/needs --sae/);
    expect(await error(['--feature', '1', '--value', 'x'])).toBe('--value: expected a number, got "x"');
    const wrongHook = randomSae('blocks.2.mlp.hook_post');
    saveSaeLens(join(scratch, 'sae-wrong-hook'), wrongHook.config, wrongHook.weights);
    expect(await error(['--feature', 'sae:1', '--sae', join(scratch, 'sae-wrong-hook'), '--value', '1'])).toMatch(
      /^the SAE reads hook "blocks\.2\.mlp\.hook_post", which this model does not have/,
    );
    await expect(steer(['--feature', '1', '--prompt', 'The'])).rejects.toThrow(
      /required option '--value <number>' not specified/,
    );
  });

  it('parses feature specs', () => {
    expect(parseFeatureSpec('7')).toEqual({ kind: 'neuron', hook: null, index: 7 });
    expect(parseFeatureSpec('neuron:blocks.0.hook_resid_post:3')).toEqual({
      kind: 'neuron',
      hook: 'blocks.0.hook_resid_post',
      index: 3,
    });
    expect(parseFeatureSpec('sae:12')).toEqual({ kind: 'sae', index: 12 });
    expect(() => parseFeatureSpec('neuron:3')).toThrow(UsageError);
  });
});
