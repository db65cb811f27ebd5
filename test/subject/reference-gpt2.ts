/**
 * An independent, deliberately plain float64 GPT-2 forward pass (loops over Float64Array, one sequence, no batching,
 * no caching), to check the tfjs model against. It follows Hugging Face's GPT2LMHeadModel:
 *
 *   x = wte[id] + wpe[pos]
 *   per block: x += c_proj(attention(LN_1(x)));  x += mlp_c_proj(act(c_fc(LN_2(x))))
 *   logits = LN_f(x) · wteᵀ
 *
 * Conv1D weights are [in, out] (y = x·W + b); attention is causal softmax(q·kᵀ/√head_dim)·v per head, heads being
 * consecutive slices of width d/n_head of q, k and v = the three d-wide thirds of c_attn's output; LayerNorm uses the
 * biased variance; gelu_new is 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
 */
import type { Gpt2Config, Gpt2Weights } from '../../src/subject/types.ts';

export interface ReferenceGpt2Output {
  /** Next-token logits [T × V], row-major. */
  logits: Float64Array;
  /** Per layer, the MLP pre-activations [T × n_inner] (blocks.{L}.mlp.hook_pre). */
  mlpPre: Float64Array[];
  /** Per layer, the MLP activations after the nonlinearity [T × n_inner] (blocks.{L}.mlp.hook_post). */
  mlpPost: Float64Array[];
  /** Per layer, the residual stream after the block [T × d] (blocks.{L}.hook_resid_post). */
  residPost: Float64Array[];
  /** Per layer, the attention pattern [H × T × T] (blocks.{L}.attn.hook_pattern), zero above the diagonal. */
  attentionPattern: Float64Array[];
}

function tensor(weights: Gpt2Weights, name: string, expectedLength: number): Float64Array {
  const found = weights.get(name);
  if (!found) throw new Error(`reference GPT-2: missing weight ${name}`);
  if (found.data.length !== expectedLength)
    throw new Error(`reference GPT-2: ${name} has ${found.data.length} values, expected ${expectedLength}`);
  return Float64Array.from(found.data);
}

/** LayerNorm of each row of x [rows × width]: (x − mean) / √(var + eps) · weight + bias. */
function layerNorm(
  x: Float64Array,
  width: number,
  weight: Float64Array,
  bias: Float64Array,
  epsilon: number,
): Float64Array {
  const rows = x.length / width;
  const out = new Float64Array(x.length);
  for (let row = 0; row < rows; row++) {
    let mean = 0;
    for (let j = 0; j < width; j++) mean += x[row * width + j]!;
    mean /= width;
    let variance = 0;
    for (let j = 0; j < width; j++) variance += (x[row * width + j]! - mean) ** 2;
    variance /= width;
    const scale = 1 / Math.sqrt(variance + epsilon);
    for (let j = 0; j < width; j++) out[row * width + j] = (x[row * width + j]! - mean) * scale * weight[j]! + bias[j]!;
  }
  return out;
}

/** Conv1D: x [rows × inDim] · w [inDim × outDim] + b [outDim]. */
function conv1d(
  x: Float64Array,
  rows: number,
  inDim: number,
  w: Float64Array,
  b: Float64Array,
  outDim: number,
): Float64Array {
  const out = new Float64Array(rows * outDim);
  for (let row = 0; row < rows; row++) {
    for (let o = 0; o < outDim; o++) {
      let sum = b[o]!;
      for (let i = 0; i < inDim; i++) sum += x[row * inDim + i]! * w[i * outDim + o]!;
      out[row * outDim + o] = sum;
    }
  }
  return out;
}

/** erf to ~1e-15: its Maclaurin series below 3, the continued fraction of erfc above (Abramowitz & Stegun 7.1.5, 7.1.14). */
export function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated from the tail.
  let fraction = x;
  for (let k = 60; k >= 1; k--) fraction = x + k / 2 / fraction;
  return 1 - Math.exp(-x * x) / Math.sqrt(Math.PI) / fraction;
}

