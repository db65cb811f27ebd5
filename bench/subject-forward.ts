/**
 * @module bench/subject-forward — forward-pass throughput of the subject model (tokens/s) and its FLOP/s as a ratio
 * of plain matmul FLOP/s measured on the same backend in the same run (docs/DESIGN.md §9 target: ≥ 0.5).
 *
 * Two reference matmuls, timed interleaved with the forward passes:
 * - square: [1024×1024]·[1024×1024], the backend's best case;
 * - same-shapes: the model's own matrix products (qkv, attention out, MLP in/out, unembedding) run bare, back to back:
 *   what the forward pass would cost if everything but its products were free.
 * FLOPs counted per token: 2·(d·3d + d·d + 2·d·n_inner) per layer + 2·2·T·d for attention scores and mixing + 2·d·V.
 *
 * PyTorch peer (when a Python with torch is found: bench/torch-peer.ts): the same forward passes in PyTorch on the
 * same machine in the same run — brown-1l (its real weights, 16×64 tokens) and GPT-2 small (all 12 layers, random
 * weights of its shapes, 1×128 and 8×128 tokens) — each case timed in autointerp, then in PyTorch with 1 thread (as
 * tfjs-wasm in Node) and with every CPU: one warm-up, then `--peer-rounds` timed passes, medians; the logits reduced
 * to one scalar read back on both sides. Printed as a Markdown table of tokens/s and autointerp / PyTorch, with the
 * torch build, its BLAS and the machine's load.
 *
 * Worker threads (issue 19 item 4): each peer case also runs in autointerp with its batch's rows split across
 * `--workers` forward workers (subject/parallel-forward.ts; default every CPU, 1 skips it), timed interleaved with the
 * one-thread pass (one, then the other, each round), and compared with PyTorch on as many threads.
 *
 * Run: `npx tsx bench/subject-forward.ts [--backend auto|wasm|cpu|node|node-gpu] [--rounds 5] [--peer-rounds 3]
 * [--workers N] [--peer-cases brown,gpt2-1,gpt2-8] [--skip-torch]`. Prints numbers only.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackendOrExit, tf, type BackendPreference } from '../src/subject/backend.ts';
import { toHfConfig } from '../src/subject/gpt2-config.ts';
import { Gpt2Model } from '../src/subject/gpt2-model.ts';
import { loadGpt2Folder } from '../src/subject/load-gpt2.ts';
import { ForwardPool } from '../src/subject/parallel-forward.ts';
import { initGpt2Weights } from '../src/subject/train-lm.ts';
import type { Gpt2Config, Gpt2Weights } from '../src/subject/types.ts';
import {
  describeLoad,
  describeTorchBuild,
  formatPeerTable,
  type PeerRow,
  peerThreadCounts,
  runTorchPeerAtThreadCounts,
  type TorchPeerOutput,
  torchPeerPython,
} from './torch-peer.ts';
import { addCpu, type CpuSpent, cpuSince, idleCoresMilliseconds, threadCpu } from './thread-cpu.ts';
import { median, timeIt } from './timing.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'auto' },
    rounds: { type: 'string', default: '5' },
    'peer-rounds': { type: 'string', default: '3' },
    'skip-torch': { type: 'boolean', default: false },
    workers: { type: 'string', default: String(availableParallelism()) },
    'peer-cases': { type: 'string', default: 'brown,gpt2-1,gpt2-8' },
  },
});
const choice = await initBackendOrExit(values.backend as BackendPreference);
const rounds = Number(values.rounds);
console.log(`backend: ${choice.description}${choice.skipped.length ? ` (skipped: ${choice.skipped.join('; ')})` : ''}`);

interface Shape {
  name: string;
  config: Gpt2Config;
  batch: number;
}
const shapes: Shape[] = [
  {
    name: 'embedded brown-1l (1 layer, d 128, 512 neurons, V 4096)',
    config: {
      vocabSize: 4096,
      nPositions: 64,
      nEmbd: 128,
      nLayer: 1,
      nHead: 4,
      nInner: 512,
      layerNormEpsilon: 1e-5,
      activation: 'gelu_new',
    },
    batch: 16,
  },
  {
    name: 'GPT-2 small shapes, 2 of its 12 layers (d 768, V 50257)',
    config: {
      vocabSize: 50257,
      nPositions: 1024,
      nEmbd: 768,
      nLayer: 2,
      nHead: 12,
      nInner: 3072,
      layerNormEpsilon: 1e-5,
      activation: 'gelu_new',
    },
    batch: 4,
  },
];

const square = tf.randomNormal([1024, 1024], 0, 1, 'float32', 1);
const squareFlops = 2 * 1024 ** 3;
/**
 * Results stay on the backend and only a scalar reduction of them is read back: copying a [1024×4096] float32 result
 * into a JS array costs more than computing it on wasm (bench/subject-ops: 2.6× the time of the product alone), and
 * no product path reads logits back (evaluation, splice metrics and ablation reduce them on the backend). The
 * readback is timed on its own line.
 */
