/**
 * @module subject/gpt2-model — the GPT-2 forward pass in tfjs with TransformerLens-style hook points.
 *
 * Activations flow as [B·T, width] matrices (the fast layout for the wasm backend's products); a hook sees its
 * activation reshaped to [B, T, width] (or [B, H, T, T] for attention patterns; [B, 1, width] in the last block of
 * `forwardAtPositions`, past its attention) and may return a replacement of the same shape, which is how activations
 * are captured and patched (ablation, steering, SAE splicing).
 */
import * as tf from '@tensorflow/tfjs-core';
import { embed, linear, matMul } from './fast-ops.ts';
import type { Gpt2Config, Gpt2Weights, HookFn, Hooks } from './types.ts';

export interface LayerNormParams {
  weight: tf.Tensor1D;
  bias: tf.Tensor1D;
}

export interface BlockParams {
  ln1: LayerNormParams;
  attnW: tf.Tensor2D;
  attnB: tf.Tensor1D;
  attnProjW: tf.Tensor2D;
  attnProjB: tf.Tensor1D;
  ln2: LayerNormParams;
  fcW: tf.Tensor2D;
  fcB: tf.Tensor1D;
  projW: tf.Tensor2D;
  projB: tf.Tensor1D;
}

export interface Gpt2Params {
  wte: tf.Tensor2D;
  wpe: tf.Tensor2D;
  blocks: BlockParams[];
  lnF: LayerNormParams;
}

export interface ForwardOptions {
  hooks?: Hooks;
  /** Stop after this hook point has run (its hook included); `logits` is then null. Saves the unembedding. */
  stopAt?: string;
}

export interface ForwardResult {
  /** [B, T, V]; null when stopped early. */
  logits: tf.Tensor3D | null;
}

/** How `forwardBranches` splits one pass into several that differ from a hook point on. */
export interface BranchOptions {
  /** The hook point where the branches start: everything before it runs once, for all of them. */
  at: string;
  /** One function per branch: the activation at `at` [B, T, width] → the branch's activation there (same shape). */
  branches: readonly ((activation: tf.Tensor3D) => tf.Tensor3D)[];
  /**
   * Flat positions (row·T + t) whose logits `forwardBranches` computes, in this order (whose final-layer-norm rows
   * `forwardBranchesNormalized` returns).
   */
  positions: Int32Array;
}

/** Hook points after which nothing but the residual stream is carried on: where `forwardBranches` may branch. */
function canBranchAt(hookName: string): boolean {
  return !(hookName === 'hook_embed' || hookName === 'hook_pos_embed' || hookName.endsWith('attn.hook_pattern'));
}

/** Raised internally to stop a forward pass at `stopAt`. */
class StopForward extends Error {}

/** gelu_new as x·σ(x·(a + b·x²)): 0.5·(1 + tanh(u)) = σ(2u), with u = √(2/π)·(x + 0.044715·x³). */
const GELU_SIGMOID_LINEAR = 2 * Math.sqrt(2 / Math.PI);
const GELU_SIGMOID_CUBIC = GELU_SIGMOID_LINEAR * 0.044715;

/** One attention block's query, key and value projections, split from GPT-2's fused `c_attn`. */
interface QkvWeights {
  weights: [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
  biases: [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
}

function activate(x: tf.Tensor, kind: Gpt2Config['activation']): tf.Tensor {
  if (kind === 'relu') return tf.relu(x);
  if (kind === 'gelu') return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  // gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), written with the sigmoid: on wasm Tanh is a scalar loop and
  // Sigmoid a vectorized kernel (bench/subject-ops: this gelu_new is 6.8× faster on [1024×512]).
  return tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(GELU_SIGMOID_LINEAR, tf.mul(tf.square(x), GELU_SIGMOID_CUBIC)))));
}

function layerNorm(x: tf.Tensor2D, params: LayerNormParams, epsilon: number): tf.Tensor2D {
  const mean = tf.mean(x, 1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), 1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, epsilon))), params.weight), params.bias);
}

