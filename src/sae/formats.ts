/**
 * @module sae/formats — SAE files: save and load the SAELens layout, load the sparsify (EleutherAI) layout.
 *
 * SAELens folder (checked against SAELens 6.x `SAE.save_model` / `load_from_disk`):
 * - `cfg.json`: `architecture` (`standard` | `topk`), `d_in`, `d_sae`, `dtype`, `device`, `apply_b_dec_to_input`,
 *   `normalize_activations`, `reshape_activations`, for topk `k` and `rescale_acts_by_decoder_norm`, and
 *   `metadata` with `model_name` and `hook_name`. We also write `model_name` and `hook_name` at the top level: SAELens 6
 *   reads a cfg without `metadata.sae_lens_version` through its pre-6.0 converter, which rebuilds `metadata` from those
 *   top-level keys (we do not claim a SAELens version we are not).
 * - `sae_weights.safetensors`: `W_enc` [d_in, d_sae], `b_enc` [d_sae], `W_dec` [d_sae, d_in], `b_dec` [d_in].
 * - `sparsity.safetensors` (optional): `sparsity` [d_sae] = log10(feature density + 1e-10), as SAELens's trainer.
 *
 * SAELens's inference SAE does not rescale inputs for `expected_average_only_in`: its trainer folds the scaling factor
 * into the weights at the end and writes `none` (`fold_activation_norm_scaling_factor`). We do the same on save, so a
 * normalized SAE is written with W_enc·s, W_dec/s, b_dec/s and `normalize_activations: "none"` (same function, float
 * rounding aside). Loading a cfg that still says `expected_average_only_in` keeps the flag with no scale (what SAELens
 * does unless its pretrained-SAE table supplies the factor) and says so in `warnings`; pass `activationScale` to set it.
 * Older cfgs are read too: `hook_point` for `hook_name`, top-level `model_name`/`hook_name`, boolean
 * `normalize_activations`, `activation_fn_str: "topk"` with `activation_fn_kwargs.k`. TopK SAEs saved with
 * `rescale_acts_by_decoder_norm: true` are folded on load (as SAELens's `_fold_norm_topk`), which leaves encode and
 * decode unchanged.
 *
 * sparsify folder (EleutherAI/sparsify `SparseCoder.save_to_disk`): `cfg.json` with `d_in`, `k`, `num_latents`
 * (0 → `expansion_factor`·d_in), `activation` (`topk`), `transcode`, `skip_connection`, …; `sae.safetensors` with
 * `encoder.weight` [d_sae, d_in], `encoder.bias` [d_sae], `W_dec` [d_sae, d_in], `b_dec` [d_in]. Its encoder is
 * TopK(ReLU((x − b_dec)·encoder.weightᵀ + encoder.bias)), its decoder top_acts·W_dec + b_dec: a `topk` SAE with
 * W_enc = encoder.weightᵀ and `apply_b_dec_to_input` true. Its hookpoint is the folder's name, a Hugging Face module
 * (`h.0.mlp`), read as the TransformerLens hook point of that module's output (sae/hookpoint-names).
 *
 * Tensors the loader does not read are never passed over in silence: one that changes what the SAE computes is refused
 * (a non-zero JumpReLU `threshold` or a `log_threshold` in a file whose cfg is not JumpReLU, a `scaling_factor` that is
 * not all ones, sparsify's `W_skip`); any other is named in `warnings`. `loadSaeFolder` reads either layout.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { readSafetensors, writeSafetensors, type SafetensorsFile, type TensorToWrite } from '../common/safetensors.ts';
import { hookPointOfModule } from './hookpoint-names.ts';
import { logFeatureSparsity } from './metrics.ts';
import { FileFormatError } from '../records/errors.ts';
import {
  activationNormalizations,
  effectiveActivationScale,
  saeWeightShapes,
  validateSaeConfig,
  type ActivationNormalization,
  type SaeConfig,
  type SaeWeights,
} from './types.ts';
import { InputError } from '../common/errors.ts';

export const saeLensFiles = {
  config: 'cfg.json',
  weights: 'sae_weights.safetensors',
  sparsity: 'sparsity.safetensors',
} as const;
export const sparsifyFiles = { config: 'cfg.json', weights: 'sae.safetensors' } as const;

/** A bad SAE file; `location` is the tensor or cfg key, null when the whole file is at fault. */
export class SaeFormatError extends FileFormatError {
  override readonly name = 'SaeFormatError';
}