const settle = (t: tf.Tensor) => void tf.sum(t).dataSync();
const runSquare = () => tf.tidy(() => settle(tf.matMul(square, square)));

for (const { name, config, batch } of shapes) {
  const length = 64;
  const tokens = batch * length;
  const model = Gpt2Model.fromWeights(config, initGpt2Weights(config, 1));
  const ids = Int32Array.from({ length: tokens }, (_, i) => (i * 7919) % config.vocabSize);
  const d = config.nEmbd;
  const flopsPerToken =
    config.nLayer * (2 * (d * 3 * d + d * d + 2 * d * config.nInner) + 2 * 2 * length * d) + 2 * d * config.vocabSize;
  const forwardFlops = flopsPerToken * tokens;
  // The model's own products, bare (same operand tensors reused so the backend's weight packing is cached as in the model).
  const x = tf.randomNormal([tokens, d]);
  const xInner = tf.randomNormal([tokens, config.nInner]);
  const products: [tf.Tensor, tf.Tensor][] = [];
  for (const block of model.params.blocks)
    products.push([x, block.attnW], [x, block.attnProjW], [x, block.fcW], [xInner, block.projW]);
  const unembed = tf.transpose(model.params.wte);
  products.push([x, unembed]);
  const runProducts = () => tf.tidy(() => products.forEach(([a, b]) => settle(tf.matMul(a, b))));
  const runForward = () => tf.tidy(() => settle(model.forward(ids, batch).logits!));
  const runForwardReadback = () => tf.tidy(() => void model.forward(ids, batch).logits!.dataSync());
  runForward();
  runForwardReadback();
  runProducts();
  runSquare();
  const forwardMs: number[] = [];
  const readbackMs: number[] = [];
  const productsMs: number[] = [];
  const squareMs: number[] = [];
  for (let round = 0; round < rounds; round++) {
    forwardMs.push(timeIt(runForward));
    readbackMs.push(timeIt(runForwardReadback));
    productsMs.push(timeIt(runProducts));
    squareMs.push(timeIt(runSquare));
  }
  const forwardRate = forwardFlops / median(forwardMs) / 1e6;
  const productFlops = products.reduce((sum, [a, b]) => sum + 2 * a.shape[0]! * a.shape[1]! * b.shape[1]!, 0);
  const productsRate = productFlops / median(productsMs) / 1e6;
  const squareRate = squareFlops / median(squareMs) / 1e6;
  console.log(`\n${name}: batch ${batch}×${length} tokens, ${(flopsPerToken / 1e6).toFixed(2)} MFLOP/token`);
  console.log(
    `  forward:            ${median(forwardMs).toFixed(1)} ms  ${((tokens / median(forwardMs)) * 1000).toFixed(0)} tokens/s  ${forwardRate.toFixed(1)} GFLOP/s`,
  );
  console.log(
    `  forward + logits read back to JS: ${median(readbackMs).toFixed(1)} ms  ${((tokens / median(readbackMs)) * 1000).toFixed(0)} tokens/s`,
  );
  console.log(`  same-shape matmuls: ${median(productsMs).toFixed(1)} ms  ${productsRate.toFixed(1)} GFLOP/s`);
  console.log(`  square 1024 matmul: ${median(squareMs).toFixed(1)} ms  ${squareRate.toFixed(1)} GFLOP/s`);
  console.log(`  ratio forward / square matmul FLOP/s:      ${(forwardRate / squareRate).toFixed(2)} (target ≥ 0.5)`);
  console.log(`  ratio forward / same-shape matmul FLOP/s:  ${(forwardRate / productsRate).toFixed(2)}`);
  tf.dispose([x, xInner, unembed]);
  model.dispose();
}

square.dispose();

