/**
 * @module bench/sae-train — SAE training-step throughput (tokens/s) for the embedded model's MLP width (d_in 512,
 * expansion 4× and 16×, batch 1024), both architectures, and its FLOP/s as a ratio of a plain
 * [1024×1024]·[1024×1024] matmul's FLOP/s measured on the same backend in the same run, timed interleaved with the
 * steps (docs/DESIGN.md §9 target: ≥ 0.5): each round times one step, then the square matmul repeated for about as long.
 *
 * FLOPs counted per step are those of the dense products the step runs, 2·B·d_in·d_sae each: encoder forward, decoder
 * forward, ∂features, ∂W_dec, ∂W_enc (10·B·d_in·d_sae); with AuxK active three more (its decoder forward, its
 * ∂features and ∂W_dec: 16·B·d_in·d_sae). The element-wise work, TopK selection, transposes and Adam are not counted:
 * they are the overhead the ratio shows. `topk + AuxK` trains on low-rank data (every row a mix of 8 directions), on
 * which many latents never fire, and counts a latent dead after one idle batch (deadTokens = batch), so AuxK runs; the
 * FLOPs of each timed step are counted from whether it did (`lastStepDeadLatents`).
 *
 * PyTorch peer (when a Python with torch is found: bench/torch-peer.ts): the standard and topk steps at 4× and 16× run
 * in PyTorch on the same machine in the same run (bench/torch_peer.py: the same loss, dense decoder, gradient
 * clipping and Adam, with autograd as SAELens does), with 1 thread (as tfjs-wasm in Node) and with every CPU; each
 * case's autointerp steps are the rounds above, then PyTorch runs one warm-up step and as many timed steps (at least
 * 3); medians. AuxK has no PyTorch twin here. Printed as a Markdown table of tokens/s and autointerp / PyTorch, with
 * the torch build, its BLAS and the machine's load.
 *
 * Worker threads (issue 19 item 4): the standard and topk cases also run data-parallel
 * (`SaeTrainer.trainStepParallel`: the batch's rows split between this thread and `--workers` − 1 gradient workers,
 * sae/sae-gradient-pool.ts; default every CPU, 1 skips it) on a second trainer, one parallel step timed right after
 * each one-thread step, and are compared with PyTorch on as many threads.
 *
 * Run: `npx tsx bench/sae-train.ts [--backend auto|wasm|cpu|node|node-gpu] [--rounds 3] [--workers N]
 * [--cases 4,16] [--skip-torch]`. Prints numbers only.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { mulberry32, randomGaussian } from '../src/common/random.ts';
import { SaeGradientPool } from '../src/sae/sae-gradient-pool.ts';
import { SaeTrainer } from '../src/sae/sae-trainer.ts';
import type { SaeTrainingOptions } from '../src/sae/training-options.ts';
import { initBackendOrExit, tf, type BackendPreference } from '../src/subject/backend.ts';
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
    rounds: { type: 'string', default: '3' },
    'skip-torch': { type: 'boolean', default: false },
    workers: { type: 'string', default: String(availableParallelism()) },
    cases: { type: 'string', default: '4,16' },
  },
});
const workers = Math.max(1, Number(values.workers));
const choice = await initBackendOrExit(values.backend as BackendPreference);
const rounds = Math.max(1, Number(values.rounds));
console.log(`backend: ${choice.description}${choice.skipped.length ? ` (skipped: ${choice.skipped.join('; ')})` : ''}`);

const dIn = 512;
const batch = 1024;

// Activation-like data: a few batches of sparse non-negative mixtures (as MLP post-activations), reused in turn.
const random = mulberry32(7);
const batches = Array.from({ length: 4 }, () =>
  Float32Array.from({ length: batch * dIn }, () => {
    const value = randomGaussian(random);
    return value > 0.5 ? value : 0;
  }),
);
// Low-rank batches: each row a random non-negative mix of 8 fixed directions.
const directions = Array.from({ length: 8 }, () =>
  Float32Array.from({ length: dIn }, () => Math.abs(randomGaussian(random))),
);
const lowRankBatches = Array.from({ length: 4 }, () => {
  const out = new Float32Array(batch * dIn);
  for (let row = 0; row < batch; row++) {
    for (const direction of directions) {
      const weight = Math.max(0, randomGaussian(random));
      for (let j = 0; j < dIn; j++) out[row * dIn + j]! += weight * direction[j]!;
    }
  }
  return out;
});

const square = tf.randomNormal([1024, 1024], 0, 1, 'float32', 1);
const squareFlops = 2 * 1024 ** 3;
// Reading back a scalar (not the 4 MB product) ends the timing on asynchronous backends without making garbage.
const runSquare = () => tf.tidy(() => void tf.sum(tf.matMul(square, square)).dataSync());

interface Case {
  name: string;
  architecture: 'standard' | 'topk';
  expansion: number;
  auxK: boolean;
}
const cases: Case[] = [];
for (const expansion of values.cases.split(',').map(Number)) {
  cases.push({ name: `standard ${expansion}×`, architecture: 'standard', expansion, auxK: false });
  cases.push({ name: `topk k=32 ${expansion}×`, architecture: 'topk', expansion, auxK: false });
  cases.push({ name: `topk k=32 + AuxK ${expansion}×`, architecture: 'topk', expansion, auxK: true });
}

console.log(
  `d_in ${dIn}, batch ${batch} tokens; square matmul [1024×1024]·[1024×1024]; medians of ${rounds} interleaved rounds`,
);
const torchPython = torchPeerPython(values['skip-torch']);
const threadCounts = peerThreadCounts(availableParallelism());
const peerRows: PeerRow[] = [];
let torchBuild: TorchPeerOutput | undefined;
const loadBefore = describeLoad();
for (const { name, architecture, expansion, auxK } of cases) {
  const dSae = dIn * expansion;
  const options: SaeTrainingOptions = {
    sae: {
      dIn,
      dSae,
      architecture,
      k: 32,
      l1Coefficient: 5,
      applyBDecToInput: true,
      normalizeActivations: 'expected_average_only_in',
      hookName: 'blocks.0.mlp.hook_post',
      modelName: 'bench',
    },
    steps: 1_000_000,
    learningRate: 1e-4,
    deadTokens: auxK ? batch : 10_000_000,
    decoderBiasInit: 'mean',
    normalizationBatches: 1,
  };
  const data = auxK ? lowRankBatches : batches;
  const trainer = SaeTrainer.create(options, [data[0]!]);
  let next = 0;
  // reading the step's metrics (a few scalars) ends the timing on asynchronous backends too
  const step = () => void trainer.trainStep(data[next++ % data.length]!, true);
  // The same steps data-parallel, on a second trainer (AuxK cases: one thread only).
  const pool =
    workers > 1 && !auxK
      ? await SaeGradientPool.start({ sae: options.sae, workers: workers - 1, backend: tf.getBackend() })
      : null;
  const parallelTrainer = pool ? SaeTrainer.create(options, [data[0]!]) : null;
  let parallelNext = 0;
  const parallelStep = () => parallelTrainer!.trainStepParallel(data[parallelNext++ % data.length]!, pool!, true);
  step();
  if (pool) await parallelStep();
  const warmStepMs = timeIt(step);
  runSquare();
  // Each round times one step, then the square matmul repeated for about as long, so both see the same machine load.
  const repeats = Math.max(1, Math.round(warmStepMs / timeIt(runSquare)));
  const stepMs: number[] = [];
  const stepRates: number[] = [];
  const squareMs: number[] = [];
  const parallelMs: number[] = [];
  let oneThreadCpu: CpuSpent = { main: 0, busiestOther: 0, others: 0 };
  let parallelCpu: CpuSpent = { main: 0, busiestOther: 0, others: 0 };
  let auxSteps = 0;
  for (let round = 0; round < rounds; round++) {
    let before = threadCpu();
    const ms = timeIt(step);
    oneThreadCpu = addCpu(oneThreadCpu, cpuSince(before, threadCpu()));
    if (pool) {
      before = threadCpu();
      const start = performance.now();
      await parallelStep();
      parallelMs.push(performance.now() - start);
      parallelCpu = addCpu(parallelCpu, cpuSince(before, threadCpu()));
    }
    const products = trainer.lastStepDeadLatents > 0 ? 16 : 10;
    if (products === 16) auxSteps++;
    stepMs.push(ms);
    stepRates.push((products * batch * dIn * dSae) / ms / 1e6);
    squareMs.push(
      timeIt(() => {
        for (let repeat = 0; repeat < repeats; repeat++) runSquare();
      }) / repeats,
    );
  }
  trainer.dispose();
  parallelTrainer?.dispose();
  await pool?.close();
  const stepRate = median(stepRates);
  const squareRate = squareFlops / median(squareMs) / 1e6;
  const counted = auxK ? `10 or 16·B·d_in·d_sae; AuxK ran on ${auxSteps} of ${rounds} timed steps` : '10·B·d_in·d_sae';
  console.log(
    `\n${name}: d_sae ${dSae}, ${((10 * batch * dIn * dSae) / 1e9).toFixed(1)} GFLOP/step without AuxK (${counted})`,
  );
  console.log(
    `  train step:         ${median(stepMs).toFixed(1)} ms  ${((batch / median(stepMs)) * 1000).toFixed(0)} tokens/s  ${stepRate.toFixed(1)} GFLOP/s`,
  );
  if (pool)
    console.log(
      `  train step, ${workers} threads (this one + ${workers - 1} gradient worker${workers > 2 ? 's' : ''}): ${median(parallelMs).toFixed(1)} ms  ${((batch / median(parallelMs)) * 1000).toFixed(0)} tokens/s  (${(median(stepMs) / median(parallelMs)).toFixed(2)}× one thread)`,
    );
  if (pool && oneThreadCpu.main > 0) {
    // Thread CPU time is the work each thread did, whatever the machine's load (bench/thread-cpu.ts).
    const cores = availableParallelism();
    const critical = idleCoresMilliseconds(parallelCpu, cores) / rounds;
    console.log(
      `  thread CPU per step: one thread ${(oneThreadCpu.main / rounds).toFixed(0)} ms; ${workers} threads: this one ${(parallelCpu.main / rounds).toFixed(0)} ms, busiest worker ${(parallelCpu.busiestOther / rounds).toFixed(0)} ms → ${(idleCoresMilliseconds(oneThreadCpu, cores) / rounds / critical || 0).toFixed(2)}× at most on ${cores} idle cores (the wall-clock ratio above is the loaded machine's)`,
    );
  }
  console.log(`  square 1024 matmul: ${median(squareMs).toFixed(1)} ms  ${squareRate.toFixed(1)} GFLOP/s`);
  console.log(`  ratio step / square matmul FLOP/s: ${(stepRate / squareRate).toFixed(2)} (target ≥ 0.5)`);
  if (auxK || 'skipped' in torchPython) continue;
  const peer = runTorchPeerAtThreadCounts(
    torchPython.python,
    {
      kind: 'sae',
      architecture,
      d_in: dIn,
      d_sae: dSae,
      batch,
      k: 32,
      l1_coefficient: 5,
      learning_rate: 1e-4,
      clip_norm: 1,
      warmup: 1,
      iterations: Math.max(3, rounds),
    },
    threadCounts,
  );
  torchBuild ??= peer.build;
  peerRows.push({
    name,
    itemsPerIteration: batch,
    autointerpMilliseconds: stepMs,
    autointerpWorkers: pool ? { workers, milliseconds: parallelMs } : null,
    torch: peer.torch,
  });
  console.log(`  PyTorch ran it (${describeLoad()})`);
}
square.dispose();

console.log('\nPyTorch peer: SAE training steps, tokens/s (rows of the batch per second)');
if ('skipped' in torchPython) {
  console.log(torchPython.skipped);
} else {
  console.log(
    `autointerp: ${choice.description}, 1 thread${workers > 1 ? ` and ${workers} threads (data-parallel gradients, a backend each)` : ''} · PyTorch: ${describeTorchBuild(torchBuild!)}`,
  );
  console.log(`${loadBefore} before`);
  console.log(`\n${formatPeerTable(peerRows, threadCounts)}\n`);
  console.log(`${describeLoad()} after`);
}
