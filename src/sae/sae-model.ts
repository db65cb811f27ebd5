/**
 * @module sae/sae-model — a sparse autoencoder for inference in tfjs: encode, decode, reconstruct, batch encode to
 * host arrays, decoder-row norms (docs/DESIGN.md §5; formulas in `./types.ts`).
 *
 * All products use the plain [N,k]·[k,n] layout (the fast one on the wasm backend, see subject/fast-ops): the encoder
 * is x·W_enc with W_enc [d_in, d_sae], the decoder f·W_dec with W_dec [d_sae, d_in], both stored as SAELens stores
 * them. TopK keeps the latents whose pre-activation exceeds the row's (k+1)-th largest (`topKMask`): exactly k per row
 * unless the k-th and (k+1)-th values tie, when both are dropped (torch.topk would keep one of them).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  effectiveActivationScale,
  saeWeightShapes,
  validateSaeConfig,
  validateSaeWeights,
  type SaeConfig,
  type SaeWeights,
} from './types.ts';

/**
 * A 0/1 float mask [rows, d_sae] of the entries of `pre` strictly greater than their row's (k+1)-th largest value:
 * the k largest of each row (fewer only on a tie at the k-th place). All ones when k ≥ d_sae.
 */
export function topKMask(pre: tf.Tensor2D, k: number): tf.Tensor2D {
  const width = pre.shape[1];
  if (k >= width) return tf.onesLike(pre);
  return tf.tidy(() => {
    const { values, indices } = tf.topk(pre, k + 1, true);
    indices.dispose();
    const threshold = tf.slice(values, [0, k], [-1, 1]);
    // step(x) is 1 for x > 0 and 0 otherwise; x − t > 0 exactly when x > t (IEEE subtraction with subnormals).
    return tf.step(tf.sub(pre, threshold)) as tf.Tensor2D;
  });
}

/** The activation function of `config` applied to pre-activations: ReLU, or TopK then ReLU. */
export function applyActivation(pre: tf.Tensor2D, config: Pick<SaeConfig, 'architecture' | 'k'>): tf.Tensor2D {
  if (config.architecture === 'standard') return tf.relu(pre);
  return tf.tidy(() => tf.mul(tf.relu(pre), topKMask(pre, config.k!)) as tf.Tensor2D);
}

export interface SaeParameters {
  /** [d_in, d_sae] */
  W_enc: tf.Tensor2D;
  /** [d_sae] */
  b_enc: tf.Tensor1D;
  /** [d_sae, d_in] */
  W_dec: tf.Tensor2D;
  /** [d_in] */
  b_dec: tf.Tensor1D;
}

/** Rows processed per chunk by the host-array helpers (bounds the [rows, d_sae] intermediate). */
const defaultChunkRows = 1024;

export class SparseAutoencoder {
  readonly scale: number;
  /** Host copy of the weights, read on first use by the per-latent accessors (the tensors never change). */
  private hostWeights: SaeWeights | null = null;

  private constructor(
    readonly config: SaeConfig,
    readonly params: SaeParameters,
  ) {
    this.scale = effectiveActivationScale(config);
  }

  /** Uploads host weights (validated against the config). The model owns its tensors: call `dispose()`. */
  static fromWeights(config: SaeConfig, weights: SaeWeights): SparseAutoencoder {
    validateSaeConfig(config);
    validateSaeWeights(config, weights);
    const shapes = saeWeightShapes(config);
    return new SparseAutoencoder(
      { ...config },
      {
        W_enc: tf.tensor2d(weights.W_enc, shapes.W_enc as [number, number]),
        b_enc: tf.tensor1d(weights.b_enc),
        W_dec: tf.tensor2d(weights.W_dec, shapes.W_dec as [number, number]),
        b_dec: tf.tensor1d(weights.b_dec),
      },
    );
  }

  get dIn(): number {
    return this.config.dIn;
  }

  get dSae(): number {
    return this.config.dSae;
  }