/** Every hook point of a model with `nLayer` layers, in forward order. */
export function hookPointNames(nLayer: number): string[] {
  const names = ['hook_embed', 'hook_pos_embed'];
  for (let layer = 0; layer < nLayer; layer++) {
    const p = `blocks.${layer}`;
    names.push(
      `${p}.hook_resid_pre`,
      `${p}.attn.hook_pattern`,
      `${p}.hook_attn_out`,
      `${p}.hook_resid_mid`,
      `${p}.mlp.hook_pre`,
      `${p}.mlp.hook_post`,
      `${p}.hook_mlp_out`,
      `${p}.hook_resid_post`,
    );
  }
  names.push('ln_final.hook_normalized');
  return names;
}

/** Width of the activation at a hook point ([B, T, width]); null for attention patterns. */
export function hookWidth(config: Gpt2Config, hookName: string): number | null {
  if (hookName.endsWith('attn.hook_pattern')) return null;
  if (hookName.endsWith('mlp.hook_pre') || hookName.endsWith('mlp.hook_post')) return config.nInner;
  return config.nEmbd;
}

function host2d(weights: Gpt2Weights, name: string): tf.Tensor2D {
  const t = weights.get(name);
  if (t?.shape.length !== 2) throw new Error(`GPT-2 weights: missing 2-D tensor ${name}`);
  return tf.tensor2d(t.data, [t.shape[0]!, t.shape[1]!]);
}

function host1d(weights: Gpt2Weights, name: string): tf.Tensor1D {
  const t = weights.get(name);
  if (t?.shape.length !== 1) throw new Error(`GPT-2 weights: missing 1-D tensor ${name}`);
  return tf.tensor1d(t.data);
}

export class Gpt2Model {
  readonly hookPoints: readonly string[];
  private readonly hookSet: ReadonlySet<string>;
  /** wteᵀ [d, V], kept for inference (the product with a transposed operand is slow on wasm). */
  private unembedCache: tf.Tensor2D | null = null;
  /** Per block, c_attn split into q/k/v products, kept for inference (splitting the [B·T, 3d] activation is slow on wasm). */
  private qkvCache: QkvWeights[] | null = null;

  constructor(
    readonly config: Gpt2Config,
    readonly params: Gpt2Params,
    /** True while training: the unembedding is recomputed from wte every pass instead of cached. */
    private readonly trainable = false,
  ) {
    this.hookPoints = hookPointNames(config.nLayer);
    this.hookSet = new Set(this.hookPoints);
  }

  /**
   * Builds a model from host weights (Hugging Face GPT-2 names). With `trainable`, every parameter is a `tf.Variable`
   * (for an optimizer) and the unembedding is recomputed from wte on every pass.
   */
  static fromWeights(config: Gpt2Config, weights: Gpt2Weights, options: { trainable?: boolean } = {}): Gpt2Model {
    const wrap = <T extends tf.Tensor>(t: T): T => {
      if (!options.trainable) return t;
      const variable = tf.variable(t, true);
      t.dispose();
      return variable as unknown as T;
    };
    const hostTensor2d = (w: Gpt2Weights, name: string) => wrap(host2d(w, name));
    const hostTensor1d = (w: Gpt2Weights, name: string) => wrap(host1d(w, name));
    const params: Gpt2Params = (() => {
      const blocks: BlockParams[] = [];
      for (let layer = 0; layer < config.nLayer; layer++) {
        const p = `h.${layer}`;
        blocks.push({
          ln1: { weight: hostTensor1d(weights, `${p}.ln_1.weight`), bias: hostTensor1d(weights, `${p}.ln_1.bias`) },
          attnW: hostTensor2d(weights, `${p}.attn.c_attn.weight`),
          attnB: hostTensor1d(weights, `${p}.attn.c_attn.bias`),
          attnProjW: hostTensor2d(weights, `${p}.attn.c_proj.weight`),
          attnProjB: hostTensor1d(weights, `${p}.attn.c_proj.bias`),
          ln2: { weight: hostTensor1d(weights, `${p}.ln_2.weight`), bias: hostTensor1d(weights, `${p}.ln_2.bias`) },
          fcW: hostTensor2d(weights, `${p}.mlp.c_fc.weight`),
          fcB: hostTensor1d(weights, `${p}.mlp.c_fc.bias`),
          projW: hostTensor2d(weights, `${p}.mlp.c_proj.weight`),
          projB: hostTensor1d(weights, `${p}.mlp.c_proj.bias`),
        });
      }
      return {
        wte: hostTensor2d(weights, 'wte.weight'),
        wpe: hostTensor2d(weights, 'wpe.weight'),
        blocks,
        lnF: { weight: hostTensor1d(weights, 'ln_f.weight'), bias: hostTensor1d(weights, 'ln_f.bias') },
      };
    })();
    return new Gpt2Model(config, params, options.trainable ?? false);
  }

