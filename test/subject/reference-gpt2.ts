/**
 * An independent, deliberately plain float64 GPT-2 forward pass (loops over Float64Array), to check the tfjs model
 * against. Follows Hugging Face's GPT2LMHeadModel: learned positions, pre-LN blocks, Conv1D weights [in, out],
 * causal softmax attention scaled by 1/√head_dim, gelu_new MLP, final LayerNorm, logits = x · wteᵀ.
 */
import type { Gpt2Config, Gpt2Weights } from '../../src/subject/types.ts';

function get(weights: Gpt2Weights, name: string): Float64Array {
  const t = weights.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return Float64Array.from(t.data);
}

function layerNorm(x: Float64Array, width: number, weight: Float64Array, bias: Float64Array, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let row = 0; row < x.length / width; row++) {
    let mean = 0;
    for (let j = 0; j < width; j++) mean += x[row * width + j]!;
    mean /= width;
    let variance = 0;
    for (let j = 0; j < width; j++) variance += (x[row * width + j]! - mean) ** 2;
    variance /= width;
    for (let j = 0; j < width; j++) out[row * width + j] = ((x[row * width + j]! - mean) / Math.sqrt(variance + eps)) * weight[j]! + bias[j]!;
  }
  return out;
}

/** x [T, inDim] · W [inDim, outDim] + b. */
function conv1d(x: Float64Array, rows: number, inDim: number, w: Float64Array, b: Float64Array, outDim: number): Float64Array {
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let sum = b[o]!;
      for (let i = 0; i < inDim; i++) sum += x[r * inDim + i]! * w[i * outDim + o]!;
      out[r * outDim + o] = sum;
    }
  }
  return out;
}

function geluNew(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
}

export interface ReferenceOutput {
  /** [T × V] */
  logits: Float64Array;
  /** Per layer, [T × n_inner] MLP activations after GELU (blocks.{L}.mlp.hook_post). */
  mlpPost: Float64Array[];
}

export function referenceGpt2Forward(config: Gpt2Config, weights: Gpt2Weights, ids: readonly number[]): ReferenceOutput {
  const T = ids.length;
  const d = config.nEmbd;
  const H = config.nHead;
  const hd = d / H;
  const wte = get(weights, 'wte.weight');
  const wpe = get(weights, 'wpe.weight');
  let x = new Float64Array(T * d);
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) x[t * d + j] = wte[ids[t]! * d + j]! + wpe[t * d + j]!;
  const mlpPost: Float64Array[] = [];
  for (let layer = 0; layer < config.nLayer; layer++) {
    const p = `h.${layer}`;
    const a = layerNorm(x, d, get(weights, `${p}.ln_1.weight`), get(weights, `${p}.ln_1.bias`), config.layerNormEpsilon);
    const qkv = conv1d(a, T, d, get(weights, `${p}.attn.c_attn.weight`), get(weights, `${p}.attn.c_attn.bias`), 3 * d);
    const z = new Float64Array(T * d);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          let dot = 0;
          for (let j = 0; j < hd; j++) dot += qkv[t * 3 * d + h * hd + j]! * qkv[s * 3 * d + d + h * hd + j]!;
          scores.push(dot / Math.sqrt(hd));
        }
        const max = Math.max(...scores);
        const exps = scores.map((v) => Math.exp(v - max));
        const total = exps.reduce((u, v) => u + v, 0);
        for (let s = 0; s <= t; s++) {
          const weight = exps[s]! / total;
          for (let j = 0; j < hd; j++) z[t * d + h * hd + j]! += weight * qkv[s * 3 * d + 2 * d + h * hd + j]!;
        }
      }
    }
    const attnOut = conv1d(z, T, d, get(weights, `${p}.attn.c_proj.weight`), get(weights, `${p}.attn.c_proj.bias`), d);
    x = x.map((v, i) => v + attnOut[i]!);
    const m = layerNorm(x, d, get(weights, `${p}.ln_2.weight`), get(weights, `${p}.ln_2.bias`), config.layerNormEpsilon);
    const pre = conv1d(m, T, d, get(weights, `${p}.mlp.c_fc.weight`), get(weights, `${p}.mlp.c_fc.bias`), config.nInner);
    const post = pre.map(geluNew);
    mlpPost.push(post);
    const mlpOut = conv1d(post, T, config.nInner, get(weights, `${p}.mlp.c_proj.weight`), get(weights, `${p}.mlp.c_proj.bias`), d);
    x = x.map((v, i) => v + mlpOut[i]!);
  }
  const f = layerNorm(x, d, get(weights, 'ln_f.weight'), get(weights, 'ln_f.bias'), config.layerNormEpsilon);
  const logits = new Float64Array(T * config.vocabSize);
  for (let t = 0; t < T; t++) {
    for (let v = 0; v < config.vocabSize; v++) {
      let sum = 0;
      for (let j = 0; j < d; j++) sum += f[t * d + j]! * wte[v * d + j]!;
      logits[t * config.vocabSize + v] = sum;
    }
  }
  return { logits, mlpPost };
}
