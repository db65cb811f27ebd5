/**
 * @module subject/feature-ablation — the forward passes behind the ablation score (score/ablation.ts, docs/DESIGN.md §4):
 * for each record, the subject model runs on `contextIds ++ tokenIds` three times — original; the feature set to the
 * calibrated simulated activations at the window positions; set to its mean there — and the Jensen–Shannon
 * divergence JSD(p_orig, p_patched) of the next-token distributions is taken at every window position.
 * `ablation = 1 − E[JSD(orig, sim)] / E[JSD(orig, mean)]`, positions of all records pooled.
 *
 * Setting feature i of activation x to a' (x [B, T, width] at the feature's hook point):
 * - neuron: `x' = x + (a' − x_i)·e_i` (coordinate i replaced, the others untouched);
 * - SAE latent: `x' = x + (a' − f_i(x))·W_dec[i] / s` with f = the SAE's encoding of x and s its activation scale,
 *   which changes the reconstruction x̂ by exactly the decoder's share of the new value and keeps the SAE's error
 *   x − x̂ (the model sees its real activation everywhere except along the feature).
 * Context positions are never patched; a window position where a' equals the feature's value is left exactly as is,
 * so a perfect simulation scores 1.
 *
 * Records of equal total length run together, as many rows per forward pass as keep the logits at or below
 * `maxLogitsPerBatch` floats (at least one row). The three passes are one (Gpt2Model.forwardBranchesNormalized):
 * what comes before the hook runs once, the pass branches there, and only the window positions reach the final layer
 * norm (context positions are never scored); of those, only the rows where a patched branch differs from the original
 * reach the unembedding, the log-softmax and the JSD. Every operation treats rows independently, so the JSDs are those
 * of three full passes bit for bit (checked on the wasm and cpu backends: `ablationJsdPerRecordThreePasses`, the
 * earlier way, kept as the reference: test/subject/forward-branches.test.ts, bench/ablation-passes.ts). A patched
 * branch's row that equals the original's at the final layer norm (a window position where a' is the feature's own
 * value and nothing after the hook mixes positions: 37 % of the demo's) has a JSD of exactly 0: it is found on the
 * backend (`changedRows`) and neither unembedded nor log-softmaxed nor compared (`branchJsds`; the same floats bit for
 * bit, ~1.1–1.15× less CPU at the demo's share). The one difference: an equal row holding ±Inf at the final layer norm
 * gets that exact 0 where three passes would give NaN (Inf − Inf in the log-softmax). The
 * JSDs are computed on the backend in float32 by a form that keeps full relative precision however small they are
 * (`jensenShannonRows`; identical distributions give exactly 0), and only one number per window position comes back:
 * reading [positions × V] logits back and taking the JSDs on the host cost ~10× more. The sums over positions are
 * float64, on the host: score/feature-ablation.ts runs these passes and pools them into the score (score/ablation.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { hookWidth, type Gpt2Model } from './gpt2-model.ts';

/**
 * What feature ablation and steering need of an SAE (sae/sae-model.ts's SparseAutoencoder is one): declared here so
 * that subject/ does not import sae/ (sae/ builds on subject/, docs/DESIGN.md §2).
 */
export interface FeatureDictionary {
  readonly config: { readonly hookName: string };
  /** Width of the activation it reads. */
  readonly dIn: number;
  /** Number of latents. */
  readonly dSae: number;
  /** Activation scale s: the SAE reads x·s. */
  readonly scale: number;
  /** The given latents of each row of x [rows, dIn]: [rows, indices.length]. */
  encodeLatents(x: tf.Tensor2D, indices: readonly number[]): tf.Tensor2D;
  /** Row `index` of the decoder, dIn values. */
  decoderRow(index: number): Float32Array;
}

/** The feature to replace: an activation coordinate at a hook point, or a latent of an SAE (at `sae.config.hookName`). */
export type FeatureTarget =
  | { kind: 'neuron'; hook: string; index: number }
  | { kind: 'sae'; sae: FeatureDictionary; index: number };