  /** (x·s − b_dec)·W_enc + b_enc for x [rows, d_in]. */
  preActivations(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let input: tf.Tensor2D = this.scale !== 1 ? tf.mul(x, this.scale) : x;
      if (this.config.applyBDecToInput) input = tf.sub(input, this.params.b_dec);
      return tf.add(tf.matMul(input, this.params.W_enc), this.params.b_enc);
    });
  }

  /** Feature activations f [rows, d_sae] of x [rows, d_in]. */
  encode(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => applyActivation(this.preActivations(x), this.config));
  }

  /**
   * The latents `indices` of x [rows, d_in], [rows, indices.length]. A standard (ReLU) SAE's latents are independent,
   * so only their encoder columns are multiplied (k/d_sae of a full encoding; the columns come from the host copy, as
   * wasm gathers and slices through JS); topk ranks every latent, so it encodes fully and picks the columns.
   */
  encodeLatents(x: tf.Tensor2D, indices: readonly number[]): tf.Tensor2D {
    return tf.tidy((): tf.Tensor2D => {
      if (this.config.architecture !== 'standard')
        return tf.gather(this.encode(x), Int32Array.from(indices), 1) as tf.Tensor2D;
      const { W_enc, b_enc } = this.host();
      const k = indices.length;
      const columns = new Float32Array(this.dIn * k);
      for (let j = 0; j < this.dIn; j++)
        indices.forEach((index, c) => (columns[j * k + c] = W_enc[j * this.dSae + index]!));
      let input: tf.Tensor2D = this.scale !== 1 ? tf.mul(x, this.scale) : x;
      if (this.config.applyBDecToInput) input = tf.sub(input, this.params.b_dec);
      return tf.relu(
        tf.add(
          tf.matMul(input, tf.tensor2d(columns, [this.dIn, k])),
          tf.tensor1d(indices.map((index) => b_enc[index]!)),
        ),
      ) as tf.Tensor2D;
    });
  }

  /** Row `index` of W_dec (the latent's decoder direction, in the SAE's normalized space), a host copy. */
  decoderRow(index: number): Float32Array {
    return this.host().W_dec.slice(index * this.dIn, (index + 1) * this.dIn);
  }

  private host(): SaeWeights {
    return (this.hostWeights ??= this.toWeights());
  }

  /** x̂ = (f·W_dec + b_dec) / s for f [rows, d_sae]. */
  decode(features: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const output: tf.Tensor2D = tf.add(tf.matMul(features, this.params.W_dec), this.params.b_dec);
      return this.scale !== 1 ? tf.div(output, this.scale) : output;
    });
  }

  /** decode(encode(x)). */
  reconstruct(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.decode(this.encode(x)));
  }

  /** Feature activations of host rows `x` [rows × d_in] as a host array [rows × d_sae], computed in chunks. */
  encodeBatch(x: Float32Array, chunkRows = defaultChunkRows): Float32Array {
    return this.mapRows(x, this.dSae, chunkRows, (input) => this.encode(input));
  }

  /** Reconstructions of host rows `x` [rows × d_in] as a host array [rows × d_in]. */
  reconstructBatch(x: Float32Array, chunkRows = defaultChunkRows): Float32Array {
    return this.mapRows(x, this.dIn, chunkRows, (input) => this.reconstruct(input));
  }

  /** Decodes host feature activations [rows × d_sae] to [rows × d_in]. */
  decodeBatch(features: Float32Array, chunkRows = defaultChunkRows): Float32Array {
    if (features.length % this.dSae !== 0)
      throw new RangeError(`feature array length ${features.length} is not a multiple of d_sae ${this.dSae}`);
    const rows = features.length / this.dSae;
    const out = new Float32Array(rows * this.dIn);
    for (let start = 0; start < rows; start += chunkRows) {
      const count = Math.min(chunkRows, rows - start);
      const chunk = features.subarray(start * this.dSae, (start + count) * this.dSae);
      const result = tf.tidy(() => this.decode(tf.tensor2d(chunk, [count, this.dSae])));
      out.set(result.dataSync() as Float32Array, start * this.dIn);
      result.dispose();
    }
    return out;
  }

  /** ‖W_dec,i‖ for every latent i (length d_sae). */
  decoderNorms(): Float32Array {
    const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(this.params.W_dec), 1)));
    const data = norms.dataSync() as Float32Array;
    norms.dispose();
    return Float32Array.from(data);
  }

  /** The weights as host arrays (copies). */
  toWeights(): SaeWeights {
    const read = (tensor: tf.Tensor) => Float32Array.from(tensor.dataSync() as Float32Array);
    return {
      W_enc: read(this.params.W_enc),
      b_enc: read(this.params.b_enc),
      W_dec: read(this.params.W_dec),
      b_dec: read(this.params.b_dec),
    };
  }

  dispose(): void {
    tf.dispose([this.params.W_enc, this.params.b_enc, this.params.W_dec, this.params.b_dec]);
  }

  private mapRows(
    x: Float32Array,
    outWidth: number,
    chunkRows: number,
    fn: (input: tf.Tensor2D) => tf.Tensor2D,
  ): Float32Array {
    if (x.length % this.dIn !== 0)
      throw new RangeError(`input length ${x.length} is not a multiple of d_in ${this.dIn}`);
    const rows = x.length / this.dIn;
    const out = new Float32Array(rows * outWidth);
    for (let start = 0; start < rows; start += chunkRows) {
      const count = Math.min(chunkRows, rows - start);
      const chunk = x.subarray(start * this.dIn, (start + count) * this.dIn);
      const result = tf.tidy(() => fn(tf.tensor2d(chunk, [count, this.dIn])));
      out.set(result.dataSync() as Float32Array, start * outWidth);
      result.dispose();
    }
    return out;
  }
}