export interface LoadedSae {
  config: SaeConfig;
  weights: SaeWeights;
  /** SAELens `sparsity.safetensors` (log10 density per latent), when the folder has one. */
  logSparsity: Float32Array | null;
  /** What was adapted on load (folded norms, a missing scaling factor, …). */
  warnings: string[];
}

export interface SaveSaeLensOptions {
  /** Weight dtype (default F32; F16 rounds to nearest even, so only F32 reconstructs bit-identically). */
  dtype?: 'F32' | 'F16';
  /** Per-latent density (fraction of tokens fired on) for `sparsity.safetensors`; or give `logSparsity` directly. */
  featureDensity?: ArrayLike<number>;
  logSparsity?: Float32Array;
  /** Extra `metadata` entries (JSON values), e.g. training details. */
  metadata?: Record<string, unknown>;
}

/**
 * The same SAE without activation normalization: W_enc·s, W_dec/s, b_dec/s (exact up to float rounding), config
 * `normalize_activations: "none"`. Returns the inputs unchanged when the scale is 1.
 */
export function foldActivationScale(
  config: SaeConfig,
  weights: SaeWeights,
): { config: SaeConfig; weights: SaeWeights } {
  const scale = effectiveActivationScale(config);
  const { activationScale: _dropped, ...rest } = config;
  const folded: SaeConfig = { ...rest, normalizeActivations: 'none' };
  if (scale === 1) return { config: config.normalizeActivations === 'none' ? config : folded, weights };
  return {
    config: folded,
    weights: {
      W_enc: Float32Array.from(weights.W_enc, (value) => value * scale),
      b_enc: weights.b_enc,
      W_dec: Float32Array.from(weights.W_dec, (value) => value / scale),
      b_dec: Float32Array.from(weights.b_dec, (value) => value / scale),
    },
  };
}

/** Writes an SAE as a SAELens folder (created if needed); a normalized SAE is folded first (see the module comment). */
export function saveSaeLens(
  directory: string,
  config: SaeConfig,
  weights: SaeWeights,
  options: SaveSaeLensOptions = {},
): void {
  validateSaeConfig(config);
  const folded = foldActivationScale(config, weights);
  const shapes = saeWeightShapes(config);
  mkdirSync(directory, { recursive: true });
  const tensors = new Map<string, TensorToWrite>();
  for (const name of ['W_enc', 'b_enc', 'W_dec', 'b_dec'] as const)
    tensors.set(name, { shape: shapes[name], data: folded.weights[name] });
  const dtype = options.dtype ?? 'F32';
  writeSafetensors(join(directory, saeLensFiles.weights), tensors, { dtype });
  const { config: c } = folded;
  const cfg: Record<string, unknown> = {
    architecture: c.architecture,
    d_in: c.dIn,
    d_sae: c.dSae,
    dtype: dtype === 'F32' ? 'float32' : 'float16',
    device: 'cpu',
    apply_b_dec_to_input: c.applyBDecToInput,
    normalize_activations: c.normalizeActivations,
    reshape_activations: 'none',
    ...(c.architecture === 'topk' ? { k: c.k, rescale_acts_by_decoder_norm: false } : {}),
    ...(c.l1Coefficient !== undefined && c.architecture === 'standard' ? { l1_coefficient: c.l1Coefficient } : {}),
    model_name: c.modelName,
    hook_name: c.hookName,
    metadata: { ...(options.metadata ?? {}), model_name: c.modelName, hook_name: c.hookName },
  };
  writeFileSync(join(directory, saeLensFiles.config), `${JSON.stringify(cfg, null, 2)}\n`);
  const sparsity = options.logSparsity ?? (options.featureDensity ? logFeatureSparsity(options.featureDensity) : null);
  if (sparsity) {
    if (sparsity.length !== c.dSae) throw new InputError(`sparsity has ${sparsity.length} values, d_sae is ${c.dSae}`);
    writeSafetensors(
      join(directory, saeLensFiles.sparsity),
      new Map([['sparsity', { shape: [c.dSae], data: sparsity }]]),
    );
  }
}