/** One window to score, with the tokens the model saw before it in the same sequence. */
export interface AblationRecord {
  /** Token ids before the window (possibly empty); run, never patched, never scored. */
  contextIds: readonly number[];
  /** The window's token ids; the feature is replaced and the JSD taken at each of them. */
  tokenIds: readonly number[];
  /**
   * One simulated value per token id, raw units (already calibrated), and the feature's mean: score/ablation.ts's
   * AblationReplacement.
   */
  replacement: { simulated: readonly number[]; mean: number };
}

export interface AblationPassOptions {
  /**
   * Rows per batch: rows × length × vocabulary at most this (at least one row), default 2²² (16 MB of floats); bounds
   * memory, each of the three branches' logits being at most that big.
   */
  maxLogitsPerBatch?: number;
  /** Called after each batch with the records done. */
  onProgress?: (done: number, total: number) => void;
}

/** One record's JSD(orig, sim) and JSD(orig, mean) at each window position, nats. */
export interface RecordJsd {
  jsdSimulated: number[];
  jsdMean: number[];
}

const defaultMaxLogitsPerBatch = 1 << 22;
/** Sequences per forward pass when capturing activations (no logits are computed). */
const captureRows = 64;

/** The hook point a target lives at. */
export function targetHook(target: FeatureTarget): string {
  return target.kind === 'neuron' ? target.hook : target.sae.config.hookName;
}

function checkTarget(model: Gpt2Model, target: FeatureTarget): string {
  const hook = targetHook(target);
  model.checkHookNames([hook]);
  const width = hookWidth(model.config, hook);
  if (width === null) throw new RangeError(`feature ablation: ${hook} is an attention pattern, not an activation`);
  const size = target.kind === 'neuron' ? width : target.sae.dSae;
  if (!(Number.isInteger(target.index) && target.index >= 0 && target.index < size)) {
    throw new RangeError(`feature ablation: index ${target.index} outside [0, ${size}) at ${hook}`);
  }
  if (target.kind === 'sae' && target.sae.dIn !== width) {
    throw new RangeError(`feature ablation: the SAE reads ${target.sae.dIn} values but ${hook} has ${width}`);
  }
  return hook;
}

/** The feature's activation [B, T, 1] in an activation x [B, T, width] at its hook point. */
export function featureActivationOf(activation: tf.Tensor3D, target: FeatureTarget): tf.Tensor3D {
  const [rows, length, width] = activation.shape;
  if (target.kind === 'neuron') return tf.slice(activation, [0, 0, target.index], [rows, length, 1]);
  return tf.tidy(() =>
    tf.reshape(target.sae.encodeLatents(tf.reshape(activation, [rows * length, width]), [target.index]), [
      rows,
      length,
      1,
    ]),
  );
}

/** The change of x per unit of the feature, [1, width]: e_i for a neuron, W_dec[i] / s for an SAE latent. */
function featureDirection(target: FeatureTarget, width: number): tf.Tensor2D {
  if (target.kind === 'neuron') {
    const unit = new Float32Array(width);
    unit[target.index] = 1;
    return tf.tensor2d(unit, [1, width]);
  }
  return tf.tidy(() => tf.div(tf.tensor2d(target.sae.decoderRow(target.index), [1, width]), target.sae.scale));
}

/**
 * x' with the feature set to `values` [B, T, 1] where `mask` [B, T, 1] is 1 (see the module comment); x elsewhere.
 */
export function replaceFeature(
  activation: tf.Tensor3D,
  target: FeatureTarget,
  values: tf.Tensor3D,
  mask: tf.Tensor3D,
): tf.Tensor3D {
  return tf.tidy(() => {
    const delta = tf.mul(tf.sub(values, featureActivationOf(activation, target)), mask);
    return tf.add(activation, tf.mul(delta, featureDirection(target, activation.shape[2])));
  });
}