// PyTorch peer: the same forward passes, autointerp then PyTorch, case by case.
const brownFolder = fileURLToPath(new URL('../data/subject/brown-1l', import.meta.url));
const gpt2Small: Gpt2Config = {
  vocabSize: 50257,
  nPositions: 1024,
  nEmbd: 768,
  nLayer: 12,
  nHead: 12,
  nInner: 3072,
  layerNormEpsilon: 1e-5,
  activation: 'gelu_new',
};
interface PeerCase {
  /** For --peer-cases. */
  key: string;
  name: string;
  config: Gpt2Config;
  /** The weights' folder (read by both sides), or null for seeded random weights of the config's shapes. */
  folder: string | null;
  batch: number;
  length: number;
}
const peerCases: PeerCase[] = [
  {
    key: 'brown',
    name: 'brown-1l, 16×64 tokens',
    config: loadGpt2Folder(brownFolder).config,
    folder: brownFolder,
    batch: 16,
    length: 64,
  },
  {
    key: 'gpt2-1',
    name: 'GPT-2 small (12 layers), 1×128 tokens',
    config: gpt2Small,
    folder: null,
    batch: 1,
    length: 128,
  },
  {
    key: 'gpt2-8',
    name: 'GPT-2 small (12 layers), 8×128 tokens',
    config: gpt2Small,
    folder: null,
    batch: 8,
    length: 128,
  },
].filter((peer) => values['peer-cases'].split(',').includes(peer.key));
const workers = Math.max(1, Number(values.workers));
/** Milliseconds an asynchronous run took. */
const timeItAsync = async (run: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await run();
  return performance.now() - start;
};
const peerRounds = Math.max(1, Number(values['peer-rounds']));
console.log(`\nPyTorch peer: forward pass, one warm-up then ${peerRounds} timed passes per side, medians`);
const torchPython = torchPeerPython(values['skip-torch']);
if ('skipped' in torchPython) {
  console.log(torchPython.skipped);
} else {
  const threadCounts = peerThreadCounts(availableParallelism());
  const rows: PeerRow[] = [];
  let build: TorchPeerOutput | undefined;
  console.log(`${describeLoad()} before`);
  const models = new Map<Gpt2Config, Gpt2Weights>();
  for (const peer of peerCases) {
    const tokens = peer.batch * peer.length;
    const weights = peer.folder
      ? loadGpt2Folder(peer.folder).weights
      : (models.get(peer.config) ?? models.set(peer.config, initGpt2Weights(peer.config, 1)).get(peer.config)!);
    const model = Gpt2Model.fromWeights(peer.config, weights);
    const ids = Int32Array.from({ length: tokens }, (_, i) => (i * 7919) % peer.config.vocabSize);
    const run = () => tf.tidy(() => settle(model.forward(ids, peer.batch).logits!));
    // Rows split across the workers: a batch of one row has nothing to split.
    const pool =
      workers > 1 && peer.batch > 1
        ? await ForwardPool.start({ config: peer.config, weights, workers, backend: tf.getBackend() })
        : null;
    const runPool = () => pool!.splitLogitSum(ids.slice(), peer.batch);
    run();
    if (pool) await runPool();
    const autointerpMilliseconds: number[] = [];
    const workerMilliseconds: number[] = [];
    let oneThreadCpu: CpuSpent = { main: 0, busiestOther: 0, others: 0 };
    let poolCpu: CpuSpent = { main: 0, busiestOther: 0, others: 0 };
    for (let round = 0; round < peerRounds; round++) {
      let before = threadCpu();
      autointerpMilliseconds.push(timeIt(run));
      oneThreadCpu = addCpu(oneThreadCpu, cpuSince(before, threadCpu()));
      if (pool) {
        before = threadCpu();
        workerMilliseconds.push(await timeItAsync(runPool));
        poolCpu = addCpu(poolCpu, cpuSince(before, threadCpu()));
      }
    }
    if (pool && poolCpu.busiestOther > 0)
      // The work each thread did, whatever the load: the split pass's critical path is its busiest worker.
      console.log(
        `  ${peer.name}: thread CPU per pass: one thread ${(oneThreadCpu.main / peerRounds).toFixed(0)} ms; ${workers} workers: busiest ${(poolCpu.busiestOther / peerRounds).toFixed(0)} ms, all ${(poolCpu.others / peerRounds).toFixed(0)} ms, this thread ${(poolCpu.main / peerRounds).toFixed(0)} ms → ${(idleCoresMilliseconds(oneThreadCpu, availableParallelism()) / idleCoresMilliseconds(poolCpu, availableParallelism())).toFixed(2)}× at most on idle cores`,
      );
    await pool?.close();
    model.dispose();
    const timings = runTorchPeerAtThreadCounts(
      torchPython.python,
      {
        kind: 'forward',
        config: toHfConfig(peer.config),
        weights: peer.folder,
        batch: peer.batch,
        length: peer.length,
        warmup: 1,
        iterations: peerRounds,
      },
      threadCounts,
    );
    build ??= timings.build;
    rows.push({
      name: peer.name,
      itemsPerIteration: tokens,
      autointerpMilliseconds,
      autointerpWorkers: pool ? { workers, milliseconds: workerMilliseconds } : null,
      torch: timings.torch,
    });
    console.log(`  ${peer.name}: done (${describeLoad()})`);
  }
  console.log(
    `autointerp: ${choice.description}, 1 thread${workers > 1 ? ` and ${workers} forward workers (a backend each, the batch's rows split)` : ''} · PyTorch: ${describeTorchBuild(build!)}`,
  );
  console.log(`\n${formatPeerTable(rows, threadCounts)}\n`);
  console.log(`${describeLoad()} after`);
}