export interface LoadSaeOptions {
  /** Activation scale for a cfg that says `expected_average_only_in` without folded weights. */
  activationScale?: number;
  /** Overrides of what the cfg says (sparsify cfgs have neither). Defaults for sparsify: the folder name, "unknown". */
  hookName?: string;
  modelName?: string;
}

/** Reads a SAELens folder (see the module comment for the cfg versions accepted). */
export function loadSaeLens(directory: string, options: LoadSaeOptions = {}): LoadedSae {
  const cfgFile = join(directory, saeLensFiles.config);
  const cfg = readJsonObject(cfgFile);
  const warnings: string[] = [];
  const metadata = isObject(cfg.metadata) ? cfg.metadata : {};
  const activationName = stringOr(cfg.activation_fn ?? cfg.activation_fn_str);
  let architecture = cfg.architecture === undefined ? 'standard' : cfg.architecture;
  let k: number | undefined;
  if (architecture === 'standard' && activationName === 'topk') architecture = 'topk';
  if (architecture !== 'standard' && architecture !== 'topk') {
    throw new SaeFormatError(
      cfgFile,
      'architecture',
      `unsupported architecture ${JSON.stringify(architecture)} (supported: standard, topk)`,
    );
  }
  if (architecture === 'topk') {
    const kwargs = isObject(cfg.activation_fn_kwargs) ? cfg.activation_fn_kwargs : {};
    const value = cfg.k ?? kwargs.k;
    if (!(typeof value === 'number' && Number.isInteger(value) && value > 0))
      throw new SaeFormatError(cfgFile, 'k', `a topk SAE needs k, a positive integer; got ${JSON.stringify(value)}`);
    k = value;
  }
  if (cfg.finetuning_scaling_factor === true)
    throw new SaeFormatError(cfgFile, 'finetuning_scaling_factor', 'finetuning scaling factors are not supported');
  const normalizeRaw = cfg.normalize_activations;
  const normalize: unknown =
    typeof normalizeRaw === 'boolean' ? (normalizeRaw ? 'expected_average_only_in' : 'none') : (normalizeRaw ?? 'none');
  if (!activationNormalizations.includes(normalize as ActivationNormalization)) {
    throw new SaeFormatError(
      cfgFile,
      'normalize_activations',
      `unsupported value ${JSON.stringify(normalize)} (supported: ${activationNormalizations.join(', ')})`,
    );
  }
  if (cfg.reshape_activations !== undefined && cfg.reshape_activations !== 'none') {
    throw new SaeFormatError(
      cfgFile,
      'reshape_activations',
      `unsupported value ${JSON.stringify(cfg.reshape_activations)} (supported: none)`,
    );
  }
  const applyBDec = cfg.apply_b_dec_to_input ?? true;
  if (typeof applyBDec !== 'boolean')
    throw new SaeFormatError(
      cfgFile,
      'apply_b_dec_to_input',
      `must be true or false, got ${JSON.stringify(applyBDec)}`,
    );
  const hookName = options.hookName ?? stringOr(metadata.hook_name ?? cfg.hook_name ?? cfg.hook_point);
  const modelName = options.modelName ?? stringOr(metadata.model_name ?? cfg.model_name);
  if (hookName === undefined)
    throw new SaeFormatError(cfgFile, 'metadata.hook_name', 'missing (give hookName to load anyway)');
  const config: SaeConfig = {
    dIn: positiveInteger(cfg.d_in, cfgFile, 'd_in'),
    dSae: positiveInteger(cfg.d_sae, cfgFile, 'd_sae'),
    architecture,
    ...(k !== undefined ? { k } : {}),
    ...(typeof cfg.l1_coefficient === 'number' ? { l1Coefficient: cfg.l1_coefficient } : {}),
    applyBDecToInput: applyBDec,
    normalizeActivations: normalize as ActivationNormalization,
    hookName,
    modelName: modelName ?? 'unknown',
  };
  if (config.normalizeActivations === 'expected_average_only_in') {
    if (options.activationScale !== undefined) config.activationScale = options.activationScale;
    else
      warnings.push(
        'normalize_activations is expected_average_only_in but no scaling factor is stored: inputs are used unscaled (as SAELens does without its pretrained-SAE table)',
      );
  }
  checkConfig(config, cfgFile);
  const weightsFile = join(directory, saeLensFiles.weights);
  const file = readSafetensors(weightsFile);
  const shapes = saeWeightShapes(config);
  const weights: SaeWeights = {
    W_enc: tensorOf(file, weightsFile, 'W_enc', shapes.W_enc),
    b_enc: tensorOf(file, weightsFile, 'b_enc', shapes.b_enc),
    W_dec: tensorOf(file, weightsFile, 'W_dec', shapes.W_dec),
    b_dec: tensorOf(file, weightsFile, 'b_dec', shapes.b_dec),
  };
  checkUnreadTensors(file, weightsFile, ['W_enc', 'b_enc', 'W_dec', 'b_dec'], architecture, warnings);
  if (architecture === 'topk' && cfg.rescale_acts_by_decoder_norm === true) {
    foldDecoderNorms(config, weights);
    warnings.push('rescale_acts_by_decoder_norm: decoder norms folded into the encoder (encode/decode unchanged)');
  }
  let logSparsity: Float32Array | null = null;
  const sparsityFile = join(directory, saeLensFiles.sparsity);
  if (existsSync(sparsityFile))
    logSparsity = tensorOf(readSafetensors(sparsityFile), sparsityFile, 'sparsity', [config.dSae]);
  return { config, weights, logSparsity, warnings };
}