/** Indices of `items` grouped by equal `lengthOf`, each group cut into chunks of at most `rowsFor(length)`. */
function batchesByLength<T>(
  items: readonly T[],
  lengthOf: (item: T) => number,
  rowsFor: (length: number) => number,
): { length: number; indices: number[] }[] {
  const groups = new Map<number, number[]>();
  items.forEach((item, index) => {
    const length = lengthOf(item);
    const group = groups.get(length) ?? [];
    group.push(index);
    groups.set(length, group);
  });
  const batches: { length: number; indices: number[] }[] = [];
  for (const [length, indices] of groups) {
    const rows = rowsFor(length);
    for (let first = 0; first < indices.length; first += rows)
      batches.push({ length, indices: indices.slice(first, first + rows) });
  }
  return batches;
}

/** The feature's activation at every token of each sequence (as the patch computes it), raw units. */
export function featureActivations(
  model: Gpt2Model,
  target: FeatureTarget,
  sequences: readonly (readonly number[])[],
): number[][] {
  const hook = checkTarget(model, target);
  const out: number[][] = new Array(sequences.length);
  for (const { length, indices } of batchesByLength(
    sequences,
    (s) => s.length,
    () => captureRows,
  )) {
    const ids = indices.map((index) => sequences[index]!);
    const captured = tf.tidy(() => {
      const box: { value?: tf.Tensor3D } = {};
      model.forward(ids, undefined, {
        hooks: {
          [hook]: (activation) => {
            box.value = featureActivationOf(activation as tf.Tensor3D, target);
          },
        },
        stopAt: hook,
      });
      return box.value!;
    });
    const data = captured.dataSync();
    captured.dispose();
    indices.forEach((index, row) => {
      out[index] = Array.from(data.subarray(row * length, (row + 1) * length));
    });
  }
  return out;
}

function checkRecord(record: AblationRecord, index: number, nPositions: number): void {
  const where = `feature ablation: record ${index}`;
  if (record.tokenIds.length === 0) throw new RangeError(`${where} has no window tokens`);
  if (record.replacement.simulated.length !== record.tokenIds.length) {
    throw new RangeError(
      `${where} has ${record.tokenIds.length} tokens but ${record.replacement.simulated.length} simulated values`,
    );
  }
  if (!record.replacement.simulated.every(Number.isFinite) || !Number.isFinite(record.replacement.mean)) {
    throw new RangeError(`${where} has a non-finite replacement value`);
  }
  const length = record.contextIds.length + record.tokenIds.length;
  if (length > nPositions)
    throw new RangeError(`${where} has ${length} tokens with its context; the model's context is ${nPositions}`);
}

/** Below this gap δ between two log-probabilities an entry's JSD term comes from the series, above from the closed form. */
const seriesBelowGap = 0.5;
/** Coefficients 1/(k(2k − 1)) of φ(t) = Σ_k t^{2k}/(k(2k − 1)), k = 1…6 (the 7th term is < 1e-8 of φ at the switch). */
const seriesCoefficients = [1, 2, 3, 4, 5, 6].map((k) => 1 / (k * (2 * k - 1)));
/** Gaps are clipped here: e^−80 is a normal float32, so a −∞ log-probability gives ln 2 and not 0·∞ = NaN. */
const maxGap = 80;

/**
 * JSD (nats) between the rows of two log-probability matrices [N, V], per row [N], on the backend in float32.
 *
 * Per entry, with p ≥ q the two probabilities, δ = ln p − ln q, m = (p + q)/2 and t = (p − q)/(p + q) = tanh(δ/2):
 * `p·ln(p/m) + q·ln(q/m) = m·φ(t)` with `φ(t) = (1 + t)·ln(1 + t) + (1 − t)·ln(1 − t) = Σ_k t^{2k}/(k(2k − 1))`, so
 * `JSD = ¼·Σ_v 2m_v·φ(t_v)`. For δ < 0.5, φ comes from its series (positive terms, no cancellation); above, from the
 * closed form `φ = 2 ln 2 − 2·log(1 + e^−δ) − 2δ·e^−δ/(1 + e^−δ)`. The closed form alone (the earlier code) loses
 * everything to float32 cancellation when δ is small: ln 2 − log(1 + e^−δ) ≈ δ/2 carries an absolute error of
 * ~6e-8, against a term of δ²/8, so rows whose JSD is below ~1e-7 nats came out wrong by tens of percent (issue 13:
 * an ablation score of 0.584 for an exact 0.696); wasm's Log1p is log(1 + x), which rules out log1p-based fixes.
 * Now each row's JSD is within a few 1e-6 of the float64 value on the same inputs, at every size; every term is
 * ≥ 0, so the float32 sum over the vocabulary loses no more than its rounding. Entries with δ = 0 contribute exactly
 * 0 (equal rows give exactly 0).
 */
