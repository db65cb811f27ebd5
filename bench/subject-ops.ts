/**
 * @module bench/subject-ops — the op choices of the subject model's forward pass on the chosen backend, each beside
 * its alternative, interleaved in one run (brown-1l's shapes, 16×64 tokens):
 * - gelu_new written with Tanh against the same function written with Sigmoid (0.5·(1 + tanh u) = σ(2u));
 * - the fused qkv product followed by a split of its [B·T, 3d] result, against three products with split weights;
 * - the unembedding product with its [1024×4096] result read back into JS, against a scalar read back.
 * Run: `npx tsx bench/subject-ops.ts [--backend auto|wasm|cpu|node|node-gpu]`. Prints numbers only.
 */
import { parseArgs } from 'node:util';
import { initBackendOrExit, tf, type BackendPreference } from '../src/subject/backend.ts';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'auto' } } });
const choice = await initBackendOrExit(values.backend as BackendPreference);
console.log(`backend: ${choice.description}`);

const tokens = 16 * 64;
const d = 128;
const x = tf.randomNormal([tokens, d], 0, 1, 'float32', 1) as tf.Tensor2D;
const pre = tf.randomNormal([tokens, 4 * d], 0, 1, 'float32', 2) as tf.Tensor2D;
const attnW = tf.randomNormal([d, 3 * d], 0, 0.1, 'float32', 3) as tf.Tensor2D;
const qkvW = tf.split(attnW, 3, 1) as tf.Tensor2D[];
const unembed = tf.randomNormal([d, 4096], 0, 0.1, 'float32', 4) as tf.Tensor2D;
const a = 2 * Math.sqrt(2 / Math.PI);
const settle = (t: tf.Tensor) => void tf.sum(t).dataSync();

const pairs: [string, () => void, string, () => void][] = [
  [
    'gelu_new with Tanh',
    () =>
      tf.tidy(() =>
        settle(
          tf.mul(
            tf.mul(pre, 0.5),
            tf.add(1, tf.tanh(tf.mul(tf.add(pre, tf.mul(tf.mul(tf.square(pre), pre), 0.044715)), a / 2))),
          ),
        ),
      ),
    'gelu_new with Sigmoid',
    () => tf.tidy(() => settle(tf.mul(pre, tf.sigmoid(tf.mul(pre, tf.add(a, tf.mul(tf.square(pre), a * 0.044715))))))),
  ],
  [
    'qkv: one product + split',
    () => tf.tidy(() => tf.split(tf.matMul(x, attnW), 3, 1).forEach(settle)),
    'qkv: three products',
    () => tf.tidy(() => qkvW.forEach((w) => settle(tf.matMul(x, w)))),
  ],
  [
    'unembed, logits read to JS',
    () => tf.tidy(() => void tf.matMul(x, unembed).dataSync()),
    'unembed, scalar read back',
    () => tf.tidy(() => settle(tf.matMul(x, unembed))),
  ],
];

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
const time = (run: () => void) => {
  const started = performance.now();
  run();
  return performance.now() - started;
};
for (const [nameA, runA, nameB, runB] of pairs) {
  runA();
  runB();
  const msA: number[] = [];
  const msB: number[] = [];
  for (let round = 0; round < 9; round++) {
    msA.push(time(runA));
    msB.push(time(runB));
  }
  console.log(
    `${nameA.padEnd(28)} ${median(msA).toFixed(2).padStart(7)} ms | ${nameB.padEnd(28)} ${median(msB).toFixed(2).padStart(7)} ms | ratio ${(median(msA) / median(msB)).toFixed(1)}×`,
  );
}