export function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export function geluExact(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

function activationFunction(name: Gpt2Config['activation']): (x: number) => number {
  switch (name) {
    case 'gelu_new':
      return geluNew;
    case 'gelu':
      return geluExact;
    case 'relu':
      return (x) => Math.max(0, x);
  }
}

/** The GPT-2 forward pass of one token sequence, in float64. */
export function referenceGpt2Forward(
  config: Gpt2Config,
  weights: Gpt2Weights,
  ids: readonly number[],
): ReferenceGpt2Output {
  const T = ids.length;
  const V = config.vocabSize;
  const d = config.nEmbd;
  const H = config.nHead;
  const headDim = d / H;
  const inner = config.nInner;
  const eps = config.layerNormEpsilon;
  const act = activationFunction(config.activation);
  if (!Number.isInteger(headDim)) throw new Error(`reference GPT-2: n_embd ${d} is not divisible by n_head ${H}`);
  if (T > config.nPositions) throw new Error(`reference GPT-2: ${T} tokens but only ${config.nPositions} positions`);
  for (const id of ids)
    if (!Number.isInteger(id) || id < 0 || id >= V)
      throw new Error(`reference GPT-2: token id ${id} outside [0, ${V})`);

  const wte = tensor(weights, 'wte.weight', V * d);
  const wpe = tensor(weights, 'wpe.weight', config.nPositions * d);
  let x = new Float64Array(T * d);
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) x[t * d + j] = wte[ids[t]! * d + j]! + wpe[t * d + j]!;

  const output: ReferenceGpt2Output = {
    logits: new Float64Array(T * V),
    mlpPre: [],
    mlpPost: [],
    residPost: [],
    attentionPattern: [],
  };
  for (let layer = 0; layer < config.nLayer; layer++) {
    const p = `h.${layer}`;
    // Attention.
    const a = layerNorm(x, d, tensor(weights, `${p}.ln_1.weight`, d), tensor(weights, `${p}.ln_1.bias`, d), eps);
    const qkv = conv1d(
      a,
      T,
      d,
      tensor(weights, `${p}.attn.c_attn.weight`, d * 3 * d),
      tensor(weights, `${p}.attn.c_attn.bias`, 3 * d),
      3 * d,
    );
    const query = (t: number, h: number, j: number) => qkv[t * 3 * d + h * headDim + j]!;
    const key = (t: number, h: number, j: number) => qkv[t * 3 * d + d + h * headDim + j]!;
    const value = (t: number, h: number, j: number) => qkv[t * 3 * d + 2 * d + h * headDim + j]!;
    const pattern = new Float64Array(H * T * T);
    const heads = new Float64Array(T * d); // the heads' outputs side by side, before c_proj
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const scores = new Float64Array(t + 1);
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let j = 0; j < headDim; j++) dot += query(t, h, j) * key(s, h, j);
          scores[s] = dot / Math.sqrt(headDim);
        }
        const max = Math.max(...scores);
        let total = 0;
        for (let s = 0; s <= t; s++) total += Math.exp(scores[s]! - max);
        for (let s = 0; s <= t; s++) {
          const weight = Math.exp(scores[s]! - max) / total;
          pattern[(h * T + t) * T + s] = weight;
          for (let j = 0; j < headDim; j++) heads[t * d + h * headDim + j]! += weight * value(s, h, j);
        }
      }
    }
    output.attentionPattern.push(pattern);
    const attentionOut = conv1d(
      heads,
      T,
      d,
      tensor(weights, `${p}.attn.c_proj.weight`, d * d),
      tensor(weights, `${p}.attn.c_proj.bias`, d),
      d,
    );
    x = x.map((v, i) => v + attentionOut[i]!);
    // MLP.
    const m = layerNorm(x, d, tensor(weights, `${p}.ln_2.weight`, d), tensor(weights, `${p}.ln_2.bias`, d), eps);
    const pre = conv1d(
      m,
      T,
      d,
      tensor(weights, `${p}.mlp.c_fc.weight`, d * inner),
      tensor(weights, `${p}.mlp.c_fc.bias`, inner),
      inner,
    );
    const post = pre.map(act);
    const mlpOut = conv1d(
      post,
      T,
      inner,
      tensor(weights, `${p}.mlp.c_proj.weight`, inner * d),
      tensor(weights, `${p}.mlp.c_proj.bias`, d),
      d,
    );
    x = x.map((v, i) => v + mlpOut[i]!);
    output.mlpPre.push(pre);
    output.mlpPost.push(post);
    output.residPost.push(x.slice());
  }

  const final = layerNorm(x, d, tensor(weights, 'ln_f.weight', d), tensor(weights, 'ln_f.bias', d), eps);
  for (let t = 0; t < T; t++) {
    for (let v = 0; v < V; v++) {
      let sum = 0;
      for (let j = 0; j < d; j++) sum += final[t * d + j]! * wte[v * d + j]!;
      output.logits[t * V + v] = sum;
    }
  }
  return output;
}

/** Just the logits [T × V] of {@link referenceGpt2Forward}. */
export function referenceGpt2Logits(config: Gpt2Config, weights: Gpt2Weights, ids: readonly number[]): Float64Array {
  return referenceGpt2Forward(config, weights, ids).logits;
}