export function jensenShannonRows(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const gap = tf.minimum(tf.abs(tf.sub(a, b)), maxGap);
    const ratio = tf.exp(tf.neg(gap));
    const onePlusRatio = tf.add(1, ratio);
    const twiceMidpoint = tf.mul(tf.exp(tf.maximum(a, b)), onePlusRatio);
    const tSquared = tf.square(tf.tanh(tf.div(gap, 2)));
    let series: tf.Tensor = tf.mul(tSquared, seriesCoefficients.at(-1)!);
    for (const coefficient of seriesCoefficients.slice(0, -1).reverse())
      series = tf.mul(tSquared, tf.add(coefficient, series));
    const closed = tf.sub(
      tf.sub(2 * Math.LN2, tf.mul(2, tf.log1p(ratio))),
      tf.div(tf.mul(tf.mul(2, ratio), gap), onePlusRatio),
    );
    const phi = tf.where(tf.less(gap, seriesBelowGap), series, closed);
    return tf.div(tf.sum(tf.mul(twiceMidpoint, phi), 1), 4) as tf.Tensor1D;
  });
}

/** One batch's inputs laid out as [rows, length] (flat), and the flat positions of its windows, in window order. */
interface BatchLayout {
  ids: Int32Array;
  mask: Float32Array;
  simulated: Float32Array;
  mean: Float32Array;
  windowRows: Int32Array;
}

function batchLayout(part: readonly AblationRecord[], length: number): BatchLayout {
  const rows = part.length;
  const ids = new Int32Array(rows * length);
  const mask = new Float32Array(rows * length);
  const simulated = new Float32Array(rows * length);
  const mean = new Float32Array(rows * length);
  const windowRows: number[] = [];
  part.forEach((record, row) => {
    const start = row * length + record.contextIds.length;
    ids.set(record.contextIds, row * length);
    ids.set(record.tokenIds, start);
    record.tokenIds.forEach((_, t) => {
      mask[start + t] = 1;
      simulated[start + t] = record.replacement.simulated[t]!;
      mean[start + t] = record.replacement.mean;
      windowRows.push(start + t);
    });
  });
  return { ids, mask, simulated, mean, windowRows: Int32Array.from(windowRows) };
}

/** Per window row of one batch, JSD(orig, simulated) and JSD(orig, mean), in window order. */
interface BatchJsd {
  withSimulated: Float32Array;
  withMean: Float32Array;
}

/**
 * Indices of the rows of `branch` [N, d] that differ from those of `original` in some entry (a NaN differs from
 * everything), ascending. A row equal to the original's gives the same logits and log-probabilities (every operation
 * after the final layer norm treats rows independently), hence a JSD of exactly 0. An equal row holding ±Inf (Inf
 * equals Inf) counts as unchanged too: its JSD is then that exact 0, where three full passes would give NaN (its
 * log-softmax is NaN); it takes an Inf at the final layer norm's output, which finite weights and activations never give.
 */
export function changedRows(original: tf.Tensor2D, branch: tf.Tensor2D): Int32Array {
  const differs = tf.tidy(() => tf.any(tf.notEqual(original, branch), 1));
  const flags = differs.dataSync();
  differs.dispose();
  const changed: number[] = [];
  flags.forEach((flag, row) => {
    if (flag) changed.push(row);
  });
  return Int32Array.from(changed);
}

/** Log-probabilities [N, V] of final-layer-norm rows [N, d]. */
function logProbabilities(model: Gpt2Model, normalized: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.logSoftmax(model.unembed(normalized)) as tf.Tensor2D);
}