  /** The parameters as named host tensors (Hugging Face names), e.g. to save them. */
  async toWeights(): Promise<Gpt2Weights> {
    const out: Gpt2Weights = new Map();
    for (const [name, tensor] of this.namedParams())
      out.set(name, { shape: [...tensor.shape], data: (await tensor.data()) as Float32Array });
    return out;
  }

  /** The parameters that are `tf.Variable`s (all of them for a trainable model). */
  variables(): tf.Variable[] {
    return this.namedParams()
      .map(([, t]) => t)
      .filter((t): t is tf.Variable => t instanceof tf.Variable);
  }

  /** Parameters with their Hugging Face names. */
  namedParams(): [string, tf.Tensor][] {
    const { wte, wpe, blocks, lnF } = this.params;
    const named: [string, tf.Tensor][] = [
      ['wte.weight', wte],
      ['wpe.weight', wpe],
    ];
    blocks.forEach((b, layer) => {
      const p = `h.${layer}`;
      named.push(
        [`${p}.ln_1.weight`, b.ln1.weight],
        [`${p}.ln_1.bias`, b.ln1.bias],
        [`${p}.attn.c_attn.weight`, b.attnW],
        [`${p}.attn.c_attn.bias`, b.attnB],
        [`${p}.attn.c_proj.weight`, b.attnProjW],
        [`${p}.attn.c_proj.bias`, b.attnProjB],
        [`${p}.ln_2.weight`, b.ln2.weight],
        [`${p}.ln_2.bias`, b.ln2.bias],
        [`${p}.mlp.c_fc.weight`, b.fcW],
        [`${p}.mlp.c_fc.bias`, b.fcB],
        [`${p}.mlp.c_proj.weight`, b.projW],
        [`${p}.mlp.c_proj.bias`, b.projB],
      );
    });
    named.push(['ln_f.weight', lnF.weight], ['ln_f.bias', lnF.bias]);
    return named;
  }

  private unembedding(): tf.Tensor2D {
    if (this.trainable) return tf.transpose(this.params.wte);
    if (!this.unembedCache) this.unembedCache = tf.keep(tf.transpose(this.params.wte));
    return this.unembedCache;
  }

  /** Block `layer`'s q/k/v projections: sliced from the fused weight every pass while training, else cached. */
  private qkvWeights(layer: number): QkvWeights {
    const split = (block: BlockParams): QkvWeights => ({
      weights: tf.split(block.attnW, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D],
      biases: tf.split(block.attnB, 3, 0) as [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D],
    });
    if (this.trainable) return split(this.params.blocks[layer]!);
    if (!this.qkvCache) {
      this.qkvCache = this.params.blocks.map((block) => {
        const parts = split(block);
        for (const t of [...parts.weights, ...parts.biases]) tf.keep(t);
        return parts;
      });
    }
    return this.qkvCache[layer]!;
  }

  /** Checks hook names against the model's hook points. */
  checkHookNames(names: Iterable<string>): void {
    for (const name of names) {
      if (!this.hookSet.has(name)) {
        throw new Error(
          `unknown hook point "${name}" (this model has: ${this.hookPoints.filter((h) => !h.includes('.attn.hook_pattern')).join(', ')})`,
        );
      }
    }
  }

  /**
   * Runs the model on token ids [B][T] (all rows the same length ≤ nPositions). Call inside `tf.tidy` (or dispose the
   * logits): intermediate tensors are not disposed here so that gradients can flow through them.
   */
  forward(
    ids: readonly (readonly number[])[] | Int32Array,
    batch?: number,
    options: ForwardOptions = {},
  ): ForwardResult {
    const flat = ids instanceof Int32Array ? ids : Int32Array.from(ids.flat());
    const rows = ids instanceof Int32Array ? (batch ?? 1) : ids.length;
    const length = this.checkTokenRows('forward', flat, rows);
    const hooks = options.hooks ?? {};
    this.checkHookNames(Object.keys(hooks));
    if (options.stopAt !== undefined) this.checkHookNames([options.stopAt]);
    try {
      return { logits: this.run(flat, rows, length, hooks, options.stopAt) };
    } catch (error) {
      if (error instanceof StopForward) return { logits: null };
      throw error;
    }
  }