/** Reads a sparsify folder (one hookpoint's `cfg.json` + `sae.safetensors`) as a `topk` SAE. */
export function loadSparsify(directory: string, options: LoadSaeOptions = {}): LoadedSae {
  const cfgFile = join(directory, sparsifyFiles.config);
  const cfg = readJsonObject(cfgFile);
  const dIn = positiveInteger(cfg.d_in, cfgFile, 'd_in');
  const activation = cfg.activation ?? 'topk';
  if (activation !== 'topk')
    throw new SaeFormatError(
      cfgFile,
      'activation',
      `unsupported activation ${JSON.stringify(activation)} (supported: topk)`,
    );
  if (cfg.transcode === true)
    throw new SaeFormatError(cfgFile, 'transcode', 'transcoders are not supported (an SAE reconstructs its own input)');
  if (cfg.skip_connection === true)
    throw new SaeFormatError(cfgFile, 'skip_connection', 'skip connections (W_skip) are not supported');
  const k = positiveInteger(cfg.k, cfgFile, 'k');
  const numLatents = cfg.num_latents ?? 0;
  let dSae: number;
  if (typeof numLatents === 'number' && Number.isInteger(numLatents) && numLatents > 0) dSae = numLatents;
  else if (numLatents === 0) dSae = dIn * positiveInteger(cfg.expansion_factor, cfgFile, 'expansion_factor');
  else
    throw new SaeFormatError(
      cfgFile,
      'num_latents',
      `must be a non-negative integer, got ${JSON.stringify(numLatents)}`,
    );
  const warnings: string[] = [];
  let hookName = options.hookName;
  if (hookName === undefined) {
    const moduleName = basename(resolve(directory));
    hookName = hookPointOfModule(moduleName) ?? moduleName;
    if (hookName !== moduleName)
      warnings.push(`hookpoint ${moduleName} (the folder name) read as the hook point ${hookName}`);
  }
  const config: SaeConfig = {
    dIn,
    dSae,
    architecture: 'topk',
    k,
    applyBDecToInput: true,
    normalizeActivations: 'none',
    hookName,
    modelName: options.modelName ?? 'unknown',
  };
  checkConfig(config, cfgFile);
  const weightsFile = join(directory, sparsifyFiles.weights);
  const file = readSafetensors(weightsFile);
  const encoder = tensorOf(file, weightsFile, 'encoder.weight', [dSae, dIn]);
  const W_enc = new Float32Array(dIn * dSae);
  for (let latent = 0; latent < dSae; latent++)
    for (let j = 0; j < dIn; j++) W_enc[j * dSae + latent] = encoder[latent * dIn + j]!;
  const weights: SaeWeights = {
    W_enc,
    b_enc: tensorOf(file, weightsFile, 'encoder.bias', [dSae]),
    W_dec: tensorOf(file, weightsFile, 'W_dec', [dSae, dIn]),
    b_dec: tensorOf(file, weightsFile, 'b_dec', [dIn]),
  };
  checkUnreadTensors(file, weightsFile, ['encoder.weight', 'encoder.bias', 'W_dec', 'b_dec'], 'topk', warnings);
  return { config, weights, logSparsity: null, warnings };
}