/**
 * Rows [0, count) grouped by the branches that change them (the key lists their indices); rows no branch changes are
 * in no group.
 */
function rowsByChangingBranches(count: number, changed: readonly Int32Array[]): Map<string, number[]> {
  const changingBranches: number[][] = Array.from({ length: count }, () => []);
  changed.forEach((rows, branch) => {
    for (const row of rows) changingBranches[row]!.push(branch);
  });
  const groups = new Map<string, number[]>();
  changingBranches.forEach((branches, row) => {
    if (branches.length === 0) return;
    const key = branches.join(',');
    const group = groups.get(key) ?? [];
    group.push(row);
    groups.set(key, group);
  });
  return groups;
}

/**
 * JSD(original, branch) per row for each branch, host. A branch's row equal to the original's (at the final layer
 * norm) gives exactly 0 and is not unembedded; the rows are grouped by the branches that change them, and each group
 * (its rows gathered from the [N, d] rows: gathering the [N, V] log-probabilities would cost more than the JSD) is
 * unembedded once for the original and once per branch that changes it, then goes through the log-softmax and the
 * JSD. Every operation treats rows independently, so each JSD is the one of all rows at once, bit for bit.
 */
function branchJsds(model: Gpt2Model, original: tf.Tensor2D, branches: readonly tf.Tensor2D[]): Float32Array[] {
  const count = original.shape[0];
  const jsds = branches.map(() => new Float32Array(count));
  const groups = rowsByChangingBranches(
    count,
    branches.map((branch) => changedRows(original, branch)),
  );
  for (const [key, rows] of groups) {
    const members = key.split(',').map(Number);
    const values = tf.tidy(() => {
      const index = rows.length === count ? null : tf.tensor1d(rows, 'int32');
      const pick = (tensor: tf.Tensor2D) => (index ? (tf.gather(tensor, index) as tf.Tensor2D) : tensor);
      const originalLogProbs = logProbabilities(model, pick(original));
      return members.map((branch) => {
        const branchLogProbs = logProbabilities(model, pick(branches[branch]!));
        const jsd = jensenShannonRows(originalLogProbs, branchLogProbs);
        branchLogProbs.dispose();
        return jsd;
      });
    });
    members.forEach((branch, member) => {
      const data = values[member]!.dataSync();
      rows.forEach((row, index) => {
        jsds[branch]![row] = data[index]!;
      });
    });
    tf.dispose(values);
  }
  return jsds;
}

/**
 * One batch's JSDs: the model runs once up to the hook and branches there (original, simulated, mean;
 * Gpt2Model.forwardBranchesNormalized); only the window positions reach the final layer norm's output, and of those
 * only the rows where a patched branch differs from the original reach its unembedding, log-softmax and JSD, and the
 * original's only where some branch differs (`branchJsds`).
 */
function batchJsd(
  model: Gpt2Model,
  target: FeatureTarget,
  hook: string,
  part: readonly AblationRecord[],
  length: number,
): BatchJsd {
  const rows = part.length;
  const { ids, mask, simulated, mean, windowRows } = batchLayout(part, length);
  return tf.tidy(() => {
    const maskTensor = tf.tensor3d(mask, [rows, length, 1]);
    const patched = (values: Float32Array) => (activation: tf.Tensor3D) =>
      replaceFeature(activation, target, tf.tensor3d(values, [rows, length, 1]), maskTensor);
    const [original, withSimulated, withMean] = tf.tidy(() =>
      model.forwardBranchesNormalized(ids, rows, {
        at: hook,
        branches: [(activation) => activation, patched(simulated), patched(mean)],
        positions: windowRows,
      }),
    ) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    const [jsdSimulated, jsdMean] = branchJsds(model, original, [withSimulated, withMean]) as [
      Float32Array,
      Float32Array,
    ];
    return { withSimulated: jsdSimulated, withMean: jsdMean };
  });
}