  /**
   * Several forward passes over the same token ids [B, T] that differ only from hook point `at` on (e.g. an activation
   * patched two ways and left as is), with the logits of the given positions only: per branch, [positions, V].
   * What comes before `at` runs once; after it the branches run as one pass of (branches × B) rows. Every operation of
   * the model treats rows independently, so each branch's logits are those of `forward` with a hook at `at`, bit for
   * bit (checked on the wasm and cpu backends: test/subject/forward-branches.test.ts). Call inside `tf.tidy`. `at` may not be hook_embed, hook_pos_embed or
   * an attention pattern (more than the residual stream is carried on from there).
   */
  forwardBranches(ids: Int32Array, batch: number, options: BranchOptions): tf.Tensor2D[] {
    return this.forwardBranchesNormalized(ids, batch, options).map((normalized) => this.unembed(normalized));
  }

  /**
   * `forwardBranches` short of the unembedding: per branch, the final layer norm's rows at the positions
   * [positions, d], whose `unembed` is that branch's logits there. Lets a caller unembed only some of the rows (e.g.
   * those that differ from another branch's). Call inside `tf.tidy`.
   */
  forwardBranchesNormalized(ids: Int32Array, batch: number, options: BranchOptions): tf.Tensor2D[] {
    const length = this.checkTokenRows('forwardBranches', ids, batch);
    this.checkHookNames([options.at]);
    if (!canBranchAt(options.at)) throw new Error(`forwardBranches: cannot branch at ${options.at}`);
    if (options.branches.length === 0) throw new Error('forwardBranches: no branches');
    for (const position of options.positions) {
      if (!(Number.isInteger(position) && position >= 0 && position < ids.length))
        throw new Error(`forwardBranches: position ${position} outside [0, ${ids.length})`);
    }
    // run() stops at the gathered final hidden rows [branches × positions, d], split here per branch.
    const hidden = this.run(ids, batch, length, {}, undefined, options);
    const count = options.positions.length;
    const d = this.config.nEmbd;
    return options.branches.map(
      (_, branch) => tf.reshape(tf.slice(hidden, [0, branch * count, 0], [1, count, d]), [count, d]) as tf.Tensor2D,
    );
  }

  /**
   * The logits [N, V] of final-layer-norm rows [N, d] (ln_final.hook_normalized): each row's are those the full
   * forward pass gives at its position, bit for bit, whatever the other rows (the product treats rows independently).
   */
  unembed(normalized: tf.Tensor2D): tf.Tensor2D {
    return matMul(normalized, this.unembedding()) as tf.Tensor2D;
  }

  /**
   * The final layer norm's output (ln_final.hook_normalized) [B, d] at one position per row of a pass over token ids
   * [B, T] with `hooks`: `positions[row]` ∈ [0, T). Bit for bit the rows `forward` computes there (every operation
   * treats rows independently; checked on the wasm and cpu backends: test/subject/forward-branches.test.ts), for less work: the last block computes its keys
   * and values at every position, and its queries, attention, MLP and what follows at the chosen positions only, so
   * its hooks from hook_attn_out on, and ln_final.hook_normalized, see [B, 1, width] (the chosen position of each row;
   * earlier hooks see [B, T, width]). The last block's attention pattern cannot be hooked. Call inside `tf.tidy`.
   */
  forwardAtPositions(ids: Int32Array, batch: number, positions: Int32Array, hooks: Hooks = {}): tf.Tensor2D {
    const length = this.checkTokenRows('forwardAtPositions', ids, batch);
    this.checkHookNames(Object.keys(hooks));
    if (hooks[`blocks.${this.config.nLayer - 1}.attn.hook_pattern`])
      throw new Error("forwardAtPositions: cannot hook the last block's attention pattern");
    if (positions.length !== batch)
      throw new Error(`forwardAtPositions: ${positions.length} positions for ${batch} rows (one per row)`);
    for (const position of positions) {
      if (!(Number.isInteger(position) && position >= 0 && position < length))
        throw new Error(`forwardAtPositions: position ${position} outside [0, ${length})`);
    }
    const normalized = this.run(ids, batch, length, hooks, undefined, undefined, positions);
    return tf.reshape(normalized, [batch, this.config.nEmbd]) as tf.Tensor2D;
  }

