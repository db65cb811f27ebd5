/**
 * @module subject/fast-ops — matrix products and losses with hand-written gradients whose products all use the
 * untransposed layout.
 *
 * Why: on the wasm backend `matMul` with `transposeA`/`transposeB` is 10–40× slower than the plain layout (measured:
 * [1024×4096]·[4096×128] 30 ms plain, 360 ms with transposeB, 1.3 s with transposeA; an explicit `tf.transpose`
 * followed by a plain product costs 33–70 ms), and tfjs's own matMul gradient uses exactly those flags. The gather
 * gradient needs `UnsortedSegmentSum`, which wasm lacks, so the embedding gradient is accumulated on the host.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The argument type of `tf.customGrad` (not exported by tfjs-core's index). */
type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

function swapLastTwo(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const n = perm.length;
  [perm[n - 2], perm[n - 1]] = [perm[n - 1]!, perm[n - 2]!];
  return tf.transpose(x, perm);
}

/** a·b for rank-2 or equal-batch rank-3/4 tensors; the gradient uses explicit transposes and plain products. */
export const matMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [tf.matMul(dy, swapLastTwo(sb)), tf.matMul(swapLastTwo(sa), dy)];
    },
  };
}) as unknown as CustomGradientFunc) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** x[N,k]·w[k,n] + bias[n]. */
export function linear(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D | null): tf.Tensor2D {
  const product = matMul(x, weight) as tf.Tensor2D;
  return bias ? tf.add(product, bias) : product;
}

/**
 * Rows of `table` [V, d] at `ids`; the gradient is summed per id on the host (wasm has no UnsortedSegmentSum).
 */
export function embed(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [vocab, width] = table.shape;
  const fn = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    const indices = tf.tensor1d(ids, 'int32');
    const value = tf.gather(t, indices);
    indices.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor) => {
        const dyData = dy.dataSync();
        const grad = new Float32Array(vocab * width);
        for (let row = 0; row < ids.length; row++) {
          const target = ids[row]! * width;
          const source = row * width;
          for (let j = 0; j < width; j++) grad[target + j]! += dyData[source + j]!;
        }
        return [tf.tensor2d(grad, [vocab, width])];
      },
    };
  }) as unknown as CustomGradientFunc);
  return fn(table) as tf.Tensor2D;
}

/** Mean next-token cross-entropy (nats) of `logits` [N, V] against `targets` (length N); gradient (softmax − 1ₜ)/N. */
export function crossEntropy(logits: tf.Tensor2D, targets: Int32Array): tf.Scalar {
  const [count, vocab] = logits.shape;
  const fn = tf.customGrad(((l: tf.Tensor, save: tf.GradSaveFunc) => {
    save([l]);
    const value = tf.tidy(() => {
      const oneHot = tf.oneHot(tf.tensor1d(targets, 'int32'), vocab);
      const picked = tf.sum(tf.mul(l, oneHot), 1);
      return tf.mean(tf.sub(tf.logSumExp(l, 1), picked));
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const oneHot = tf.oneHot(tf.tensor1d(targets, 'int32'), vocab);
          const probs = tf.softmax(saved[0]!);
          return [tf.mul(tf.sub(probs, oneHot), tf.div(dy, count))];
        }),
    };
  }) as unknown as CustomGradientFunc);
  return fn(logits) as tf.Scalar;
}