/**
 * Reads an SAE folder in either layout: SAELens when it holds `sae_weights.safetensors`, sparsify when it holds
 * `sae.safetensors`; a folder with neither is refused, naming both.
 */
export function loadSaeFolder(directory: string, options: LoadSaeOptions = {}): LoadedSae {
  if (existsSync(join(directory, saeLensFiles.weights))) return loadSaeLens(directory, options);
  if (existsSync(join(directory, sparsifyFiles.weights))) return loadSparsify(directory, options);
  throw new SaeFormatError(
    directory,
    null,
    existsSync(directory)
      ? `not an SAE folder: neither ${saeLensFiles.weights} (SAELens) nor ${sparsifyFiles.weights} (sparsify) is there`
      : 'no such folder',
  );
}

/** True when every value of the array is `value`. */
function allEqual(data: ArrayLike<number>, value: number): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== value) return false;
  return true;
}

/**
 * Refuses the tensors of a weights file that the loader does not read but that change what the SAE computes; names
 * the others in a warning (see the module comment).
 */
function checkUnreadTensors(
  file: SafetensorsFile,
  path: string,
  read: readonly string[],
  architecture: string,
  warnings: string[],
): void {
  const ignored: string[] = [];
  for (const [name, tensor] of file.tensors) {
    if (read.includes(name)) continue;
    // A zero threshold is ReLU itself; a log-threshold always means a positive one.
    if ((name === 'threshold' && !allEqual(tensor.data, 0)) || name === 'log_threshold') {
      throw new SaeFormatError(
        path,
        name,
        `a JumpReLU threshold, but the cfg says architecture ${architecture}: JumpReLU SAEs are not supported (read as ${architecture}, every activation would change)`,
      );
    }
    if (name === 'scaling_factor' && !allEqual(tensor.data, 1)) {
      throw new SaeFormatError(
        path,
        name,
        'a per-latent scaling factor that is not all ones: scaled decoding is not supported (ignored, every reconstruction would change)',
      );
    }
    if (name === 'W_skip')
      throw new SaeFormatError(
        path,
        name,
        'a skip connection: skip connections are not supported (ignored, every reconstruction would change)',
      );
    if (name !== 'threshold' && name !== 'scaling_factor') ignored.push(name);
  }
  if (ignored.length > 0) warnings.push(`${basename(path)}: tensors not read: ${ignored.join(', ')}`);
}

/** Divides each decoder row by its norm and multiplies the encoder column and bias by it (SAELens `_fold_norm_topk`). */
function foldDecoderNorms(config: SaeConfig, weights: SaeWeights): void {
  const { dIn, dSae } = config;
  for (let latent = 0; latent < dSae; latent++) {
    let sum = 0;
    for (let j = 0; j < dIn; j++) sum += weights.W_dec[latent * dIn + j]! ** 2;
    const norm = Math.max(Math.sqrt(sum), 1e-8);
    for (let j = 0; j < dIn; j++) {
      weights.W_dec[latent * dIn + j]! /= norm;
      weights.W_enc[j * dSae + latent]! *= norm;
    }
    weights.b_enc[latent]! *= norm;
  }
}

function tensorOf(file: SafetensorsFile, path: string, name: string, shape: number[]): Float32Array {
  const tensor = file.tensors.get(name);
  if (!tensor)
    throw new SaeFormatError(path, name, `tensor missing (present: ${[...file.tensors.keys()].join(', ') || 'none'})`);
  if (tensor.shape.length !== shape.length || tensor.shape.some((size, i) => size !== shape[i])) {
    throw new SaeFormatError(path, name, `shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
  if (!(tensor.data instanceof Float32Array))
    throw new SaeFormatError(path, name, `dtype ${tensor.dtype} is not a float type`);
  return tensor.data;
}

function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SaeFormatError(
      file,
      null,
      `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SaeFormatError(file, null, `not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (!isObject(value)) throw new SaeFormatError(file, null, 'not a JSON object');
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function positiveInteger(value: unknown, file: string, key: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw new SaeFormatError(file, key, `must be a positive integer, got ${JSON.stringify(value)}`);
}

function checkConfig(config: SaeConfig, file: string): void {
  try {
    validateSaeConfig(config);
  } catch (error) {
    throw new SaeFormatError(file, null, (error as Error).message, { cause: error });
  }
}