  /** The length of each of `rows` rows of token ids; refuses ragged or empty rows, a row over the context, a bad id. */
  private checkTokenRows(method: string, ids: Int32Array, rows: number): number {
    const length = rows > 0 ? ids.length / rows : 0;
    if (!Number.isInteger(length) || length < 1)
      throw new Error(`${method}: token rows must be non-empty and of equal length`);
    if (length > this.config.nPositions)
      throw new Error(`${method}: ${length} tokens exceed the context of ${this.config.nPositions}`);
    for (const id of ids) {
      if (!(id >= 0 && id < this.config.vocabSize))
        throw new Error(`${method}: token id ${id} outside the vocabulary [0, ${this.config.vocabSize})`);
    }
    return length;
  }

  private run(
    flat: Int32Array,
    batchRows: number,
    sequenceLength: number,
    hooks: Hooks,
    stopAt: string | undefined,
    branching?: BranchOptions,
    /** One position (t) per row: the last block works at these only (forwardAtPositions); the result is [B, 1, d]. */
    atPositions?: Int32Array,
  ): tf.Tensor3D {
    const { config, params } = this;
    const d = config.nEmbd;
    let rows = batchRows;
    /** Positions per row: sequenceLength, or 1 in the last block of forwardAtPositions once narrowed. */
    let length = sequenceLength;
    let n = rows * length;
    const point = (name: string, x: tf.Tensor2D): tf.Tensor2D => {
      if (branching?.at === name) {
        const width = x.shape[1];
        const view = tf.reshape(x, [rows, length, width]) as tf.Tensor3D;
        const outs = branching.branches.map((branch) => {
          const out = branch(view);
          if (out.shape.join() !== view.shape.join())
            throw new Error(`branch at ${name} returned shape [${out.shape}], expected [${view.shape}]`);
          return tf.reshape(out, [n, width]) as tf.Tensor2D;
        });
        // The residual stream is the only other state carried on from a branch point (canBranchAt).
        resid = tf.concat(
          branching.branches.map(() => resid),
          0,
        );
        rows *= outs.length;
        n *= outs.length;
        return tf.concat(outs, 0);
      }
      const hook: HookFn | undefined = hooks[name];
      let out = x;
      if (hook) {
        const width = x.shape[1];
        const view = tf.reshape(x, [rows, length, width]);
        const replaced = hook(view, name);
        if (replaced) {
          if (replaced.shape.join() !== view.shape.join()) {
            throw new Error(`hook ${name} returned shape [${replaced.shape}], expected [${view.shape}]`);
          }
          out = tf.reshape(replaced, [n, width]);
        }
      }
      if (name === stopAt) throw new StopForward();
      return out;
    };

    const tokenEmbed = point('hook_embed', embed(params.wte, flat));
    const positions = tf.slice(params.wpe, [0, 0], [length, d]);
    let resid: tf.Tensor2D;
    if (hooks.hook_pos_embed || stopAt === 'hook_pos_embed') {
      resid = tf.add(tokenEmbed, point('hook_pos_embed', tf.tile(positions, [rows, 1]) as tf.Tensor2D));
    } else {
      // Broadcast the [T, d] positions over the batch instead of tiling them (Tile is slow on wasm).
      resid = tf.reshape(tf.add(tf.reshape(tokenEmbed, [rows, length, d]), positions), [n, d]);
    }

    const heads = config.nHead;
    const headWidth = d / heads;
    const mask = tf.tidy(() => {
      const lower = tf.linalg.bandPart(tf.ones([length, length]), -1, 0);
      return tf.mul(tf.sub(1, lower), -1e9);
    });
    const lastLayer = params.blocks.length - 1;
    params.blocks.forEach((block, layer) => {
      const p = `blocks.${layer}`;
      resid = point(`${p}.hook_resid_pre`, resid);
      const x = layerNorm(resid, block.ln1, config.layerNormEpsilon);
      // In the last block of forwardAtPositions, the queries and all that follows at the chosen position of each row.
      const picked =
        atPositions && layer === lastLayer
          ? tf.tensor1d(
              atPositions.map((position, row) => row * length + position),
              'int32',
            )
          : null;
      const queryLength = picked ? 1 : length;
      // Three products rather than one fused product and a split of its [B·T, 3d] result (bench/subject-ops: 5.9×).
      const { weights, biases } = this.qkvWeights(layer);
      const [q, k, v] = weights.map((w, i) => linear(i === 0 && picked ? tf.gather(x, picked) : x, w, biases[i]!)) as [
        tf.Tensor2D,
        tf.Tensor2D,
        tf.Tensor2D,
      ];
      const q4 = tf.transpose(tf.reshape(q, [rows, queryLength, heads, headWidth]), [0, 2, 1, 3]);
      const kT = tf.transpose(tf.reshape(k, [rows, length, heads, headWidth]), [0, 2, 3, 1]);
      const v4 = tf.transpose(tf.reshape(v, [rows, length, heads, headWidth]), [0, 2, 1, 3]);
      const causal =
        picked && atPositions
          ? tf.reshape(tf.gather(mask, tf.tensor1d(atPositions, 'int32')), [rows, 1, 1, length])
          : mask;
      const scores = tf.add(tf.mul(matMul(q4, kT), 1 / Math.sqrt(headWidth)), causal);
      let pattern = tf.softmax(scores);
      const patternHook = hooks[`${p}.attn.hook_pattern`];
      if (patternHook) {
        const replaced = patternHook(pattern, `${p}.attn.hook_pattern`);
        if (replaced) {
          // Checked like the other hook points: a [1, H, T, T] pattern would otherwise broadcast over the batch.
          if (replaced.shape.join() !== pattern.shape.join()) {
            throw new Error(
              `hook ${p}.attn.hook_pattern returned shape [${replaced.shape}], expected [${pattern.shape}]`,
            );
          }
          pattern = replaced as tf.Tensor4D;
        }
      }
      if (stopAt === `${p}.attn.hook_pattern`) throw new StopForward();
      if (picked) {
        // From here on, one position per row: the hooks see [B, 1, width].
        resid = tf.gather(resid, picked);
        length = 1;
        n = rows;
      }
      const z = tf.reshape(tf.transpose(matMul(pattern, v4), [0, 2, 1, 3]), [n, d]) as tf.Tensor2D;
      const attnOut = point(`${p}.hook_attn_out`, linear(z, block.attnProjW, block.attnProjB));
      resid = point(`${p}.hook_resid_mid`, tf.add(resid, attnOut));
      const x2 = layerNorm(resid, block.ln2, config.layerNormEpsilon);
      const pre = point(`${p}.mlp.hook_pre`, linear(x2, block.fcW, block.fcB));
      const post = point(`${p}.mlp.hook_post`, activate(pre, config.activation) as tf.Tensor2D);
      const mlpOut = point(`${p}.hook_mlp_out`, linear(post, block.projW, block.projB));
      resid = point(`${p}.hook_resid_post`, tf.add(resid, mlpOut));
    });
    const normalized = point('ln_final.hook_normalized', layerNorm(resid, params.lnF, config.layerNormEpsilon));
    if (branching) {
      // Only the wanted positions of each branch leave the pass (the [rows, V] logits dominate it): their final layer
      // norm rows, [1, branches × positions, d], go back to forwardBranchesNormalized, unembedded by its caller.
      const perBranch = batchRows * length;
      const picked = new Int32Array(branching.positions.length * branching.branches.length);
      branching.branches.forEach((_, branch) => {
        picked.set(
          branching.positions.map((position) => branch * perBranch + position),
          branch * branching.positions.length,
        );
      });
      // Every row in order (no context, every position scored): the rows as they are, without the gather's copy.
      const everyRow = picked.length === n && picked.every((row, index) => row === index);
      const wanted = everyRow ? normalized : tf.gather(normalized, tf.tensor1d(picked, 'int32'));
      return tf.reshape(wanted, [1, picked.length, d]);
    }
    if (atPositions) return tf.reshape(normalized, [rows, 1, d]);
    const logits = this.unembed(normalized);
    return tf.reshape(logits, [rows, length, config.vocabSize]);
  }

  dispose(): void {
    this.unembedCache?.dispose();
    this.unembedCache = null;
    for (const parts of this.qkvCache ?? []) tf.dispose([...parts.weights, ...parts.biases]);
    this.qkvCache = null;
    for (const [, tensor] of this.namedParams()) tensor.dispose();
  }
}