/**
 * The same JSDs by three full forward passes, the logits of every position compared and the window rows picked on
 * the host: the earlier way, kept as the reference `batchJsd` is checked against (bit for bit) and timed against
 * (bench/ablation-passes.ts).
 */
function batchJsdThreePasses(
  model: Gpt2Model,
  target: FeatureTarget,
  hook: string,
  part: readonly AblationRecord[],
  length: number,
): BatchJsd {
  const rows = part.length;
  const { ids, mask, simulated, mean, windowRows } = batchLayout(part, length);
  const vocab = model.config.vocabSize;
  const tensors = tf.tidy(() => {
    const maskTensor = tf.tensor3d(mask, [rows, length, 1]);
    const logProbs = (values: Float32Array | null) =>
      tf.tidy(() => {
        const replacement = values && tf.tensor3d(values, [rows, length, 1]);
        const hooks = replacement
          ? {
              [hook]: (activation: tf.Tensor) =>
                replaceFeature(activation as tf.Tensor3D, target, replacement, maskTensor),
            }
          : {};
        const { logits } = model.forward(ids, rows, { hooks });
        return tf.logSoftmax(tf.reshape(logits!, [rows * length, vocab]) as tf.Tensor2D);
      });
    const original = logProbs(null);
    return [jensenShannonRows(original, logProbs(simulated)), jensenShannonRows(original, logProbs(mean))];
  });
  const [allSimulated, allMean] = tensors.map((tensor) => tensor.dataSync() as Float32Array) as [
    Float32Array,
    Float32Array,
  ];
  tf.dispose(tensors);
  const pick = (all: Float32Array) => Float32Array.from(windowRows, (row) => all[row]!);
  return { withSimulated: pick(allSimulated), withMean: pick(allMean) };
}

/**
 * Runs the three forward passes for every record and returns, per record in input order, the JSDs at each window
 * position. Needs a started tfjs backend; yields to the event loop between batches.
 */
export function ablationJsdPerRecord(
  model: Gpt2Model,
  target: FeatureTarget,
  records: readonly AblationRecord[],
  options: AblationPassOptions = {},
): Promise<RecordJsd[]> {
  return jsdPerRecord(batchJsd, model, target, records, options);
}

/**
 * `ablationJsdPerRecord` by three full forward passes per batch (`batchJsdThreePasses`): the reference for tests and
 * the bench; same results, bit for bit, slower.
 */
export function ablationJsdPerRecordThreePasses(
  model: Gpt2Model,
  target: FeatureTarget,
  records: readonly AblationRecord[],
  options: AblationPassOptions = {},
): Promise<RecordJsd[]> {
  return jsdPerRecord(batchJsdThreePasses, model, target, records, options);
}

async function jsdPerRecord(
  batchJsdOf: typeof batchJsd,
  model: Gpt2Model,
  target: FeatureTarget,
  records: readonly AblationRecord[],
  options: AblationPassOptions,
): Promise<RecordJsd[]> {
  const hook = checkTarget(model, target);
  records.forEach((record, index) => checkRecord(record, index, model.config.nPositions));
  const budget = options.maxLogitsPerBatch ?? defaultMaxLogitsPerBatch;
  const vocab = model.config.vocabSize;
  const batches = batchesByLength(
    records,
    (record) => record.contextIds.length + record.tokenIds.length,
    (length) => Math.max(1, Math.floor(budget / (length * vocab))),
  );
  const perRecord: RecordJsd[] = new Array(records.length);
  let done = 0;
  for (const { length, indices } of batches) {
    const part = indices.map((index) => records[index]!);
    const jsd = batchJsdOf(model, target, hook, part, length);
    let windowRow = 0;
    part.forEach((record, row) => {
      const end = windowRow + record.tokenIds.length;
      perRecord[indices[row]!] = {
        jsdSimulated: Array.from(jsd.withSimulated.subarray(windowRow, end)),
        jsdMean: Array.from(jsd.withMean.subarray(windowRow, end)),
      };
      windowRow = end;
    });
    done += part.length;
    options.onProgress?.(done, records.length);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return perRecord;
}
